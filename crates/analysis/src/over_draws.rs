//! The counted verdicts of a setting replicated over data draws (docs/SCIENCE.md, Statistics, "Data
//! draws", "Verdicts over draws"): each prediction judged once for the setting, the draw being the unit.
//! Per draw the same statistic as in that draw's own verdict (the peak test's p-value, H1's change of
//! slope at the draw's own peak and its onset's offset from it, H4's alpha, H5's reduction, the kW
//! difference at both ends), then over draws: Fisher's combination of the peak tests, one-sided t tests
//! on draws - 1 degrees of freedom against 0 and against each prediction's smallest effect of interest.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::sesoi;
use crate::stats::{mean, se, t_quantile, t_upper_tail};
use crate::verdict::{ConditionAnalysis, Outcome, PLACED_OCTAVES, Verdict, prediction};

/// Mean over draws with its standard error and degrees of freedom.
struct OverDraws {
    mean: f64,
    se: f64,
    df: f64,
    n: usize,
}

impl OverDraws {
    fn of(values: &[f64]) -> Option<OverDraws> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let (m, s) = (mean(&v), se(&v));
        (v.len() >= 2 && m.is_finite() && s.is_finite()).then(|| OverDraws {
            mean: m,
            se: s,
            df: (v.len() - 1) as f64,
            n: v.len(),
        })
    }
    /// Two-sided interval at `level`.
    fn interval(&self, level: f64) -> (f64, f64) {
        let half = t_quantile(0.5 + level / 2.0, self.df) * self.se;
        (self.mean - half, self.mean + half)
    }
    /// One-sided p-value of mean > 0 (1 when the spread is 0 and the mean is not positive).
    fn p_positive(&self) -> f64 {
        if self.se > 0.0 {
            t_upper_tail(self.mean / self.se, self.df)
        } else if self.mean > 0.0 {
            0.0
        } else {
            1.0
        }
    }
    /// One-sided (1 - alpha) upper bound.
    fn upper(&self, alpha: f64) -> f64 {
        self.mean + t_quantile(1.0 - alpha, self.df) * self.se
    }
}

/// Fisher's combination of independent p-values: -2 sum ln p against chi-square on 2 n degrees of freedom.
pub fn fisher_combined(p: &[f64]) -> f64 {
    let p: Vec<f64> = p.iter().copied().filter(|x| x.is_finite()).collect();
    if p.is_empty() {
        return f64::NAN;
    }
    let x: f64 = -2.0 * p.iter().map(|v| v.max(f64::MIN_POSITIVE).ln()).sum::<f64>();
    let chi = ChiSquared::new(2.0 * p.len() as f64).expect("positive degrees of freedom");
    1.0 - chi.cdf(x)
}

/// The setting's verdicts: the counted ones (double descent, H1's family, H4, H5's peak and kW), then
/// H1 per metric. `draws`: the setting's conditions, one per draw.
pub(crate) fn verdicts(draws: &[&ConditionAnalysis], alpha: f64) -> (Vec<Verdict>, Vec<Verdict>) {
    let (h1_family, h1_metrics) = onset(draws, alpha);
    (
        vec![double_descent(draws, alpha), h1_family, averaging(draws, alpha), ensemble_peak(draws, alpha), kw(draws, alpha)],
        h1_metrics,
    )
}

fn number(c: &ConditionAnalysis, pred: &str, key: &str) -> Option<f64> {
    c.verdicts.iter().find(|v| v.prediction == pred).and_then(|v| v.numbers.get(key).copied()).filter(|x| x.is_finite())
}

fn outcome(c: &ConditionAnalysis, pred: &str) -> Option<Outcome> {
    c.verdicts.iter().find(|v| v.prediction == pred).map(|v| v.outcome)
}

fn fmt(x: f64) -> String {
    crate::verdict::fmt_p(x)
}

/// Double descent over draws: Fisher's combination of the draws' peak tests (each valid under its
/// plateau null, the draws independent). Contradicted only when every draw excludes a peak of the
/// smallest height of interest.
fn double_descent(draws: &[&ConditionAnalysis], alpha: f64) -> Verdict {
    let pred = prediction::DOUBLE_DESCENT;
    let p: Vec<f64> = draws.iter().filter_map(|c| c.peak.p_value).collect();
    if p.len() < 2 {
        return Verdict::new(pred, None, Outcome::NotTestable, format!("{} draw(s) with a peak test (2 needed)", p.len()), &[]);
    }
    let combined = fisher_combined(&p);
    let widths: Vec<String> = draws.iter().filter_map(|c| c.peak.peak.as_ref().map(|k| k.width.to_string())).collect();
    let numbers = [("p_value", combined), ("draws", p.len() as f64)];
    let text = format!(
        "Fisher's combination of {} draws' peak tests (p = {}; peaks at widths {}): p = {}",
        p.len(),
        p.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(", "),
        widths.join(", "),
        fmt(combined)
    );
    if combined < alpha {
        Verdict::new(pred, None, Outcome::Supported, text, &numbers)
    } else if draws.iter().all(|c| outcome(c, pred) == Some(Outcome::Contradicted)) {
        Verdict::new(
            pred,
            None,
            Outcome::Contradicted,
            format!("{text}: every draw excludes a peak of the smallest height of interest"),
            &numbers,
        )
    } else {
        Verdict::new(
            pred,
            None,
            Outcome::Inconclusive,
            format!("{text}: not significant, and a peak is not excluded in every draw"),
            &numbers,
        )
    }
}

/// H1 over draws, per metric measured inside one network (seed-level metrics are reported, not
/// counted, as within a draw): supported when the change of slope at each draw's onset placed in its
/// peak's grid cell (the draw's own confirmation statistic) is positive in the predicted direction over draws (one-sided t, Holm over the metrics) and the onsets' offsets from
/// the peaks (log2 W_ens - log2 W_peak, the best fit in each draw) have a 95% interval within
/// `PLACED_OCTAVES`; contradicted when the change is bounded below the smallest change of interest (the
/// draws' mean SESOI), or the offsets' interval lies entirely beyond `PLACED_OCTAVES`.
fn onset(draws: &[&ConditionAnalysis], alpha: f64) -> (Verdict, Vec<Verdict>) {
    let names: Vec<String> = draws.first().map(|c| c.metrics.iter().map(|m| m.metric.clone()).collect()).unwrap_or_default();
    struct Work {
        name: String,
        change: Option<OverDraws>,
        /// The slope after the onset, signed: the metric must move in its predicted direction there.
        after: Option<OverDraws>,
        offset: Option<OverDraws>,
        sesoi: f64,
    }
    let work: Vec<Work> = names
        .into_iter()
        .map(|name| {
            let sign = sesoi::predicted_sign(&name);
            let h1 = |c: &ConditionAnalysis, key: &str| {
                c.metrics.iter().find(|m| m.metric == name).and_then(|m| m.h1.numbers.get(key).copied()).filter(|x| x.is_finite())
            };
            // The draw's own confirmation statistic: the change of slope seed by seed at its onset placed in
            // its peak's grid cell (with the fitted ramp's end), as its own H1 verdict uses it.
            let changes: Vec<f64> = draws.iter().filter_map(|c| h1(c, "confirm_change").map(|v| sign * v)).collect();
            let offsets: Vec<f64> = draws.iter().filter_map(|c| Some(h1(c, "w_ens")?.log2() - h1(c, "w_peak")?.log2())).collect();
            let sesois: Vec<f64> = draws.iter().filter_map(|c| h1(c, "sesoi_change")).collect();
            let after: Vec<f64> = draws.iter().filter_map(|c| h1(c, "confirm_slope_after").map(|v| sign * v)).collect();
            Work {
                change: OverDraws::of(&changes),
                after: OverDraws::of(&after),
                offset: OverDraws::of(&offsets),
                sesoi: mean(&sesois),
                name,
            }
        })
        .collect();
    let counted = |w: &Work| !sesoi::seed_level(&w.name);
    // Growth starts: both the change of slope and the slope after it positive over draws (an
    // intersection-union test: the larger p).
    let p: Vec<f64> = work
        .iter()
        .map(|w| match (&w.change, &w.after) {
            (Some(c), Some(a)) => c.p_positive().max(a.p_positive()),
            _ => f64::NAN,
        })
        .collect();
    // Holm over the counted metrics only; a seed-level metric is judged at alpha on its own (reported).
    let in_family: Vec<f64> = work.iter().zip(&p).map(|(w, p)| if counted(w) { *p } else { f64::NAN }).collect();
    let p_holm: Vec<f64> = crate::stats::holm(&in_family).iter().zip(&p).map(|(h, p)| if h.is_nan() { *p } else { *h }).collect();
    let mut metrics = Vec::new();
    for (i, w) in work.iter().enumerate() {
        let pred = prediction::ONSET;
        let Some(c) = &w.change else {
            metrics.push(Verdict::new(
                pred,
                Some(&w.name),
                Outcome::NotTestable,
                "the change of slope at the peak (seed by seed) is known in fewer than 2 draws".into(),
                &[],
            ));
            continue;
        };
        let (lo, hi) = c.interval(0.95);
        let upper = c.upper(alpha);
        let placed = w.offset.as_ref().map(|o| o.interval(0.95));
        let mut numbers = vec![
            ("change_at_peak", c.mean),
            ("lo", lo),
            ("hi", hi),
            ("p_value", p[i]),
            ("p_holm", p_holm[i]),
            ("sesoi", w.sesoi),
            ("draws", c.n as f64),
        ];
        if let Some(a) = &w.after {
            numbers.push(("slope_after", a.mean));
        }
        if let (Some(o), Some((olo, ohi))) = (&w.offset, placed) {
            numbers.extend([("onset_offset_octaves", o.mean), ("onset_offset_lo", olo), ("onset_offset_hi", ohi)]);
        }
        let offset_text = match (&w.offset, placed) {
            (Some(o), Some((olo, ohi))) => format!("; onset {:.2} [{olo:.2}, {ohi:.2}] octaves from the peak", o.mean),
            _ => "; no onset fitted in 2 draws".into(),
        };
        let after_text = w.after.as_ref().map_or(String::new(), |a| format!(", to a slope of {:.3} after it", a.mean));
        let text = format!(
            "over {} draws the slope changes at each draw's peak (its onset placed in the peak's cell) by {:.3} [{lo:.3}, {hi:.3}] per octave in the predicted direction{after_text} ({}; one-sided p of growth starting = {}, Holm p = {}){offset_text}",
            c.n,
            c.mean,
            sesoi::direction_words(&w.name),
            fmt(p[i]),
            fmt(p_holm[i])
        );
        let rival = if sesoi::seed_level(&w.name) { " (a seed-level metric: reported, not counted)" } else { "" };
        let is_placed = placed.is_some_and(|(olo, ohi)| olo >= -PLACED_OCTAVES && ohi <= PLACED_OCTAVES);
        let away = placed.is_some_and(|(olo, ohi)| olo > PLACED_OCTAVES || ohi < -PLACED_OCTAVES);
        let (outcome, why) = if p_holm[i] < alpha && is_placed {
            (Outcome::Supported, "it starts there".to_string())
        } else if upper < w.sesoi {
            (Outcome::Contradicted, format!("bounded by {upper:.3}, below the smallest change of interest {:.3}", w.sesoi))
        } else if away {
            (Outcome::Contradicted, format!("the onset lies more than {PLACED_OCTAVES} octaves from the peak"))
        } else {
            let power = sesoi::power(w.sesoi, c.se, c.df, alpha);
            numbers.push(("power", power));
            (
                Outcome::Inconclusive,
                format!(
                    "neither shown at the peak nor excluded (power {power:.2} at the smallest change of interest {:.3})",
                    w.sesoi
                ),
            )
        };
        metrics.push(Verdict::new(pred, Some(&w.name), outcome, format!("{text}: {why}{rival}"), &numbers));
    }
    // The family over the metrics measured inside one network, as within a draw.
    let counted: Vec<&Verdict> = metrics.iter().filter(|v| !sesoi::seed_level(v.metric.as_deref().unwrap_or(""))).collect();
    let family = crate::verdict::family_verdict(prediction::ONSET_FAMILY, &counted, "start moving at the peak over draws");
    (family, metrics)
}

/// A one-sided effect over draws: supported when positive (one-sided t at alpha), contradicted when its
/// one-sided upper bound is below `sesoi`, inconclusive otherwise with the power at `sesoi`.
fn positive_effect(
    draws: &[&ConditionAnalysis],
    pred: &str,
    key: &str,
    what: &str,
    sesoi: f64,
    alpha: f64,
    extra: &dyn Fn(f64, f64) -> String,
) -> Verdict {
    let values: Vec<f64> = draws.iter().filter_map(|c| number(c, pred, key)).collect();
    let Some(e) = OverDraws::of(&values) else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            format!("{what} is known in {} draw(s) (2 needed)", values.len()),
            &[],
        );
    };
    let (lo, hi) = e.interval(0.95);
    let p = e.p_positive();
    let upper = e.upper(alpha);
    let mut numbers = vec![(key, e.mean), ("lo", lo), ("hi", hi), ("p_value", p), ("sesoi", sesoi), ("draws", e.n as f64)];
    let text = format!("{what} over {} draws: {:.3} [{lo:.3}, {hi:.3}] (one-sided p = {}){}", e.n, e.mean, fmt(p), extra(lo, hi));
    if p < alpha {
        Verdict::new(pred, None, Outcome::Supported, text, &numbers)
    } else if upper < sesoi {
        Verdict::new(
            pred,
            None,
            Outcome::Contradicted,
            format!("{text}: bounded by {upper:.3}, below the smallest effect of interest {sesoi}"),
            &numbers,
        )
    } else {
        let power = sesoi::power(sesoi, e.se, e.df, alpha);
        numbers.push(("power", power));
        Verdict::new(
            pred,
            None,
            Outcome::Inconclusive,
            format!("{text}: neither shown nor excluded (power {power:.2} at {sesoi})"),
            &numbers,
        )
    }
}

fn averaging(draws: &[&ConditionAnalysis], alpha: f64) -> Verdict {
    let holds = |x: f64, lo: f64, hi: f64| if lo <= x && x <= hi { "holds" } else { "excludes" };
    positive_effect(
        draws,
        prediction::AVERAGING,
        "alpha",
        "H4 alpha (seed variance ~ W^-alpha past its own peak)",
        sesoi::AVERAGING_ALPHA,
        alpha,
        &|lo, hi| {
            format!(
                "; the interval {} 1 (independent members) and {} 1/2 (the variance account)",
                holds(1.0, lo, hi),
                holds(0.5, lo, hi)
            )
        },
    )
}

fn ensemble_peak(draws: &[&ConditionAnalysis], alpha: f64) -> Verdict {
    positive_effect(
        draws,
        prediction::ENSEMBLE_PEAK,
        "reduction",
        "the peak lowered by averaging the draw's seeds",
        sesoi::PEAK_ERROR,
        alpha,
        &|_, _| String::new(),
    )
}

/// kW over draws: each draw's fitted difference at the first and the widest compared W (the same k in
/// every draw used), equivalence within the margin at both ends (two one-sided tests at alpha), or a
/// difference beyond it at either end.
fn kw(draws: &[&ConditionAnalysis], alpha: f64) -> Verdict {
    let pred = prediction::ENSEMBLE_KW;
    let k = draws.iter().filter_map(|c| number(c, pred, "k")).next();
    let same_k: Vec<&&ConditionAnalysis> = draws.iter().filter(|c| number(c, pred, "k") == k).collect();
    let ends = |key: &str| -> Option<OverDraws> {
        OverDraws::of(&same_k.iter().filter_map(|c| number(c, pred, key)).collect::<Vec<_>>())
    };
    let (Some(k), Some(first), Some(last)) = (k, ends("at_first"), ends("at_last")) else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            "the kW difference is known at both ends in fewer than 2 draws".into(),
            &[],
        );
    };
    let margin = crate::ensemble::KW_EQUIVALENCE_MARGIN;
    let (f95, l95, f90, l90) = (first.interval(0.95), last.interval(0.95), first.interval(0.90), last.interval(0.90));
    let mut numbers = vec![
        ("k", k),
        ("at_first", first.mean),
        ("at_first_lo", f95.0),
        ("at_first_hi", f95.1),
        ("at_last", last.mean),
        ("at_last_lo", l95.0),
        ("at_last_hi", l95.1),
        ("margin", margin),
        ("draws", first.n as f64),
    ];
    // The compared widths, where every draw compared the same ones (they do when the draws' peaks agree).
    for key in ["first_width", "last_width"] {
        let widths: Vec<f64> = same_k.iter().filter_map(|c| number(c, pred, key)).collect();
        if widths.len() == same_k.len() && widths.windows(2).all(|w| w[0] == w[1]) {
            numbers.push((key, widths[0]));
        }
    }
    let text = format!(
        "error of one net of width {k}W minus {k} nets of width W over {} draws: {:.4} [{:.4}, {:.4}] at the first W past the peak, {:.4} [{:.4}, {:.4}] at the widest",
        first.n, first.mean, f95.0, f95.1, last.mean, l95.0, l95.1
    );
    if [f90, l90].iter().all(|(lo, hi)| *lo > -margin && *hi < margin) {
        Verdict::new(pred, None, Outcome::Supported, format!("{text}: equivalent within +-{margin} at both ends"), &numbers)
    } else if [f95, l95].iter().any(|(lo, hi)| *lo > margin || *hi < -margin) {
        Verdict::new(pred, None, Outcome::Contradicted, format!("{text}: beyond +-{margin} at one end"), &numbers)
    } else {
        let power = sesoi::equivalence_power(margin, first.se.max(last.se), first.df, alpha);
        numbers.push(("power", power));
        Verdict::new(
            pred,
            None,
            Outcome::Inconclusive,
            format!("{text}: neither equivalence nor a difference beyond +-{margin} is shown (power of equivalence {power:.2})"),
            &numbers,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_combination_has_its_closed_form() {
        // Two p-values: -2 ln(p1 p2) on chi-square(4), whose upper tail is e^{-x/2} (1 + x/2): with
        // p1 p2 = q, x/2 = -ln q, so the combined p is q (1 - ln q).
        let (p1, p2) = (0.1, 0.2);
        let q: f64 = p1 * p2;
        assert!((fisher_combined(&[p1, p2]) - q * (1.0 - q.ln())).abs() < 1e-12);
        // One p-value is itself.
        assert!((fisher_combined(&[0.3]) - 0.3).abs() < 1e-12);
        assert!(fisher_combined(&[]).is_nan());
    }

    #[test]
    fn over_draws_is_a_t_over_the_draws() {
        // 1, 2, 3: mean 2, se 1 / sqrt(3), df 2; one-sided p of t = 2 sqrt(3) on 2 d.o.f.
        let e = OverDraws::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((e.mean, e.df, e.n), (2.0, 2.0, 3));
        assert!((e.se - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        // The t(2) upper tail has a closed form: (1 - t / sqrt(t^2 + 2)) / 2.
        let t = 2.0 * 3f64.sqrt();
        assert!((e.p_positive() - (1.0 - t / (t * t + 2.0).sqrt()) / 2.0).abs() < 1e-12);
        assert!(OverDraws::of(&[1.0]).is_none());
    }
}
