//! H2, co-movement (docs/SCIENCE.md, Statistics: "H2"): across settings, does the onset move with the
//! peak? Deming's slope of log2 W_ens on log2 W_peak with a jackknife over the settings, Holm over
//! the metrics.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::condition::{ConditionAnalysis, MetricVerdict};
use crate::outcome::{Options, Outcome, Verdict, fmt_p, prediction};
use crate::stats::{deming_slope, holm};

/// H2 for one metric: does W_ens move with W_peak across conditions?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcrossConditions {
    pub metric: String,
    /// (condition, W_peak, W_ens) of every condition with a detected peak and a detected onset.
    pub points: Vec<(String, f64, f64)>,
    /// Deming slope of log2 W_ens on log2 W_peak with its jackknife t interval (over the settings) at its Holm level.
    pub slope: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// The control: the same slope against log2 W_interp.
    pub control_slope: Option<f64>,
    pub control_lo: Option<f64>,
    pub control_hi: Option<f64>,
    pub verdict: Verdict,
}
/// H2: across conditions with a detected peak and a detected onset, the Deming slope of log2 W_ens on
/// log2 W_peak, with a jackknife over the settings (H2's units; `unit_of[i]` is condition i's setting,
/// its own for a condition without data draws): each setting's (peak, onset) pairs, one per data draw,
/// are left out together, so the between-setting scatter and each condition's own estimation error (an
/// argmax and a change point, which a bootstrap of the seeds cannot resample validly) both enter the
/// spread, and nothing inside a condition is re-located.
pub(crate) fn across_conditions(analysed: &[ConditionAnalysis], unit_of: &[usize], opts: &Options) -> Vec<AcrossConditions> {
    let names: Vec<String> =
        analysed.iter().flat_map(|c| c.metrics.iter().map(|m| m.metric.clone())).collect::<BTreeSet<_>>().into_iter().collect();
    // An onset whose interval reaches the first candidate (the second width) is censored: the growth
    // started at or below the narrowest widths, and where cannot be told, so it cannot move with anything
    // (resampled, it sits on the edge every time and gives a slope of exactly 0).
    let censored = |m: &MetricVerdict| {
        m.onset.as_ref().is_some_and(|o| m.growth.get(1).is_some_and(|second| o.lo <= second.width as f64 * (1.0 + 1e-9)))
    };
    let included_for = |name: &str| -> Vec<usize> {
        (0..analysed.len())
            .filter(|&i| {
                analysed[i].peak.detected
                    && analysed[i].metrics.iter().any(|m| m.metric == name && m.w_ens.is_some() && !censored(m))
            })
            .collect()
    };
    // First every metric's slope and its bootstrap; then Holm over the metrics that have one.
    let work: Vec<H2Work> = names
        .into_iter()
        .map(|name| {
            let included = included_for(&name);
            let left_out: Vec<String> = (0..analysed.len())
                .filter(|i| !included.contains(i))
                .map(|i| {
                    let c = &analysed[i];
                    match c.metrics.iter().find(|m| m.metric == name) {
                        Some(m) if m.w_ens.is_some() && censored(m) => format!("{} (onset at the narrow edge)", c.condition),
                        _ => c.condition.clone(),
                    }
                })
                .collect();
            let points: Vec<(String, f64, f64)> = included
                .iter()
                .map(|&i| {
                    let c = &analysed[i];
                    let m = c.metrics.iter().find(|m| m.metric == name).unwrap();
                    (c.condition.clone(), c.peak.peak.as_ref().unwrap().width as f64, m.w_ens.unwrap())
                })
                .collect();
            let units: Vec<usize> = included.iter().map(|&i| unit_of[i]).collect();
            let mut w = H2Work { name, included, units, left_out, points, ..Default::default() };
            if w.settings() >= NEEDED_CONDITIONS {
                h2_jackknife(&mut w, analysed);
            }
            w
        })
        .collect();
    // Holm over the metrics with an interval, on the jackknife t test's two-sided p-value of a slope of 0
    // (the test behind "excludes 0"); each metric's interval is at the level Holm gives its rank.
    let p: Vec<f64> = work.iter().map(|w| w.jackknife.map_or(f64::NAN, |j| p_zero(w.slope, &j))).collect();
    let p_holm = holm(&p);
    let family = p.iter().filter(|p| p.is_finite()).count().max(1);
    let tails = holm_tails(&p, opts.alpha);
    work.into_iter().enumerate().map(|(i, w)| h2_verdict(w, tails[i], p[i], p_holm[i], family, opts.alpha)).collect()
}

/// Each test's two-sided tail at its Holm step: the smallest p-value of m is tested at alpha / m, the
/// next at alpha / (m - 1), and so on (half of it in each tail). Tests without a p-value (NaN) are not
/// in the family and get the first step's tail.
fn holm_tails(p: &[f64], alpha: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let family = order.len().max(1);
    let mut tails = vec![alpha / 2.0 / family as f64; p.len()];
    for (rank, &i) in order.iter().enumerate() {
        tails[i] = alpha / 2.0 / (family - rank) as f64;
    }
    tails
}

/// Fewest settings (with a detected peak and onset in some draw) for H2's slope: five leave its fit
/// residual degrees of freedom.
const NEEDED_CONDITIONS: usize = 5;

/// One metric's H2 material before Holm.
#[derive(Default)]
struct H2Work {
    name: String,
    /// Indices of the conditions in the fit, the setting (jackknife unit) of each, and the names of the
    /// conditions left out.
    included: Vec<usize>,
    units: Vec<usize>,
    left_out: Vec<String>,
    points: Vec<(String, f64, f64)>,
    /// log2 W_peak span of the points.
    span: f64,
    slope: f64,
    control: Option<f64>,
    jackknife: Option<crate::curve::Jackknife>,
    control_jackknife: Option<crate::curve::Jackknife>,
}

impl H2Work {
    /// Settings in the fit: the jackknife's units.
    fn settings(&self) -> usize {
        self.units.iter().collect::<BTreeSet<_>>().len()
    }
}

/// The two-sided p-value of a slope of 0: the jackknife t on its degrees of freedom (0 for an exact
/// slope other than 0: every leave-one-out slope equal).
fn p_zero(slope: f64, j: &crate::curve::Jackknife) -> f64 {
    if j.se > 0.0 {
        (2.0 * crate::stats::t_upper_tail(slope.abs() / j.se, j.df)).min(1.0)
    } else if slope != 0.0 {
        0.0
    } else {
        1.0
    }
}

/// Deming's slope of `y` on `x` and its jackknife over the units: the points of unit `units[i]` are
/// left out together (the delete-a-group jackknife), each unit in turn.
fn deming_jackknife(x: &[f64], y: &[f64], units: &[usize]) -> (f64, Option<crate::curve::Jackknife>) {
    let distinct: BTreeSet<usize> = units.iter().copied().collect();
    let without = |v: &[f64], u: usize| -> Vec<f64> { v.iter().zip(units).filter(|(_, g)| **g != u).map(|(a, _)| *a).collect() };
    let loo: Vec<f64> = distinct.iter().map(|&u| deming_slope(&without(x, u), &without(y, u))).collect();
    (deming_slope(x, y), crate::curve::Jackknife::of(&loo))
}

/// The Deming slope of one metric (and of the interpolation threshold's control) with their jackknifes
/// over the conditions.
fn h2_jackknife(w: &mut H2Work, analysed: &[ConditionAnalysis]) {
    let x: Vec<f64> = w.points.iter().map(|p| p.1.log2()).collect();
    let y: Vec<f64> = w.points.iter().map(|p| p.2.log2()).collect();
    w.span = x.iter().copied().fold(f64::NEG_INFINITY, f64::max) - x.iter().copied().fold(f64::INFINITY, f64::min);
    (w.slope, w.jackknife) = deming_jackknife(&x, &y, &w.units);
    let interp: Option<Vec<f64>> = w.included.iter().map(|&i| analysed[i].w_interp.map(|w| (w as f64).log2())).collect();
    if let Some(interp) = interp {
        let (slope, j) = deming_jackknife(&interp, &y, &w.units);
        (w.control, w.control_jackknife) = (Some(slope), j);
    }
}

/// One metric's H2 verdict: its jackknife t interval at two-sided tail `tail` (its Holm level), its raw
/// and Holm-adjusted p-value of a slope of 0.
fn h2_verdict(w: H2Work, tail: f64, p: f64, p_holm: f64, family: usize, alpha: f64) -> AcrossConditions {
    let pred = prediction::COMOVEMENT;
    let name = w.name.clone();
    let empty = |reason: String, points| AcrossConditions {
        metric: name.clone(),
        points,
        slope: None,
        lo: None,
        hi: None,
        control_slope: None,
        control_lo: None,
        control_hi: None,
        verdict: Verdict::new(pred, Some(&name), Outcome::NotTestable, reason, &[]),
    };
    let settings = w.settings();
    // "over 6 conditions", or "over 12 conditions of 4 settings" where settings have data draws.
    let over = if settings == w.included.len() {
        format!("{settings} conditions")
    } else {
        format!("{} conditions of {settings} settings", w.included.len())
    };
    if settings < NEEDED_CONDITIONS {
        return empty(
            format!(
                "{} with a detected peak and onset ({NEEDED_CONDITIONS} needed); left out: {}",
                if settings == w.included.len() { format!("{settings} condition(s)") } else { format!("{settings} setting(s)") },
                if w.left_out.is_empty() { "none".to_string() } else { w.left_out.join(", ") }
            ),
            w.points,
        );
    }
    let slope = w.slope;
    let ci = |s: Option<f64>, j: Option<crate::curve::Jackknife>| match (s.filter(|s| s.is_finite()), j) {
        (Some(s), Some(j)) => {
            let half = crate::stats::t_quantile(1.0 - tail, j.df) * j.se;
            (Some(s - half), Some(s + half))
        }
        _ => (None, None),
    };
    let (lo, hi) = ci(Some(slope), w.jackknife);
    let (control_lo, control_hi) = ci(w.control, w.control_jackknife);
    let numbers = [
        ("slope", slope),
        ("lo", lo.unwrap_or(f64::NAN)),
        ("hi", hi.unwrap_or(f64::NAN)),
        ("control_slope", w.control.unwrap_or(f64::NAN)),
        ("conditions", w.included.len() as f64),
        ("settings", settings as f64),
        ("metrics_in_family", family as f64),
        ("p_zero", p),
        ("p_holm", p_holm),
    ];
    let verdict = match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let text = format!(
                "slope of log W_ens on log W_peak {slope:.2} [{lo:.2}, {hi:.2}] over {over} (jackknife over the {}, t on {} d.o.f.; interval at {:.1}%, this metric's Holm level over {family} metric(s); slope 0: p = {}, Holm p = {})",
                if settings == w.included.len() { "conditions" } else { "settings, each with its data draws" },
                settings - 1,
                100.0 * (1.0 - 2.0 * tail),
                fmt_p(p),
                fmt_p(p_holm),
            );
            let sesoi = crate::sesoi::COMOVEMENT_SLOPE;
            // A seed-level metric's change at the peak is predicted by the variance account too.
            let rival = if crate::sesoi::seed_level(&name) {
                " (a seed-level metric: the variance account predicts this too, so it does not favour the hypothesis)"
            } else {
                ""
            };
            if lo <= 1.0 && hi >= 1.0 && lo > 0.0 && p_holm < alpha {
                Verdict::new(pred, Some(&name), Outcome::Supported, format!("{text}: contains 1, excludes 0{rival}"), &numbers)
            } else if hi < sesoi {
                Verdict::new(
                    pred,
                    Some(&name),
                    Outcome::Contradicted,
                    format!("{text}: excludes every slope of {sesoi} or more (the onset does not move with the peak)"),
                    &numbers,
                )
            } else {
                Verdict::new(
                    pred,
                    Some(&name),
                    Outcome::Inconclusive,
                    format!("{text}: does not show a slope near 1, and does not exclude a slope of {sesoi} or more"),
                    &numbers,
                )
            }
        }
        // Deming's slope is undefined when the points have no spread along either axis, or when it is
        // undefined without one of them.
        _ => Verdict::new(
            pred,
            Some(&name),
            Outcome::NotTestable,
            format!(
                "unstable fit: Deming's slope is undefined with or without some {} (the peaks span {:.2} octaves over {over})",
                if settings == w.included.len() { "condition" } else { "setting" },
                w.span,
            ),
            &numbers,
        ),
    };
    AcrossConditions {
        metric: name.clone(),
        points: w.points,
        slope: slope.is_finite().then_some(slope),
        lo,
        hi,
        control_slope: w.control.filter(|s| s.is_finite()),
        control_lo,
        control_hi,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_holm_gives_each_metric_the_tail_of_its_step() {
        // Ranks by p: index 2 (0.001) first of three, then index 0, then index 3; index 1 has none.
        let tails = holm_tails(&[0.01, f64::NAN, 0.001, 0.2], 0.05);
        let expected = [0.05 / 2.0 / 2.0, 0.05 / 2.0 / 3.0, 0.05 / 2.0 / 3.0, 0.05 / 2.0];
        for (t, e) in tails.iter().zip(expected) {
            assert!((t - e).abs() < 1e-15, "{tails:?}");
        }
    }

    #[test]
    fn h2_jackknife_leaves_each_setting_out_and_tests_zero_by_t() {
        // Points on a line of slope 2: every leave-one-out slope is 2, so the spread is 0 and a slope
        // other than 0 has p = 0.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let each = [0, 1, 2, 3, 4];
        let (slope, j) = deming_jackknife(&x, &x.map(|v| 2.0 * v + 1.0), &each);
        let j = j.unwrap();
        assert!((slope - 2.0).abs() < 1e-12 && j.se < 1e-12 && j.df == 4.0, "{slope} {j:?}");
        assert_eq!(p_zero(slope, &j), 0.0);
        // Symmetric scatter about y = x (+-0.5 at x = 1 and 3, in opposite directions): Deming's slope
        // changes when either is left out, so the jackknife has a spread.
        let (slope, j) = deming_jackknife(&x, &[0.0, 1.5, 2.0, 2.5, 4.0], &each);
        assert!(slope < 1.0 && j.unwrap().se > 0.01, "{slope} {j:?}");
        // Two data draws per setting: the setting's points are left out together, so there are as many
        // jackknife units as settings and the spread is that of the leave-one-setting-out slopes.
        let x2 = [0.0, 0.2, 1.0, 1.1, 2.0, 2.3, 3.0, 2.9, 4.0, 4.2];
        let y2 = [0.1, 0.0, 1.4, 1.0, 2.0, 2.6, 2.5, 3.3, 4.0, 3.7];
        let units = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
        let (slope, j) = deming_jackknife(&x2, &y2, &units);
        let j = j.unwrap();
        assert_eq!((j.units, j.df), (5, 4.0));
        assert!((slope - deming_slope(&x2, &y2)).abs() < 1e-15);
        let loo: Vec<f64> = (0..5)
            .map(|u| {
                let keep =
                    |v: &[f64]| -> Vec<f64> { v.iter().enumerate().filter(|(i, _)| i / 2 != u).map(|(_, a)| *a).collect() };
                deming_slope(&keep(&x2), &keep(&y2))
            })
            .collect();
        let mean = loo.iter().sum::<f64>() / 5.0;
        let se = (4.0 / 5.0 * loo.iter().map(|s| (s - mean).powi(2)).sum::<f64>()).sqrt();
        assert!((j.se - se).abs() < 1e-12 && se > 0.01, "{} {se}", j.se);
        // The p-value is the two-sided t tail: on 2 d.o.f. the upper tail of t is (1 - t / sqrt(t^2 + 2)) / 2.
        let j = crate::curve::Jackknife { se: 1.0, df: 2.0, units: 3 };
        let t: f64 = 1.5;
        assert!((p_zero(-t, &j) - (1.0 - t / (t * t + 2.0).sqrt())).abs() < 1e-12);
    }
}
