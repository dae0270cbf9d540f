//! Several sweeps as one study (docs/SCIENCE.md, Statistics, "Studies: several sweeps as one"): per
//! effect, each setting's estimate over its data draws (a setting being a sweep's base setting, its
//! interventions averaged within each draw, since they share the draw) and their two-stage random-effects
//! pool (each setting weighted equally, the interval floored at the settings' own sampling error;
//! DerSimonian-Laird tau^2 and I^2 beside it); and the decision between
//! the accounts over every sweep's replicates, the same settings as units.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Analysis;
use crate::decision::{Decision, DecisionInput, DecisionReplicate, decide, replicate_coefficients};
use crate::stats::{mean, t_quantile, variance};

/// One setting's estimate of an effect: the mean over its draws, its variance (s^2 / k) and 95% t
/// interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingEstimate {
    pub setting: String,
    pub draws: usize,
    pub mean: f64,
    /// None with fewer than 2 draws.
    pub variance: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

/// The random-effects pool of K settings' estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pooled {
    pub settings: usize,
    /// The mean of the settings' estimates (each setting weighted equally).
    pub mean: f64,
    /// 95% interval, t on K - 1 degrees of freedom, se^2 = max(s^2 / K, sum v / K^2).
    pub lo: f64,
    pub hi: f64,
    /// Whether the interval is the floor (the settings' own sampling error) rather than their spread.
    #[serde(default)]
    pub floored: bool,
    /// DerSimonian-Laird between-setting variance; None when a setting's variance is 0.
    pub tau2: Option<f64>,
    /// Cochran's Q (fixed-effect weights) and I^2 = max(0, (Q - (K - 1)) / Q); None as tau2.
    pub q: Option<f64>,
    pub i2: Option<f64>,
}

/// One effect over the study's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyEffect {
    pub name: String,
    /// Per setting (`<sweep>/<base setting>`), the estimate over its draws of the draw's mean over the
    /// setting's interventions: the units of the pool.
    pub settings: Vec<SettingEstimate>,
    /// Per setting, its draws in which one of its interventions leaves the effect undefined (the draw's
    /// value is the mean over the others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete_draws: Vec<(String, usize)>,
    /// Per intervention of a setting with several (`<sweep>/<setting>`), its own estimate over the draws:
    /// descriptive, not pooled (it shares its draws with the setting's other interventions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<SettingEstimate>,
    /// None: fewer than 2 settings with a variance (`why_not_pooled` says).
    pub pooled: Option<Pooled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not_pooled: Option<String>,
}

/// One sweep of a study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudySweep {
    /// The sweep folder's name (`<name>-<hash>`).
    pub name: String,
    /// The experiment file it was run from.
    pub experiment: String,
}

/// The study's analysis (study.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyAnalysis {
    pub sweeps: Vec<StudySweep>,
    /// Per effect the settings report over their draws.
    pub effects: Vec<StudyEffect>,
    /// Settings without data draws (no replicate-level error bar), left out of the pools.
    pub unreplicated: Vec<String>,
    /// The decision between the accounts over every sweep's replicates; None when no sweep crosses
    /// interventions.
    pub decision: Option<Decision>,
    /// Per decision coefficient, each unit's mean over its draws, and their pool (reported, not used).
    pub decision_forest: Vec<StudyEffect>,
}

/// The estimate of a setting from its draws' values.
pub fn setting_estimate(setting: &str, values: &[f64]) -> SettingEstimate {
    let k = values.len();
    let m = mean(values);
    if k < 2 {
        return SettingEstimate { setting: setting.into(), draws: k, mean: m, variance: None, lo: None, hi: None };
    }
    let v = variance(values) / k as f64;
    let half = t_quantile(0.975, (k - 1) as f64) * v.sqrt();
    SettingEstimate { setting: setting.into(), draws: k, mean: m, variance: Some(v), lo: Some(m - half), hi: Some(m + half) }
}

/// The random-effects pool of `(estimate, variance)` pairs (docs/SCIENCE.md, "Studies: several sweeps
/// as one"): equal weights, because each variance rests on a few draws and inverse-variance weights
/// built on them under-cover. None with fewer than 2, or a value that is not finite or a variance that
/// is negative.
pub fn random_effects(estimates: &[(f64, f64)]) -> Option<Pooled> {
    let k = estimates.len();
    if k < 2 || estimates.iter().any(|(y, v)| !(y.is_finite() && v.is_finite() && *v >= 0.0)) {
        return None;
    }
    let kf = k as f64;
    let df = kf - 1.0;
    let ys: Vec<f64> = estimates.iter().map(|(y, _)| *y).collect();
    let m = mean(&ys);
    let spread = variance(&ys) / kf;
    let floor = estimates.iter().map(|(_, v)| v).sum::<f64>() / (kf * kf);
    let half = t_quantile(0.975, df) * spread.max(floor).sqrt();
    let (tau2, q, i2) = heterogeneity(estimates).map_or((None, None, None), |(t, q, i)| (Some(t), Some(q), Some(i)));
    Some(Pooled { settings: k, mean: m, lo: m - half, hi: m + half, floored: floor > spread, tau2, q, i2 })
}

/// DerSimonian-Laird tau^2, Cochran's Q and I^2 of `(estimate, variance)` pairs; None when a variance is
/// not positive (the fixed-effect weights 1 / v are undefined).
fn heterogeneity(estimates: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    if estimates.iter().any(|(_, v)| *v <= 0.0) {
        return None;
    }
    let w: Vec<f64> = estimates.iter().map(|(_, v)| 1.0 / v).collect();
    let sw: f64 = w.iter().sum();
    let fixed = estimates.iter().zip(&w).map(|((y, _), w)| w * y).sum::<f64>() / sw;
    let q: f64 = estimates.iter().zip(&w).map(|((y, _), w)| w * (y - fixed).powi(2)).sum();
    let c = sw - w.iter().map(|w| w * w).sum::<f64>() / sw;
    let df = (estimates.len() - 1) as f64;
    let tau2 = ((q - df) / c).max(0.0);
    let i2 = if q > 0.0 { ((q - df) / q).max(0.0) } else { 0.0 };
    Some((tau2, q, i2))
}

/// A setting's values per draw from its interventions' `(draw, value)` lists: per draw the mean over the
/// interventions that define the effect in it; and how many draws lack one of the interventions that
/// define it in some draw (their mean is over fewer interventions).
pub fn setting_draw_means(interventions: &[&[(u64, f64)]]) -> (Vec<f64>, usize) {
    let defining = interventions.iter().filter(|values| values.iter().any(|(_, v)| v.is_finite())).count();
    let mut draws: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for values in interventions {
        for (d, v) in values.iter().filter(|(_, v)| v.is_finite()) {
            draws.entry(*d).or_default().push(*v);
        }
    }
    let incomplete = draws.values().filter(|vs| vs.len() < defining).count();
    (draws.values().map(|vs| mean(vs)).collect(), incomplete)
}

/// An effect over settings from each setting's draw values.
fn study_effect(name: &str, per_setting: &[(String, Vec<f64>)]) -> StudyEffect {
    // A setting where the effect is defined in no draw has no estimate.
    let settings: Vec<SettingEstimate> =
        per_setting.iter().filter(|(_, values)| !values.is_empty()).map(|(s, values)| setting_estimate(s, values)).collect();
    let usable: Vec<(f64, f64)> = settings.iter().filter_map(|e| e.variance.map(|v| (e.mean, v))).collect();
    let pooled = random_effects(&usable);
    let why_not_pooled = pooled.is_none().then(|| {
        format!("{} of {} settings have an estimate over at least 2 draws; pooling needs 2", usable.len(), settings.len())
    });
    StudyEffect { name: name.into(), settings, pooled, why_not_pooled, incomplete_draws: Vec::new(), interventions: Vec::new() }
}

/// One intervention of a setting: its name (`<sweep>/<setting>`) and its (draw, value) pairs.
type Intervention = (String, Vec<(u64, f64)>);

/// The study's analysis from each sweep's (folder name, experiment, analysis).
pub fn study_analysis(sweeps: &[(String, String, Analysis)], alpha: f64) -> StudyAnalysis {
    // Effects: name -> setting -> intervention -> (draw, value), in the order first seen.
    let mut order: Vec<String> = Vec::new();
    let mut by_effect: BTreeMap<String, BTreeMap<String, Vec<Intervention>>> = BTreeMap::new();
    let mut unreplicated = Vec::new();
    for (name, _, analysis) in sweeps {
        for r in &analysis.replicated {
            let base = if r.base_setting.is_empty() { &r.setting } else { &r.base_setting };
            for e in &r.effects {
                if !by_effect.contains_key(&e.name) {
                    order.push(e.name.clone());
                }
                by_effect
                    .entry(e.name.clone())
                    .or_default()
                    .entry(format!("{name}/{base}"))
                    .or_default()
                    .push((format!("{name}/{}", r.setting), e.values.clone()));
            }
        }
        let replicated: Vec<&str> = analysis.replicated.iter().flat_map(|r| r.draws.iter().map(|(_, c)| c.as_str())).collect();
        unreplicated.extend(
            analysis
                .conditions
                .iter()
                .filter(|c| !replicated.contains(&c.condition.as_str()))
                .map(|c| format!("{name}/{}", c.condition)),
        );
    }
    let effects = order
        .iter()
        .map(|e| {
            let mut rows = Vec::new();
            let mut incomplete_draws = Vec::new();
            let mut interventions = Vec::new();
            for (setting, members) in &by_effect[e] {
                let lists: Vec<&[(u64, f64)]> = members.iter().map(|(_, values)| &values[..]).collect();
                let (values, incomplete) = setting_draw_means(&lists);
                if incomplete > 0 {
                    incomplete_draws.push((setting.clone(), incomplete));
                }
                rows.push((setting.clone(), values));
                if members.len() > 1 {
                    interventions.extend(members.iter().filter(|(_, v)| v.iter().any(|(_, v)| v.is_finite())).map(
                        |(label, values)| {
                            let finite: Vec<f64> = values.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).collect();
                            setting_estimate(label, &finite)
                        },
                    ));
                }
            }
            StudyEffect { incomplete_draws, interventions, ..study_effect(e, &rows) }
        })
        .collect();

    // The decision: every sweep's replicates, each setting named by its sweep.
    let mut input = DecisionInput::default();
    let mut left_out = Vec::new();
    for (name, _, analysis) in sweeps {
        let Some(d) = &analysis.decision else { continue };
        if input.measures.is_empty() {
            input.measures = d.measures.clone();
        } else if input.measures != d.measures {
            left_out.push(format!("{name}: its internal measures {:?} differ from the study's {:?}", d.measures, input.measures));
            continue;
        }
        left_out.extend(d.without_cells.iter().map(|why| format!("{name}: {why}")));
        input.replicates.extend(
            d.replicates.iter().map(|r| DecisionReplicate { setting: format!("{name}/{}", r.setting), cells: r.cells.clone() }),
        );
    }
    let (decision, decision_forest) = if input.replicates.is_empty() && left_out.is_empty() {
        (None, Vec::new())
    } else {
        let mut decision = decide(&input, alpha);
        decision.without_cells = left_out;
        (Some(decision), decision_forest(&input))
    };
    StudyAnalysis {
        sweeps: sweeps
            .iter()
            .map(|(name, experiment, _)| StudySweep { name: name.clone(), experiment: experiment.clone() })
            .collect(),
        effects,
        unreplicated,
        decision,
        decision_forest,
    }
}

/// Per coefficient (seed variance, then each measure), each unit's coefficients over its draws.
fn decision_forest(input: &DecisionInput) -> Vec<StudyEffect> {
    let p = input.measures.len();
    let mut per_unit: BTreeMap<&str, Vec<Vec<f64>>> = BTreeMap::new();
    for r in &input.replicates {
        if let Ok(b) = replicate_coefficients(&r.cells, p) {
            per_unit.entry(&r.setting).or_default().push(b);
        }
    }
    (0..=p)
        .map(|j| {
            let name =
                if j == 0 { "decision: seed variance".to_string() } else { format!("decision: {}", input.measures[j - 1]) };
            let rows: Vec<(String, Vec<f64>)> =
                per_unit.iter().map(|(unit, bs)| (unit.to_string(), bs.iter().map(|b| b[j]).collect())).collect();
            study_effect(&name, &rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal estimates: no heterogeneity, and the interval is the floor alone, t(2) sqrt(sum v / K^2) =
    /// 4.302653 sqrt(0.07 / 9) = 0.379458 (their spread is 0). A setting whose draws agree exactly
    /// (v = 0) is pooled, without tau^2 or I^2.
    #[test]
    fn equal_estimates_pool_without_heterogeneity_and_the_floor_for_an_interval() {
        let p = random_effects(&[(0.2, 0.01), (0.2, 0.04), (0.2, 0.02)]).unwrap();
        assert_eq!((p.tau2, p.i2, p.q, p.floored), (Some(0.0), Some(0.0), Some(0.0), true));
        assert!((p.mean - 0.2).abs() < 1e-15 && (p.hi - 0.2 - 0.3794583033739465).abs() < 1e-9, "{p:?}");
        assert!((p.lo - 0.2 + 0.3794583033739465).abs() < 1e-9, "{p:?}");
        assert!(random_effects(&[(0.2, 0.01)]).is_none(), "one setting");
        let exact = random_effects(&[(0.2, 0.01), (0.3, 0.0)]).unwrap();
        assert_eq!((exact.tau2, exact.q, exact.i2, exact.mean), (None, None, None, 0.25), "{exact:?}");
        assert!(random_effects(&[(0.2, 0.01), (f64::NAN, 0.01)]).is_none(), "a value that is not finite");
    }

    /// y = (0.1, 0.3, 0.35), v = (0.01, 0.02, 0.015), computed by hand (docs/SCIENCE.md's formulas,
    /// independently in Python): mean 0.25, s^2 / K = 0.0175 / 3 above the floor 0.045 / 9, so the
    /// half-width is t(2) sqrt(0.0175 / 3) = 0.328621; fixed-effect mean 0.223077, Q = 2.884615,
    /// C = 138.461538, tau^2 = 0.006389, I^2 = 0.306667.
    #[test]
    fn a_hand_computed_three_setting_pool() {
        let p = random_effects(&[(0.1, 0.01), (0.3, 0.02), (0.35, 0.015)]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(p.mean, 0.25) && !p.floored, "{p:?}");
        assert!(close(p.lo, 0.25 - 0.32862053039878003) && close(p.hi, 0.25 + 0.32862053039878003), "{p:?}");
        assert!(close(p.q.unwrap(), 2.884615384615384), "{p:?}");
        assert!(close(p.tau2.unwrap(), 0.006388888888888885), "{p:?}");
        assert!(close(p.i2.unwrap(), 0.30666666666666653), "{p:?}");
    }

    /// Coverage on simulated studies with a known pooled mean (0): K = 3 settings x 3 draws, each
    /// setting's true effect drawn around 0 with sd tau, its draws around that with the setting's sd.
    /// The pool covers at least 94% in every case (95-100% expected, docs/SCIENCE.md); the
    /// inverse-variance Hartung-Knapp interval, computed here beside it, covers less than 90% where the
    /// settings' sds differ (79-82% expected), which is why the pool weights settings equally.
    #[test]
    fn the_pool_covers_the_true_mean_where_inverse_variance_weights_do_not() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let hartung_knapp = |e: &[(f64, f64)]| {
            let tau2 = heterogeneity(e).unwrap().0;
            let w: Vec<f64> = e.iter().map(|(_, v)| 1.0 / (v + tau2)).collect();
            let sw: f64 = w.iter().sum();
            let m = e.iter().zip(&w).map(|((y, _), w)| w * y).sum::<f64>() / sw;
            let q = e.iter().zip(&w).map(|((y, _), w)| w * (y - m).powi(2)).sum::<f64>() / (e.len() - 1) as f64;
            (m, t_quantile(0.975, (e.len() - 1) as f64) * (q / sw).sqrt())
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let z = Normal::new(0.0, 1.0).unwrap();
        let studies = 4000;
        for (sds, tau, hk_below) in [
            ([1.0, 1.0, 1.0], 0.0, false),
            ([0.2, 1.0, 5.0], 0.5, true),
            ([0.2, 1.0, 5.0], 1.0, true),
            ([1.0, 0.5, 2.0], 2.0, false),
        ] {
            let (mut covered, mut hk_covered) = (0, 0);
            for _ in 0..studies {
                let estimates: Vec<(f64, f64)> = sds
                    .iter()
                    .map(|sd| {
                        let truth = tau * z.sample(&mut rng);
                        let draws: Vec<f64> = (0..3).map(|_| truth + sd * z.sample(&mut rng)).collect();
                        (mean(&draws), variance(&draws) / 3.0)
                    })
                    .collect();
                let p = random_effects(&estimates).unwrap();
                covered += usize::from(p.lo <= 0.0 && 0.0 <= p.hi);
                let (m, half) = hartung_knapp(&estimates);
                hk_covered += usize::from(m.abs() <= half);
            }
            let (coverage, hk) = (covered as f64 / studies as f64, hk_covered as f64 / studies as f64);
            assert!(coverage >= 0.94, "sds {sds:?}, tau {tau}: the pool covers {coverage} (Hartung-Knapp {hk})");
            if hk_below {
                assert!(hk < 0.90, "sds {sds:?}, tau {tau}: Hartung-Knapp covers {hk}");
            }
        }
    }

    #[test]
    fn a_settings_estimate_is_the_mean_over_its_draws_with_a_t_interval() {
        let e = setting_estimate("s", &[1.0, 2.0, 3.0]);
        // s^2 = 1, v = 1/3, t(2) 0.975 = 4.302653.
        assert_eq!((e.draws, e.mean), (3, 2.0));
        assert!((e.variance.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((e.hi.unwrap() - (2.0 + 4.302652729911275 * (1.0f64 / 3.0).sqrt())).abs() < 1e-9);
        let one = setting_estimate("s", &[1.0]);
        assert_eq!((one.variance, one.lo), (None, None));
    }

    /// Two interventions of one setting over three draws, A = (1, 2, 3) and B = (3, 2, 7): the draws'
    /// means are (2, 2, 5), so the setting's estimate is 3 with v = s^2 / 3 = 3 / 3 = 1 (six independent
    /// values would give v = 4.4 / 6). A fourth draw that only A defines is that draw's value alone and
    /// counts as incomplete; an intervention that defines the effect in no draw does not count.
    #[test]
    fn a_settings_interventions_are_averaged_within_each_draw() {
        let a = [(1, 1.0), (2, 2.0), (3, 3.0)];
        let b = [(1, 3.0), (2, 2.0), (3, 7.0)];
        let never = [(1, f64::NAN)];
        let (values, incomplete) = setting_draw_means(&[&a, &b, &never]);
        assert_eq!((values.clone(), incomplete), (vec![2.0, 2.0, 5.0], 0));
        let e = setting_estimate("s", &values);
        assert_eq!(e.mean, 3.0);
        assert!((e.variance.unwrap() - 1.0).abs() < 1e-12, "{e:?}");
        let a4 = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 9.0)];
        assert_eq!(setting_draw_means(&[&a4, &b, &never]), (vec![2.0, 2.0, 5.0, 9.0], 1));
    }

    fn replicated(setting: &str, base: &str, values: &[(u64, f64)]) -> crate::ReplicatedSetting {
        crate::ReplicatedSetting {
            setting: setting.into(),
            base_setting: base.into(),
            draws: values.iter().map(|(d, _)| (*d, format!("{setting}-d{d}"))).collect(),
            variance: Vec::new(),
            effects: vec![crate::DrawEffect { name: "peak".into(), values: values.to_vec(), mean: None, lo: None, hi: None }],
            outcomes: Vec::new(),
            verdicts: Vec::new(),
            metric_verdicts: Vec::new(),
        }
    }

    /// A study's units are its sweeps' base settings: two sweeps, each of two interventions over three
    /// draws, pool as 2 settings whose estimates are the draws' means over the interventions (sweep x:
    /// A = (1, 2, 3), B = (3, 2, 7) -> 3 with v = 1; sweep y: the same values plus 1 -> 4 with v = 1), so
    /// the pool has K = 2, mean 3.5, tau^2 = 0 (Q = 0.5 < 1) and, the floor (1 + 1) / 4 being above the
    /// spread 0.5 / 2, the half-width t(1) sqrt(0.5) = 12.706205 * 0.707107 = 8.984644; each
    /// intervention is reported beside.
    #[test]
    fn a_studys_settings_are_its_sweeps_base_settings() {
        let sweep = |shift: f64| {
            let mut analysis = crate::analyze(&[], &crate::Options::default());
            let plus = |v: &[(u64, f64)]| v.iter().map(|(d, x)| (*d, x + shift)).collect::<Vec<_>>();
            analysis.replicated = vec![
                replicated("n300-noise0.2", "n300-noise0.2", &plus(&[(1, 1.0), (2, 2.0), (3, 3.0)])),
                replicated("n300-noise0.2-centred", "n300-noise0.2", &plus(&[(1, 3.0), (2, 2.0), (3, 7.0)])),
            ];
            analysis
        };
        let study = study_analysis(&[("x".into(), "x.toml".into(), sweep(0.0)), ("y".into(), "y.toml".into(), sweep(1.0))], 0.05);
        let e = &study.effects[0];
        let names: Vec<&str> = e.settings.iter().map(|s| s.setting.as_str()).collect();
        assert_eq!(names, ["x/n300-noise0.2", "y/n300-noise0.2"]);
        assert_eq!((e.settings[0].mean, e.settings[1].mean), (3.0, 4.0));
        assert_eq!(e.interventions.len(), 4, "{:?}", e.interventions);
        let p = e.pooled.as_ref().unwrap();
        assert_eq!((p.settings, p.tau2, p.floored), (2, Some(0.0), true));
        assert!((p.mean - 3.5).abs() < 1e-12 && (p.hi - 3.5 - 8.984643532093756).abs() < 1e-6, "{p:?}");
    }
}
