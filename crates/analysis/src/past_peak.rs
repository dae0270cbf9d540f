//! The width-adjusted past-peak relation (docs/SCIENCE.md, Statistics: "Past-peak relation"): past
//! the peak, within a width, do seeds whose metric grew more err less?

use serde::{Deserialize, Serialize};

use crate::curve::SeedCurves;
use crate::outcome::{Outcome, Verdict, fmt_p, prediction};
use crate::peak::PeakTest;
use crate::stats::{mean, within_group_slope};

/// The width-adjusted past-peak relation: slope of test error on the metric's growth within widths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastPeak {
    pub slope: f64,
    /// Standard error of the slope.
    #[serde(default)]
    pub se: Option<f64>,
    /// Standard deviation of the growth within widths (the scale of the smallest effect of interest).
    #[serde(default)]
    pub sd_within: Option<f64>,
    pub lo: f64,
    pub hi: f64,
    pub p_value: f64,
    pub p_holm: f64,
    pub df: f64,
    pub observations: usize,
    pub widths: usize,
}
/// The within-width slope of test error on growth past the peak, and the growth's within-width sd.
pub(crate) fn past_peak_fit(
    growth: &SeedCurves,
    test_err: &SeedCurves,
    peak: &PeakTest,
) -> Result<(crate::stats::SlopeFit, f64), String> {
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return Err("no double descent detected: no peak to measure from".into());
    };
    let groups: Vec<Vec<(f64, f64)>> = growth
        .0
        .iter()
        .filter(|(w, _)| **w >= pk.width)
        .map(|(w, seeds)| seeds.iter().filter_map(|(s, g)| test_err.0.get(w).and_then(|m| m.get(s)).map(|e| (*g, *e))).collect())
        .collect();
    if growth.0.values().all(|m| m.keys().all(Option::is_none)) {
        return Err("one value per width (a seed-ensemble figure): no seed-to-seed variation to separate from width".into());
    }
    within_group_slope(&groups)
        .map(|fit| {
            let (ss, n, g) = groups.iter().filter(|gr| gr.len() >= 2).fold((0.0, 0usize, 0usize), |(ss, n, g), gr| {
                let m = mean(&gr.iter().map(|p| p.0).collect::<Vec<_>>());
                (ss + gr.iter().map(|p| (p.0 - m).powi(2)).sum::<f64>(), n + gr.len(), g + 1)
            });
            (fit, (ss / (n - g).max(1) as f64).sqrt())
        })
        .ok_or_else(|| "too few seeds per width past the peak (2 needed at some width, and residual degrees of freedom)".into())
}
pub(crate) fn past_peak_verdict(name: &str, fit: Option<&PastPeak>, untestable: Option<&str>, alpha: f64) -> Verdict {
    let pred = prediction::PAST_PEAK;
    let Some(f) = fit else {
        return Verdict::new(pred, Some(name), Outcome::NotTestable, untestable.unwrap_or("not testable").to_string(), &[]);
    };
    let mut numbers =
        vec![("slope", f.slope), ("lo", f.lo), ("hi", f.hi), ("p_value", f.p_value), ("p_holm", f.p_holm), ("df", f.df)];
    let text = format!(
        "within widths past the peak, test error changes by {:.3} [{:.3}, {:.3}] per unit of growth (Holm p = {}, {} values at {} widths)",
        f.slope,
        f.lo,
        f.hi,
        fmt_p(f.p_holm),
        f.observations,
        f.widths
    );
    // The prediction: a seed whose metric moved further in its predicted direction errs less.
    let sign = -crate::sesoi::predicted_sign(name);
    if f.p_holm < alpha && sign * f.slope > 0.0 {
        return Verdict::new(
            pred,
            Some(name),
            Outcome::Supported,
            format!("{text}: seeds whose metric moved further in its predicted direction err less at the same width"),
            &numbers,
        );
    }
    let opposite = if f.p_holm < alpha { ": the opposite sign" } else { ": not significant" };
    let (Some(se), Some(sd)) = (f.se, f.sd_within.filter(|s| *s > 0.0)) else {
        return Verdict::new(pred, Some(name), Outcome::Inconclusive, format!("{text}{opposite}"), &numbers);
    };
    // Smallest effect of interest: ERROR_PER_SD of test error per within-width sd of growth.
    let sesoi = crate::sesoi::ERROR_PER_SD / sd;
    numbers.push(("sd_within", sd));
    let j = crate::sesoi::not_supported(sign * f.slope, se, f.df, alpha, sesoi, &mut numbers);
    let scale = format!("{:.4} of error per within-width sd ({sd:.3}) of growth", j.upper * sd);
    let per_sd = crate::sesoi::ERROR_PER_SD;
    let why = match j.outcome {
        Outcome::Contradicted => {
            format!("an effect in the predicted direction is at most {scale}, below the smallest of interest ({per_sd})")
        }
        _ => format!("an effect of {per_sd} per sd is not excluded (up to {scale}; power {:.2})", j.power),
    };
    Verdict::new(pred, Some(name), j.outcome, format!("{text}{opposite}; {why}"), &numbers)
}
