//! Several sweeps as one study (docs/SCIENCE.md, Statistics, "Studies: several sweeps as one"): per
//! effect, each setting's estimate over its data draws and their random-effects pool (DerSimonian-Laird
//! between-setting variance, Hartung-Knapp interval, I^2); and the decision between the accounts over
//! every sweep's replicates, the settings as units.

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
    pub mean: f64,
    /// Hartung-Knapp 95% interval, t on K - 1 degrees of freedom.
    pub lo: f64,
    pub hi: f64,
    /// DerSimonian-Laird between-setting variance.
    pub tau2: f64,
    /// Cochran's Q (fixed-effect weights) and I^2 = max(0, (Q - (K - 1)) / Q).
    pub q: f64,
    pub i2: f64,
}

/// One effect over the study's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyEffect {
    pub name: String,
    pub settings: Vec<SettingEstimate>,
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

/// The random-effects pool of `(estimate, variance)` pairs: None with fewer than 2, or a variance that
/// is not finite and positive.
pub fn random_effects(estimates: &[(f64, f64)]) -> Option<Pooled> {
    let k = estimates.len();
    if k < 2 || estimates.iter().any(|(y, v)| !(y.is_finite() && v.is_finite() && *v > 0.0)) {
        return None;
    }
    let w: Vec<f64> = estimates.iter().map(|(_, v)| 1.0 / v).collect();
    let sw: f64 = w.iter().sum();
    let fixed = estimates.iter().zip(&w).map(|((y, _), w)| w * y).sum::<f64>() / sw;
    let q: f64 = estimates.iter().zip(&w).map(|((y, _), w)| w * (y - fixed).powi(2)).sum();
    let c = sw - w.iter().map(|w| w * w).sum::<f64>() / sw;
    let df = (k - 1) as f64;
    let tau2 = ((q - df) / c).max(0.0);
    let ws: Vec<f64> = estimates.iter().map(|(_, v)| 1.0 / (v + tau2)).collect();
    let sws: f64 = ws.iter().sum();
    let pooled = estimates.iter().zip(&ws).map(|((y, _), w)| w * y).sum::<f64>() / sws;
    let hk = estimates.iter().zip(&ws).map(|((y, _), w)| w * (y - pooled).powi(2)).sum::<f64>() / (df * sws);
    let half = t_quantile(0.975, df) * hk.sqrt();
    let i2 = if q > 0.0 { ((q - df) / q).max(0.0) } else { 0.0 };
    Some(Pooled { settings: k, mean: pooled, lo: pooled - half, hi: pooled + half, tau2, q, i2 })
}

/// An effect over settings from each setting's draw values.
fn study_effect(name: &str, per_setting: &[(String, Vec<f64>)]) -> StudyEffect {
    // A setting where the effect is defined in no draw has no estimate.
    let settings: Vec<SettingEstimate> =
        per_setting.iter().filter(|(_, values)| !values.is_empty()).map(|(s, values)| setting_estimate(s, values)).collect();
    let usable: Vec<(f64, f64)> = settings.iter().filter_map(|e| e.variance.map(|v| (e.mean, v))).collect();
    let pooled = random_effects(&usable);
    let why_not_pooled = pooled.is_none().then(|| {
        format!(
            "{} of {} settings have an estimate with a positive variance over at least 2 draws; pooling needs 2",
            usable.iter().filter(|(_, v)| *v > 0.0).count(),
            settings.len()
        )
    });
    StudyEffect { name: name.into(), settings, pooled, why_not_pooled }
}

/// The study's analysis from each sweep's (folder name, experiment, analysis).
pub fn study_analysis(sweeps: &[(String, String, Analysis)], alpha: f64) -> StudyAnalysis {
    // Effects: name -> (setting, draw values), in the order first seen.
    let mut order: Vec<String> = Vec::new();
    let mut by_effect: BTreeMap<String, Vec<(String, Vec<f64>)>> = BTreeMap::new();
    let mut unreplicated = Vec::new();
    for (name, _, analysis) in sweeps {
        for r in &analysis.replicated {
            let setting = format!("{name}/{}", r.setting);
            for e in &r.effects {
                if !by_effect.contains_key(&e.name) {
                    order.push(e.name.clone());
                }
                let values: Vec<f64> = e.values.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).collect();
                by_effect.entry(e.name.clone()).or_default().push((setting.clone(), values));
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
    let effects = order.iter().map(|e| study_effect(e, &by_effect[e])).collect();

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

    /// Equal estimates: no heterogeneity, and the pool is their common value with the fixed-effect
    /// weights.
    #[test]
    fn equal_estimates_pool_without_heterogeneity() {
        let p = random_effects(&[(0.2, 0.01), (0.2, 0.04), (0.2, 0.02)]).unwrap();
        assert_eq!((p.tau2, p.i2, p.q), (0.0, 0.0, 0.0));
        assert!((p.mean - 0.2).abs() < 1e-15 && p.lo == p.hi, "{p:?}");
        assert!(random_effects(&[(0.2, 0.01)]).is_none(), "one setting");
        assert!(random_effects(&[(0.2, 0.01), (0.3, 0.0)]).is_none(), "a setting without spread");
    }

    /// y = (0.1, 0.3, 0.35), v = (0.01, 0.02, 0.015), computed by hand (docs/SCIENCE.md's formulas,
    /// independently in Python): fixed-effect mean 0.223077, Q = 2.884615, C = 138.461538,
    /// tau^2 = 0.006389, random-effects mean 0.232271, Hartung-Knapp se 0.080531 with t(2) = 4.302653,
    /// interval [-0.114228, 0.578770], I^2 = 0.306667.
    #[test]
    fn a_hand_computed_three_setting_pool() {
        let p = random_effects(&[(0.1, 0.01), (0.3, 0.02), (0.35, 0.015)]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(p.q, 2.884615384615384), "{p:?}");
        assert!(close(p.tau2, 0.006388888888888885), "{p:?}");
        assert!(close(p.mean, 0.2322710874420203), "{p:?}");
        assert!(close(p.lo, -0.11422780371726071) && close(p.hi, 0.5787699786013013), "{p:?}");
        assert!(close(p.i2, 0.30666666666666653), "{p:?}");
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
}
