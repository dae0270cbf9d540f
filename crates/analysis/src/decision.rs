//! Deciding between the two accounts of the second descent, internal ensemble or variance decay, from
//! interventions that move the seed variance at a fixed width (docs/SCIENCE.md, Statistics, "Deciding
//! between the accounts"): per replicate, the excess regressed on the seed variance and the internal
//! measures; over replicates (settings, or one setting's draws), a t interval per coefficient; the rule.

use std::collections::{BTreeMap, BTreeSet};

use faer::Mat;
use serde::{Deserialize, Serialize};

use crate::curve::SeedCurves;
use crate::sesoi::power;
use crate::stats::{MeanOver, holm, mean};

/// Smallest effect of interest: test error per sd of a predictor (as the past-peak relation and H3).
pub const DECISION_SESOI: f64 = 0.005;
/// A design whose smallest singular value is below this share of its largest is collinear.
const COLLINEAR: f64 = 1e-6;

/// One (intervention, width) cell of a replicate, at or past the threshold: means over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionCell {
    pub intervention: String,
    pub width: usize,
    pub test_error: f64,
    /// The seed variance (`seed_ensemble/variance_*`).
    pub seed_variance: f64,
    /// Each internal measure's mean growth, in [`DecisionInput::measures`]' order.
    pub internal: Vec<f64>,
}

/// One replicate: a data draw of a setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionReplicate {
    pub setting: String,
    pub cells: Vec<DecisionCell>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionInput {
    /// The internal measures' names.
    pub measures: Vec<String>,
    pub replicates: Vec<DecisionReplicate>,
}

/// Which account the evidence favours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Favoured {
    InternalEnsemble,
    VarianceDecay,
    Inconclusive,
    NotTestable,
}

/// One coefficient over the units: change of excess per sd of its predictor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    pub predictor: String,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    /// One-sided p of the predicted sign (seed variance: positive; internal measures: negative).
    pub p: f64,
    /// Holm-adjusted over the internal measures (the seed variance's own p for it).
    pub p_adjusted: f64,
    /// Power at the SESOI in the predicted direction.
    pub power: f64,
    /// Both one-sided (1 - alpha) bounds lie inside (-SESOI, SESOI): the coefficient is shown smaller than
    /// any effect that matters (two one-sided tests).
    pub bounded: bool,
}

/// The decision and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub favoured: Favoured,
    pub reason: String,
    pub seed_variance: Option<Coefficient>,
    pub internal: Vec<Coefficient>,
    /// "settings" or "draws", and how many.
    pub unit: String,
    pub units: usize,
    /// Replicates left out of the fits, with why.
    pub left_out: Vec<String>,
    /// A sweep's replicates that gave no cells (an intervention that never interpolates, no width with
    /// every figure), with why: they never reach the fits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without_cells: Vec<String>,
    /// The internal measures' names and the replicates' cells the decision read (a study pools them
    /// over sweeps).
    #[serde(default)]
    pub measures: Vec<String>,
    #[serde(default)]
    pub replicates: Vec<DecisionReplicate>,
}

/// A cell below its intervention's widest width, as the fits see it: the part of each quantity still to
/// come (the cell's value minus its intervention's at the widest width of the replicate).
struct Remaining {
    width: usize,
    excess: f64,
    variance: f64,
    internal: Vec<f64>,
}

fn remaining(cells: &[DecisionCell]) -> Result<Vec<Remaining>, String> {
    let mut widest: BTreeMap<&str, &DecisionCell> = BTreeMap::new();
    for c in cells {
        let entry = widest.entry(&c.intervention).or_insert(c);
        if c.width > entry.width {
            *entry = c;
        }
    }
    let finite =
        |c: &DecisionCell| c.test_error.is_finite() && c.seed_variance.is_finite() && c.internal.iter().all(|v| v.is_finite());
    if !cells.iter().all(finite) {
        return Err("a cell's figure is missing or not finite".into());
    }
    Ok(cells
        .iter()
        .filter(|c| c.width < widest[c.intervention.as_str()].width)
        .map(|c| {
            let w = widest[c.intervention.as_str()];
            Remaining {
                width: c.width,
                excess: c.test_error - w.test_error,
                variance: c.seed_variance - w.seed_variance,
                internal: c.internal.iter().zip(&w.internal).map(|(a, b)| a - b).collect(),
            }
        })
        .collect())
}

/// Least squares of `y` on `columns` with an intercept per width (so that only cells of the same width
/// are compared), each column scaled by its sd within widths; the columns' coefficients, per sd.
fn within_width_fit(widths: &[usize], y: &[f64], columns: &[Vec<f64>]) -> Result<Vec<f64>, String> {
    let mut levels: Vec<usize> = widths.to_vec();
    levels.sort_unstable();
    levels.dedup();
    let needed = levels.len() + columns.len() + 2;
    if y.len() < needed {
        return Err(format!("{} cells below the widest width, fewer than the {needed} the fit needs", y.len()));
    }
    let mut design = Mat::<f64>::zeros(y.len(), levels.len() + columns.len());
    for (i, w) in widths.iter().enumerate() {
        design[(i, levels.binary_search(w).expect("a listed width"))] = 1.0;
    }
    for (j, x) in columns.iter().enumerate() {
        // Its sd within widths: of the deviations from each width's mean.
        let centred: Vec<f64> = x
            .iter()
            .zip(widths)
            .map(|(v, w)| {
                let same: Vec<f64> = x.iter().zip(widths).filter(|(_, u)| *u == w).map(|(v, _)| *v).collect();
                v - mean(&same)
            })
            .collect();
        let spread = (centred.iter().map(|d| d * d).sum::<f64>() / (centred.len() as f64 - 1.0)).sqrt();
        if !(spread > 0.0 && spread.is_finite()) {
            return Err(format!("predictor {} does not vary within widths", j + 1));
        }
        for (i, v) in x.iter().enumerate() {
            design[(i, levels.len() + j)] = v / spread;
        }
    }
    let target = Mat::<f64>::from_fn(y.len(), 1, |i, _| y[i]);
    let svd = design.thin_svd().map_err(|e| format!("the fit did not converge ({e:?})"))?;
    let s = svd.S().column_vector();
    let largest = (0..s.nrows()).map(|i| s[i]).fold(0.0, f64::max);
    let smallest = (0..s.nrows()).map(|i| s[i]).fold(f64::INFINITY, f64::min);
    // NaN singular values fail this too.
    if smallest.partial_cmp(&(COLLINEAR * largest)) != Some(std::cmp::Ordering::Greater) {
        return Err("the predictors are collinear".into());
    }
    let mut projected = svd.U().transpose() * &target;
    for i in 0..s.nrows() {
        projected[(i, 0)] /= s[i];
    }
    let b = svd.V() * &projected;
    Ok((0..columns.len()).map(|j| b[(levels.len() + j, 0)]).collect())
}

/// `sign(x) sqrt(|x|)`: with x, a curved function of the remaining variance.
fn signed_sqrt(x: f64) -> f64 {
    x.signum() * x.abs().sqrt()
}

/// One replicate's coefficients, per within-width sd: the remaining seed variance's (the excess on it
/// alone), then each internal measure's with the remaining variance held in the fit as a curved function
/// (its value and signed square root). `Err` says why the replicate cannot be fitted.
pub fn replicate_coefficients(cells: &[DecisionCell], measures: usize) -> Result<Vec<f64>, String> {
    if let Some(c) = cells.iter().find(|c| c.internal.len() != measures) {
        return Err(format!("a cell has {} internal measures, not {measures}", c.internal.len()));
    }
    let rows = remaining(cells)?;
    let widths: Vec<usize> = rows.iter().map(|r| r.width).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.excess).collect();
    let variance: Vec<f64> = rows.iter().map(|r| r.variance).collect();
    let alone = within_width_fit(&widths, &y, std::slice::from_ref(&variance))?;
    let mut columns = vec![variance.clone(), variance.iter().map(|v| signed_sqrt(*v)).collect()];
    columns.extend((0..measures).map(|j| rows.iter().map(|r| r.internal[j]).collect::<Vec<f64>>()));
    let held = within_width_fit(&widths, &y, &columns)?;
    Ok(std::iter::once(alone[0]).chain(held[2..].iter().copied()).collect())
}

/// What the decision reads of one condition: an intervention of one replicate (docs/SCIENCE.md,
/// Statistics, "Deciding between the accounts": cells).
pub struct InterventionCurves<'a> {
    /// The condition's setting without its intervention, and its data draw: conditions sharing both are
    /// the interventions of one replicate.
    pub base_setting: &'a str,
    pub draw: Option<u64>,
    /// The intervention's name (`plain` for none).
    pub intervention: &'a str,
    pub w_interp: Option<usize>,
    /// Per seed.
    pub test_err: &'a SeedCurves,
    /// One value per width (the seed ensemble's).
    pub seed_variance: Option<&'a SeedCurves>,
    /// Growth per seed, keyed by `probe/metric`.
    pub growths: &'a BTreeMap<String, SeedCurves>,
}

/// The decision's replicates from a sweep's conditions: those sharing a setting and draw and differing
/// in their intervention, each with its (intervention, width) cells at and past the replicate's
/// threshold (the widest of its interventions' thresholds, so that every intervention interpolates
/// there) at the widths where every intervention has every figure. `None` when no replicate has two
/// interventions (a sweep without interventions); replicates that cannot give cells are left out with
/// the reason (the second value).
pub fn decision_input(conditions: &[InterventionCurves], measures: &[&str]) -> Option<(DecisionInput, Vec<String>)> {
    let mut groups: BTreeMap<(&str, Option<u64>), Vec<&InterventionCurves>> = BTreeMap::new();
    for c in conditions {
        groups.entry((c.base_setting, c.draw)).or_default().push(c);
    }
    groups.retain(|_, members| members.len() >= 2);
    if groups.is_empty() {
        return None;
    }
    let mut input = DecisionInput { measures: measures.iter().map(|m| m.to_string()).collect(), replicates: Vec::new() };
    let mut left_out = Vec::new();
    for ((setting, draw), members) in groups {
        let name = draw.map_or(setting.to_string(), |d| format!("{setting} draw {d}"));
        let Some(threshold) =
            members.iter().map(|m| m.w_interp).collect::<Option<Vec<usize>>>().and_then(|t| t.into_iter().max())
        else {
            let never: Vec<&str> = members.iter().filter(|m| m.w_interp.is_none()).map(|m| m.intervention).collect();
            left_out.push(format!("{name}: no interpolation threshold under {}", never.join(", ")));
            continue;
        };
        // One cell's figures, when every one is there.
        let cell = |m: &InterventionCurves, width: usize| -> Option<DecisionCell> {
            let mean_at = |curves: &SeedCurves| {
                curves.0.get(&width).filter(|v| !v.is_empty()).map(|v| {
                    let values: Vec<f64> = v.values().copied().collect();
                    mean(&values)
                })
            };
            Some(DecisionCell {
                intervention: m.intervention.to_string(),
                width,
                test_error: mean_at(m.test_err)?,
                seed_variance: mean_at(m.seed_variance?)?,
                internal: measures.iter().map(|name| m.growths.get(*name).and_then(mean_at)).collect::<Option<Vec<f64>>>()?,
            })
        };
        let widths: BTreeSet<usize> = members.iter().flat_map(|m| m.test_err.widths()).filter(|w| *w >= threshold).collect();
        let mut cells = Vec::new();
        for width in widths {
            if let Some(row) = members.iter().map(|m| cell(m, width)).collect::<Option<Vec<_>>>() {
                cells.extend(row);
            }
        }
        if cells.is_empty() {
            left_out
                .push(format!("{name}: no width at or past the threshold {threshold} where every intervention has every figure"));
            continue;
        }
        input.replicates.push(DecisionReplicate { setting: setting.to_string(), cells });
    }
    Some((input, left_out))
}

/// The decision over `input`'s replicates at level `alpha`.
pub fn decide(input: &DecisionInput, alpha: f64) -> Decision {
    let p = input.measures.len();
    let mut left_out = Vec::new();
    let mut by_setting: BTreeMap<&str, Vec<Vec<f64>>> = BTreeMap::new();
    for (r, replicate) in input.replicates.iter().enumerate() {
        match replicate_coefficients(&replicate.cells, p) {
            Ok(b) => by_setting.entry(&replicate.setting).or_default().push(b),
            Err(why) => left_out.push(format!("replicate {} ({}): {why}", r + 1, replicate.setting)),
        }
    }
    // The draws of one setting share it: its unit is their mean. One setting: its draws are the units.
    let settings: BTreeSet<&str> = input.replicates.iter().map(|r| r.setting.as_str()).collect();
    let (unit, units): (&str, Vec<Vec<f64>>) = if settings.len() <= 1 {
        ("draws", by_setting.into_values().next().unwrap_or_default())
    } else {
        let means =
            by_setting.values().map(|bs| (0..=p).map(|j| mean(&bs.iter().map(|b| b[j]).collect::<Vec<_>>())).collect()).collect();
        ("settings", means)
    };
    let mut decision = Decision {
        favoured: Favoured::NotTestable,
        reason: String::new(),
        seed_variance: None,
        internal: Vec::new(),
        unit: unit.to_string(),
        units: units.len(),
        left_out,
        without_cells: Vec::new(),
        measures: input.measures.clone(),
        replicates: input.replicates.clone(),
    };
    if units.len() < 3 || p == 0 {
        decision.reason = format!("{} {unit} with a fit and {p} internal measure(s): at least 3 and 1 are needed", units.len());
        return decision;
    }
    // Predicted sign: +1 for the seed variance, -1 for the internal measures.
    let over = |j: usize, sign: f64| MeanOver::of(&units.iter().map(|b| sign * b[j]).collect::<Vec<_>>());
    let mut coefficients = Vec::new();
    for j in 0..=p {
        let sign = if j == 0 { 1.0 } else { -1.0 };
        let (Some(signed), Some(raw)) = (over(j, sign), over(j, 1.0)) else {
            decision.reason = "a coefficient is not finite in some unit".into();
            return decision;
        };
        let (lo, hi) = raw.interval(0.95);
        let name = if j == 0 { "seed variance".to_string() } else { input.measures[j - 1].clone() };
        let pv = signed.p_positive();
        let reach = raw.upper(alpha) - raw.mean;
        coefficients.push(Coefficient {
            predictor: name,
            mean: raw.mean,
            lo,
            hi,
            p: pv,
            p_adjusted: pv,
            power: power(DECISION_SESOI, raw.se, raw.df, alpha),
            bounded: raw.mean - reach > -DECISION_SESOI && raw.mean + reach < DECISION_SESOI,
        });
    }
    let variance = coefficients.remove(0);
    let adjusted = holm(&coefficients.iter().map(|c| c.p).collect::<Vec<_>>());
    for (c, a) in coefficients.iter_mut().zip(adjusted) {
        c.p_adjusted = a;
    }
    let internal_shown = coefficients.iter().find(|c| c.p_adjusted < alpha && !c.bounded);
    let (favoured, reason) = if let Some(c) = internal_shown {
        (
            Favoured::InternalEnsemble,
            format!(
                "at the same seed variance, more {} goes with less of the second descent still to come: {:.4} [{:.4}, {:.4}] per sd over {} {unit} (Holm p = {:.3})",
                c.predictor,
                c.mean,
                c.lo,
                c.hi,
                units.len(),
                c.p_adjusted
            ),
        )
    } else if variance.p < alpha && coefficients.iter().all(|c| c.bounded) {
        (
            Favoured::VarianceDecay,
            format!(
                "the seed variance carries the excess, {:.4} [{:.4}, {:.4}] per sd (p = {:.3}), and every internal measure is bounded within +-{DECISION_SESOI} per sd over {} {unit}",
                variance.mean,
                variance.lo,
                variance.hi,
                variance.p,
                units.len()
            ),
        )
    } else {
        let powers: Vec<String> = coefficients.iter().map(|c| format!("{} {:.2}", c.predictor, c.power)).collect();
        (
            Favoured::Inconclusive,
            format!(
                "no internal measure is shown to carry the excess and not every one is bounded within +-{DECISION_SESOI} per sd (seed variance {:.4} [{:.4}, {:.4}]); power at the SESOI: {}",
                variance.mean,
                variance.lo,
                variance.hi,
                powers.join(", ")
            ),
        )
    };
    decision.favoured = favoured;
    decision.reason = reason;
    decision.seed_variance = Some(variance);
    decision.internal = coefficients;
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replicate of two interventions x `widths` widths whose remaining quantities are given by `f`.
    fn replicate(setting: &str, widths: usize, f: impl Fn(usize, usize) -> (f64, f64, f64)) -> DecisionReplicate {
        let cells = (0..2)
            .flat_map(|i| (0..widths).map(move |w| (i, w)))
            .map(|(i, w)| {
                let (error, variance, measure) = f(i, w);
                DecisionCell {
                    intervention: format!("i{i}"),
                    width: 1 << w,
                    test_error: error,
                    seed_variance: variance,
                    internal: vec![measure],
                }
            })
            .collect();
        DecisionReplicate { setting: setting.into(), cells }
    }

    /// Within a width, the two interventions differ in the remaining variance by v and in the measure by m;
    /// the excess differs by 0.02 v / sd + 0: the variance's coefficient per within-width sd is planted.
    #[test]
    fn a_replicates_coefficients_are_the_planted_ones_per_within_width_sd() {
        let widest = 6;
        // Variance 1 + w + i (0.5 + w) at width w: within a width the interventions differ by 0.5 + w.
        let variance = |i: usize, w: usize| if w == widest - 1 { 0.0 } else { 1.0 + w as f64 + i as f64 * (0.5 + w as f64) };
        let measure = |i: usize, w: usize| if w == widest - 1 { 0.0 } else { ((i * 3 + w * 5) % 7) as f64 };
        let r = replicate("s", widest, |i, w| (0.3 + 0.02 * variance(i, w), variance(i, w), measure(i, w)));
        let b = replicate_coefficients(&r.cells, 1).unwrap();
        // Deviations from each width's mean: +-(0.5 + w)/2; their sd over the 10 cells below the widest.
        let dev: Vec<f64> = (0..widest - 1).flat_map(|w| [-(0.5 + w as f64) / 2.0, (0.5 + w as f64) / 2.0]).collect();
        let spread = (dev.iter().map(|d| d * d).sum::<f64>() / (dev.len() as f64 - 1.0)).sqrt();
        assert!((b[0] - 0.02 * spread).abs() < 1e-10, "{b:?} against {}", 0.02 * spread);
        assert!(b[1].abs() < 1e-10, "the measure adds nothing: {b:?}");
        // Too few cells; a measure that does not vary within widths.
        assert!(replicate_coefficients(&r.cells[..4], 1).unwrap_err().contains("fewer"));
        let flat = replicate("s", widest, |i, w| (0.3 + 0.02 * variance(i, w), variance(i, w), w as f64));
        assert!(replicate_coefficients(&flat.cells, 1).unwrap_err().contains("within widths"));
        assert!(replicate_coefficients(&r.cells, 2).unwrap_err().contains("not 2"), "a cell without every measure");
    }

    fn curves(values: &[(usize, &[f64])]) -> SeedCurves {
        let mut c = SeedCurves::default();
        for (w, seeds) in values {
            for (s, v) in seeds.iter().enumerate() {
                c.insert(*w, Some(s as u64), *v);
            }
        }
        c
    }

    /// Conditions sharing a base setting and a draw are one replicate; its cells are every
    /// intervention's seed means at the widths at and past the widest threshold where all have every
    /// figure; a replicate of one intervention is not a replicate of the decision, and one whose
    /// intervention never interpolates is left out with the reason.
    #[test]
    fn a_sweeps_conditions_become_the_decisions_replicates_and_cells() {
        let err = curves(&[(2, &[0.5, 0.7]), (4, &[0.3, 0.5]), (8, &[0.2, 0.4]), (16, &[0.1, 0.3])]);
        let mut variance = SeedCurves::default();
        for (w, v) in [(2, 0.9), (4, 0.4), (8, 0.2), (16, 0.1)] {
            variance.insert(w, None, v);
        }
        let mut growths = BTreeMap::new();
        growths.insert("m".to_string(), curves(&[(4, &[1.0, 3.0]), (8, &[2.0, 6.0]), (16, &[3.0, 5.0])]));
        let with =
            |base: &'static str, draw: Option<u64>, intervention: &'static str, w_interp: Option<usize>| InterventionCurves {
                base_setting: base,
                draw,
                intervention,
                w_interp,
                test_err: &err,
                seed_variance: Some(&variance),
                growths: &growths,
            };
        assert!(decision_input(&[with("a", Some(0), "plain", Some(2)), with("a", Some(1), "plain", Some(2))], &["m"]).is_none());
        let conditions = [
            with("a", Some(0), "plain", Some(2)),
            with("a", Some(0), "centred", Some(8)),
            with("a", Some(1), "plain", Some(2)),
            with("a", Some(1), "centred", None),
            with("b", Some(0), "plain", Some(4)),
        ];
        let (input, left_out) = decision_input(&conditions, &["m"]).unwrap();
        assert_eq!(left_out, ["a draw 1: no interpolation threshold under centred"]);
        assert_eq!(input.replicates.len(), 1);
        let cells = &input.replicates[0].cells;
        // Threshold 8 (the centred one's): widths 8 and 16, both interventions.
        let seen: Vec<(&str, usize)> = cells.iter().map(|c| (c.intervention.as_str(), c.width)).collect();
        assert_eq!(seen, [("plain", 8), ("centred", 8), ("plain", 16), ("centred", 16)]);
        assert_eq!(
            cells[0],
            DecisionCell {
                intervention: "plain".into(),
                width: 8,
                test_error: 0.30000000000000004,
                seed_variance: 0.2,
                internal: vec![4.0]
            }
        );
        // A measure missing at a width drops that width; missing everywhere, the replicate.
        let mut partial = BTreeMap::new();
        partial.insert("m".to_string(), curves(&[(16, &[3.0, 5.0])]));
        let thin = InterventionCurves { growths: &partial, ..with("a", Some(0), "centred", Some(8)) };
        let (input, _) = decision_input(&[with("a", Some(0), "plain", Some(2)), thin], &["m"]).unwrap();
        assert_eq!(input.replicates[0].cells.iter().map(|c| c.width).collect::<Vec<_>>(), [16, 16]);
        let none = InterventionCurves { growths: &partial, ..with("a", Some(0), "centred", Some(32)) };
        let (input, left_out) = decision_input(&[with("a", Some(0), "plain", Some(2)), none], &["m"]).unwrap();
        assert!(input.replicates.is_empty() && left_out[0].contains("no width at or past the threshold 32"), "{left_out:?}");
    }

    /// Settings whose units show what is planted: the rule reads them as given.
    #[test]
    fn the_rule_favours_what_the_units_show() {
        let input = |effect: f64| DecisionInput {
            measures: vec!["competence/n_eff".into()],
            replicates: (0..4)
                .flat_map(|s| (0..2).map(move |d| (s, d)))
                .map(|(s, d)| {
                    replicate(&format!("s{s}"), 7, move |i, w| {
                        let last = w == 6;
                        let variance = if last { 0.0 } else { (1.0 + i as f64) * (6 - w) as f64 / 6.0 };
                        let measure = if last { 0.0 } else { ((i * 5 + w * 3 + s + d) % 7) as f64 / 7.0 };
                        let wobble = 1e-4 * (((i * 7 + w * 3 + s * 5 + d) % 5) as f64 - 2.0);
                        (0.02 * variance + effect * measure + wobble, variance, measure)
                    })
                })
                .collect(),
        };
        let d = decide(&input(-0.05), 0.05);
        assert_eq!((d.favoured, d.unit.as_str(), d.units), (Favoured::InternalEnsemble, "settings", 4), "{}", d.reason);
        let d = decide(&input(0.0), 0.05);
        assert_eq!(d.favoured, Favoured::VarianceDecay, "{}", d.reason);
        let mut few = input(0.0);
        few.replicates.truncate(2);
        assert_eq!(decide(&few, 0.05).favoured, Favoured::NotTestable, "one setting, two draws");
    }
}
