//! H4, averaging (docs/SCIENCE.md, Statistics: "H4"): past the peak the seeds' variance falls with
//! width, compared with 1 (independent members) and 1/2 (the variance account).

use std::collections::BTreeMap;

use crate::curve::SeedCurves;
use crate::outcome::{Outcome, Verdict, fmt_p, prediction};
use crate::peak::PeakTest;
use crate::stats::ols_fit;

/// H4 (docs/SCIENCE.md, Statistics, "H4"): past the peak, the seeds' variance in the space of the training
/// loss (one value per width) against width: ln variance = c - alpha ln W, fitted from the variance's own
/// peak (its largest value at or past the test-error peak), alpha with its t interval over the widths, and
/// the same against the parameter count. Averaging k independent members divides a variance by k (alpha
/// = 1 with k proportional to W); the variance account of Geiger et al. 2020 predicts variance ~ P^-1/2.
/// The ratio var(first width) / var(W) is a data-driven ensemble size, reported at the widest width
/// beside N_eff and the effective rank there.
pub(crate) fn averaging_verdict(
    variance: Option<&SeedCurves>,
    without: Option<&SeedCurves>,
    beside: &[(&str, Option<&SeedCurves>)],
    params: &BTreeMap<usize, usize>,
    peak: &PeakTest,
    name: &str,
    alpha_level: f64,
) -> Verdict {
    let pred = prediction::AVERAGING;
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return Verdict::new(pred, None, Outcome::NotTestable, "no double descent detected: no peak to measure from".into(), &[]);
    };
    let Some(variance) = variance else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            format!("no {name} values (P5 needs 2 or more seeds per width)"),
            &[],
        );
    };
    let from_error_peak: Vec<(usize, f64)> =
        variance.widths().into_iter().zip(variance.means()).filter(|(w, v)| *w >= pk.width && v.is_finite()).collect();
    // The variance's own peak: its hump sits at or just past the error's, and a fit across the hump's
    // top would mix its rise into the decline. Where it lies past the error's peak the fit starts at the
    // next width: the maximum itself was selected as the largest value, and a fit that starts on it
    // finds a decline in a flat curve (measured: 8.3% false alarms at 5 seeds, scenario (p)).
    let own_peak = from_error_peak.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map_or(pk.width, |p| p.0);
    let past: Vec<(usize, f64)> = from_error_peak
        .iter()
        .copied()
        .filter(|(w, _)| if own_peak > pk.width { *w > own_peak } else { *w >= pk.width })
        .collect();
    let positive: Vec<(usize, f64)> = past.iter().copied().filter(|(_, v)| *v > 0.0).collect();
    let x: Vec<f64> = positive.iter().map(|(w, _)| (*w as f64).ln()).collect();
    let y: Vec<f64> = positive.iter().map(|(_, v)| v.ln()).collect();
    let Some(fit) = ols_fit(&x, &y) else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            format!(
                "{} widths from the {name} peak at {own_peak} on with a positive value (3 needed; {} with zero variance left out)",
                positive.len(),
                past.len() - positive.len()
            ),
            &[],
        );
    };
    let (alpha, width_lo, width_hi) = (-fit.slope, -fit.hi, -fit.lo);
    let (first, widest) = (positive[0], positive[positive.len() - 1]);
    let fit_widths: Vec<usize> = positive.iter().map(|p| p.0).collect();
    // The interval that decides: from whole seeds (the jackknife over the leave-one-out variances) where
    // P5 wrote them, else over widths.
    let jack = without.and_then(|w| crate::curve::jackknife_log_slope(w, &fit_widths, |wd| (wd as f64).ln()));
    let (se, df, lo, hi) = match &jack {
        Some(j) => (j.se, j.df, alpha - j.half_width(), alpha + j.half_width()),
        None => (fit.se, fit.df, width_lo, width_hi),
    };
    let mut numbers = vec![
        ("alpha", alpha),
        ("lo", lo),
        ("hi", hi),
        ("width_lo", width_lo),
        ("width_hi", width_hi),
        ("widths", x.len() as f64),
        ("from_width", own_peak as f64),
        ("error_peak", pk.width as f64),
        ("ensemble_size_widest", first.1 / widest.1),
        ("widest", widest.0 as f64),
    ];
    let holds = |lo: f64, hi: f64, v: f64| if lo <= v && v <= hi { "holds" } else { "excludes" };
    let compare = |lo: f64, hi: f64| format!("{} 1, {} 1/2", holds(lo, hi, 1.0), holds(lo, hi, 0.5));
    // Per parameter: the same fit against ln P, where every width's parameter count is known.
    let per_param = positive
        .iter()
        .map(|(w, _)| params.get(w).map(|p| (*p as f64).ln()))
        .collect::<Option<Vec<f64>>>()
        .and_then(|xp| ols_fit(&xp, &y))
        .map(|f| {
            let jack = without.and_then(|w| {
                crate::curve::jackknife_log_slope(w, &fit_widths, |wd| params.get(&wd).map_or(f64::NAN, |p| (*p as f64).ln()))
            });
            match jack {
                Some(j) => (-f.slope, -f.slope - j.half_width(), -f.slope + j.half_width()),
                None => (-f.slope, -f.hi, -f.lo),
            }
        });
    let param_text =
        per_param.map_or(String::new(), |(a, lo, hi)| format!("; per parameter {a:.2} [{lo:.2}, {hi:.2}] ({})", compare(lo, hi)));
    if let Some((a, lo, hi)) = per_param {
        numbers.extend([("alpha_params", a), ("alpha_params_lo", lo), ("alpha_params_hi", hi)]);
    }
    if let Some(j) = &jack {
        numbers.extend([("jackknife_seeds", j.units as f64), ("jackknife_se", j.se)]);
    }
    let interval_words = match &jack {
        Some(j) => format!(
            "the interval is the jackknife over {} seeds, each left out at every width ({} d.o.f.); over widths it would be [{width_lo:.2}, {width_hi:.2}]",
            j.units, j.df
        ),
        None => "the interval is over widths, how far they sit off a power law: P5 wrote no leave-one-out rows (3 seeds needed) to resample whole seeds".to_string(),
    };
    for (label, curve) in beside {
        let at_widest = curve.and_then(|c| c.widths().into_iter().zip(c.means()).find(|(w, _)| *w == widest.0)).map(|p| p.1);
        if let Some(v) = at_widest.filter(|v| v.is_finite()) {
            numbers.push((label, v));
        }
    }
    let text = format!(
        "{name} ~ W^-alpha past its own peak at width {own_peak} (the error peaks at {}): alpha = {alpha:.2} [{lo:.2}, {hi:.2}] per width ({}){param_text}, over {} widths ({interval_words}; 1: averaging of independent members, 1/2: the variance account at depth 1); variance ratio from width {} to {}: {:.1}",
        pk.width,
        compare(lo, hi),
        x.len(),
        first.0,
        widest.0,
        first.1 / widest.1
    );
    // The prediction has a direction (the variance falls): one-sided at level alpha, as every
    // "supported" ("Four outcomes"); the 95% interval above is two-sided.
    let p_value = if se > 0.0 { crate::stats::t_upper_tail(alpha / se, df) } else { f64::NAN };
    numbers.push(("p_value", p_value));
    if p_value < alpha_level {
        return Verdict::new(pred, None, Outcome::Supported, format!("{text}; one-sided p = {}", fmt_p(p_value)), &numbers);
    }
    let sesoi = crate::sesoi::AVERAGING_ALPHA;
    let j = crate::sesoi::not_supported(alpha, se, df, alpha_level, sesoi, &mut numbers);
    let why = match j.outcome {
        Outcome::Contradicted => format!("alpha is at most {:.2}, below the smallest decline of interest ({sesoi})", j.upper),
        _ => format!("no significant decline, and a decline of {sesoi} is not excluded (power {:.2})", j.power),
    };
    Verdict::new(pred, None, j.outcome, format!("{text}: {why}"), &numbers)
}
