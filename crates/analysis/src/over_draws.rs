//! The counted verdicts of a setting replicated over data draws (docs/SCIENCE.md, Statistics, "Data
//! draws", "Verdicts over draws"): each prediction judged once for the setting, the draw being the unit.
//! Per draw the same statistic as in that draw's own verdict (the peak test's p-value, H1's change of
//! slope at the draw's own peak and its onset's offset from it, H4's alpha, H5's reduction, the kW
//! difference at both ends), then over draws: Fisher's combination of the peak tests, one-sided t tests
//! on draws - 1 degrees of freedom against 0 and against each prediction's smallest effect of interest.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::condition::ConditionAnalysis;
use crate::h1::{OnsetAxis, PLACED_OCTAVES};
use crate::outcome::{Outcome, Verdict, prediction};
use crate::sesoi;
use crate::stats::{MeanOver, mean};

/// Mean over draws (the draw the unit); draws without the figure are left out.
fn mean_over_draws(values: &[f64]) -> Option<MeanOver> {
    MeanOver::of(&values.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>())
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

/// The setting's verdicts: the counted ones (double descent, H1's family, the past-peak family, H4,
/// H5's peak and kW, the epoch-wise peak and onset families), then the members of the families (per
/// metric, and per metric and width over epochs). `draws`: the setting's conditions, one per draw.
pub(crate) fn verdicts(draws: &[&ConditionAnalysis], alpha: f64) -> (Vec<Verdict>, Vec<Verdict>) {
    let (h1_family, h1_metrics) = onset(draws, alpha);
    let (past_family, past_metrics) = past_peak(draws, alpha);
    let (epoch_family, epoch_members) = epoch_onset(draws, alpha);
    (
        vec![
            double_descent(draws, alpha),
            h1_family,
            past_family,
            averaging(draws, alpha),
            ensemble_peak(draws, alpha),
            kw(draws, alpha),
            epoch_peak(draws, alpha),
            epoch_family,
        ],
        h1_metrics.into_iter().chain(past_metrics).chain(epoch_members).collect(),
    )
}

/// The past-peak relation over draws, per metric: each draw's within-width slope of test error on
/// growth, signed so that the prediction (a seed whose metric moved further in its predicted direction
/// errs less) is positive and scaled to error per within-width sd of growth (the scale of its smallest
/// effect of interest); t over draws, Holm over the metrics; contradicted when bounded below
/// `sesoi::ERROR_PER_SD`.
fn past_peak(draws: &[&ConditionAnalysis], alpha: f64) -> (Verdict, Vec<Verdict>) {
    let names: Vec<String> = draws
        .iter()
        .flat_map(|c| c.metrics.iter().map(|m| m.metric.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let effects: Vec<Option<MeanOver>> = names
        .iter()
        .map(|name| {
            let per_draw: Vec<f64> = draws
                .iter()
                .filter_map(|c| {
                    let p = c.metrics.iter().find(|m| &m.metric == name)?.past_peak.as_ref()?;
                    Some(-sesoi::predicted_sign(name) * p.slope * p.sd_within.filter(|s| *s > 0.0)?)
                })
                .collect();
            mean_over_draws(&per_draw)
        })
        .collect();
    let p: Vec<f64> = effects.iter().map(|e| e.as_ref().map_or(f64::NAN, MeanOver::p_positive)).collect();
    let p_holm = crate::stats::holm(&p);
    let sesoi = sesoi::ERROR_PER_SD;
    let metrics: Vec<Verdict> = names
        .iter()
        .zip(&effects)
        .enumerate()
        .map(|(i, (name, e))| {
            let pred = prediction::PAST_PEAK;
            let Some(e) = e else {
                return Verdict::new(
                    pred,
                    Some(name),
                    Outcome::NotTestable,
                    "the within-width slope (with its spread of growth) is known in fewer than 2 draws".into(),
                    &[],
                );
            };
            let (lo, hi) = e.interval(0.95);
            let numbers = vec![
                ("error_per_sd", e.mean),
                ("lo", lo),
                ("hi", hi),
                ("p_value", p[i]),
                ("p_holm", p_holm[i]),
                ("draws", e.n as f64),
            ];
            let text = format!(
                "over {} draws, within widths past the peak a seed one sd of growth further in the predicted direction errs {:.4} [{lo:.4}, {hi:.4}] less (one-sided p = {}, Holm p = {})",
                e.n,
                e.mean,
                fmt(p[i]),
                fmt(p_holm[i])
            );
            let rule = Judged { p: p_holm[i], sesoi, alpha, digits: 4, unit: " per sd" };
            rule.verdict(pred, Some(name), e, format!("{text}: it errs less"), text, numbers)
        })
        .collect();
    let members: Vec<&Verdict> = metrics.iter().collect();
    let family =
        crate::outcome::family_verdict(prediction::PAST_PEAK_FAMILY, &members, "predict lower error within widths over draws");
    (family, metrics)
}

/// The epoch-wise peak over draws: at each width, Fisher's combination of the draws' epoch-wise peak
/// tests (raw p-values), then Holm across the widths, as within a draw. Contradicted only when every
/// draw excludes a peak of the smallest height of interest at every width.
fn epoch_peak(draws: &[&ConditionAnalysis], alpha: f64) -> Verdict {
    let pred = prediction::EPOCH_PEAK;
    let widths: Vec<usize> = draws
        .iter()
        .flat_map(|c| c.epochwise.widths.iter().map(|w| w.width))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let combined: Vec<(usize, f64, usize)> = widths
        .iter()
        .filter_map(|&width| {
            let p: Vec<f64> =
                draws.iter().filter_map(|c| c.epochwise.widths.iter().find(|w| w.width == width)?.peak.p_value).collect();
            (p.len() >= 2).then(|| (width, fisher_combined(&p), p.len()))
        })
        .collect();
    if combined.is_empty() {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            "no width has an epoch-wise peak test in 2 or more draws".into(),
            &[],
        );
    }
    let p_holm = crate::stats::holm(&combined.iter().map(|c| c.1).collect::<Vec<_>>());
    let best = p_holm.iter().copied().fold(f64::INFINITY, f64::min);
    let found: Vec<String> = combined
        .iter()
        .zip(&p_holm)
        .filter(|(_, p)| **p < alpha)
        .map(|(c, p)| format!("width {} (Fisher over {} draws, Holm p = {})", c.0, c.2, fmt(*p)))
        .collect();
    let numbers = [("widths_tested", combined.len() as f64), ("widths_with_peak", found.len() as f64), ("p_holm", best)];
    if !found.is_empty() {
        return Verdict::new(
            pred,
            None,
            Outcome::Supported,
            format!("{} of {} widths peak over epochs over draws: {}", found.len(), combined.len(), found.join(", ")),
            &numbers,
        );
    }
    let text = format!(
        "none of {} widths shows an epoch-wise peak over draws (Fisher's combination per width, smallest Holm p = {})",
        combined.len(),
        fmt(best)
    );
    if draws.iter().all(|c| outcome(c, pred) == Some(Outcome::Contradicted)) {
        Verdict::new(
            pred,
            None,
            Outcome::Contradicted,
            format!("{text}: every draw excludes a peak of the smallest height of interest"),
            &numbers,
        )
    } else {
        Verdict::new(pred, None, Outcome::Inconclusive, format!("{text}; a peak is not excluded in every draw"), &numbers)
    }
}

fn number(c: &ConditionAnalysis, pred: &str, key: &str) -> Option<f64> {
    c.verdicts.iter().find(|v| v.prediction == pred).and_then(|v| v.numbers.get(key).copied()).filter(|x| x.is_finite())
}

fn outcome(c: &ConditionAnalysis, pred: &str) -> Option<Outcome> {
    c.verdicts.iter().find(|v| v.prediction == pred).map(|v| v.outcome)
}

fn fmt(x: f64) -> String {
    crate::outcome::fmt_p(x)
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
/// draws' mean SESOI), or the offsets' interval lies entirely beyond `PLACED_OCTAVES` and the change at
/// the peak with each draw's onset held in the model is bounded below it.
fn onset(draws: &[&ConditionAnalysis], alpha: f64) -> (Verdict, Vec<Verdict>) {
    let members = |c: &ConditionAnalysis| c.metrics.iter().map(|m| (m.metric.clone(), m.metric.clone(), m.h1.clone())).collect();
    onset_over(draws, alpha, &OnsetAxis::MODEL_WISE, &members)
}

/// The epoch-wise onset over draws, per (metric, width): as H1 over draws, with the draw's epoch-wise
/// onset verdict's statistics (the onset and the epoch-wise peak in epochs).
fn epoch_onset(draws: &[&ConditionAnalysis], alpha: f64) -> (Verdict, Vec<Verdict>) {
    let members = |c: &ConditionAnalysis| {
        c.epochwise
            .widths
            .iter()
            .flat_map(|w| {
                w.metrics.iter().map(|m| (format!("{} at width {}", m.metric, m.width), m.metric.clone(), m.verdict.clone()))
            })
            .collect()
    };
    onset_over(draws, alpha, &OnsetAxis::EPOCH_WISE, &members)
}

/// One draw's onset verdicts: (name, metric, verdict).
type OnsetMembers<'a> = dyn Fn(&ConditionAnalysis) -> Vec<(String, String, Verdict)> + 'a;

fn onset_over(draws: &[&ConditionAnalysis], alpha: f64, kind: &OnsetAxis, members: &OnsetMembers) -> (Verdict, Vec<Verdict>) {
    let per_draw: Vec<Vec<(String, String, Verdict)>> = draws.iter().map(|c| members(c)).collect();
    // Every name seen in some draw, with its metric (an epoch-wise pair is tested only at widths whose
    // draw found an epoch-wise peak).
    let names: Vec<(String, String)> = per_draw
        .iter()
        .flatten()
        .map(|(name, metric, _)| (name.clone(), metric.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    struct Work {
        name: String,
        metric: String,
        change: Option<MeanOver>,
        /// The slope after the onset, signed: the metric must move in its predicted direction there.
        after: Option<MeanOver>,
        offset: Option<MeanOver>,
        /// The change at the peak with the draw's onset (outside the peak's cell) held in the model.
        beside: Option<MeanOver>,
        sesoi: f64,
    }
    let work: Vec<Work> = names
        .into_iter()
        .map(|(name, metric)| {
            let sign = sesoi::predicted_sign(&metric);
            let h1 = |c: &Vec<(String, String, Verdict)>, key: &str| {
                c.iter().find(|m| m.0 == name).and_then(|m| m.2.numbers.get(key).copied()).filter(|x| x.is_finite())
            };
            // The draw's own confirmation statistic: the change of slope seed by seed at its onset placed in
            // its peak's grid cell (with the fitted ramp's end), as its own H1 verdict uses it.
            let changes: Vec<f64> = per_draw.iter().filter_map(|c| h1(c, "confirm_change").map(|v| sign * v)).collect();
            let offsets: Vec<f64> =
                per_draw.iter().filter_map(|c| Some(h1(c, kind.onset)?.log2() - h1(c, kind.peak)?.log2())).collect();
            let sesois: Vec<f64> = per_draw.iter().filter_map(|c| h1(c, "sesoi_change")).collect();
            let after: Vec<f64> = per_draw.iter().filter_map(|c| h1(c, "confirm_slope_after").map(|v| sign * v)).collect();
            let beside: Vec<f64> = per_draw.iter().filter_map(|c| h1(c, "change_beside").map(|v| sign * v)).collect();
            Work {
                beside: mean_over_draws(&beside),
                change: mean_over_draws(&changes),
                after: mean_over_draws(&after),
                offset: mean_over_draws(&offsets),
                sesoi: mean(&sesois),
                name,
                metric,
            }
        })
        .collect();
    let counted = |w: &Work| !sesoi::seed_level(&w.metric);
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
        let pred = kind.pred;
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
            sesoi::direction_words(&w.metric),
            fmt(p[i]),
            fmt(p_holm[i])
        );
        let rival = if sesoi::seed_level(&w.metric) { " (a seed-level metric: reported, not counted)" } else { "" };
        let is_placed = placed.is_some_and(|(olo, ohi)| olo >= -PLACED_OCTAVES && ohi <= PLACED_OCTAVES);
        // An onset away from the peak does not by itself contradict (the fit has one change point): the
        // change at the peak with each draw's onset held in the model must be bounded below the SESOI.
        let away = placed.is_some_and(|(olo, ohi)| olo > PLACED_OCTAVES || ohi < -PLACED_OCTAVES);
        let beside_upper = w.beside.as_ref().filter(|b| away && b.n == c.n).map(|b| b.upper(alpha));
        if let (Some(b), Some(u)) = (&w.beside, beside_upper) {
            numbers.extend([("change_beside", b.mean), ("change_beside_upper", u)]);
        }
        let (outcome, why) = if p_holm[i] < alpha && is_placed {
            (Outcome::Supported, "it starts there".to_string())
        } else if upper < w.sesoi {
            (Outcome::Contradicted, format!("bounded by {upper:.3}, below the smallest change of interest {:.3}", w.sesoi))
        } else if let Some(u) = beside_upper.filter(|u| *u < w.sesoi) {
            (
                Outcome::Contradicted,
                format!(
                    "the onset lies more than {PLACED_OCTAVES} octaves from the peak, and with it held in the model the change at the peak is bounded by {u:.3}, below the smallest change of interest {:.3}",
                    w.sesoi
                ),
            )
        } else {
            let power = sesoi::power(w.sesoi, c.se, c.df, alpha);
            numbers.push(("power", power));
            (
                Outcome::Inconclusive,
                format!(
                    "neither shown at the peak nor excluded (power {power:.2} at the smallest change of interest {:.3}){}",
                    w.sesoi,
                    if away {
                        format!("; the onset lies more than {PLACED_OCTAVES} octaves from the peak")
                    } else {
                        String::new()
                    }
                ),
            )
        };
        metrics.push(Verdict::new(pred, Some(&w.name), outcome, format!("{text}: {why}{rival}"), &numbers));
    }
    // The family over the metrics measured inside one network, as within a draw.
    let counted: Vec<&Verdict> = metrics.iter().zip(&work).filter(|(_, w)| counted(w)).map(|(v, _)| v).collect();
    let family = crate::outcome::family_verdict(kind.family, &counted, kind.over_draws);
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
    let Some(e) = mean_over_draws(&values) else {
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
    let numbers = vec![(key, e.mean), ("lo", lo), ("hi", hi), ("p_value", p), ("draws", e.n as f64)];
    let text = format!("{what} over {} draws: {:.3} [{lo:.3}, {hi:.3}] (one-sided p = {}){}", e.n, e.mean, fmt(p), extra(lo, hi));
    Judged { p, sesoi, alpha, digits: 3, unit: "" }.verdict(pred, None, &e, text.clone(), text, numbers)
}

/// The rule every effect over draws is judged by: supported when its deciding one-sided p-value `p` is
/// below alpha; otherwise contradicted when the mean's one-sided upper bound lies below `sesoi`, else
/// inconclusive with the power at `sesoi` (`sesoi::not_supported`, as within a draw). `digits` is the
/// precision of the bound in the reason, `unit` follows the SESOI there.
struct Judged {
    p: f64,
    sesoi: f64,
    alpha: f64,
    digits: usize,
    unit: &'static str,
}

impl Judged {
    fn verdict(
        &self,
        pred: &str,
        name: Option<&str>,
        e: &MeanOver,
        supported: String,
        text: String,
        mut numbers: Vec<(&str, f64)>,
    ) -> Verdict {
        if self.p < self.alpha {
            numbers.push(("sesoi", self.sesoi));
            return Verdict::new(pred, name, Outcome::Supported, supported, &numbers);
        }
        let j = sesoi::not_supported(e.mean, e.se, e.df, self.alpha, self.sesoi, &mut numbers);
        let (sesoi, unit, d) = (self.sesoi, self.unit, self.digits);
        let why = match j.outcome {
            Outcome::Contradicted => format!("bounded by {:.d$}, below the smallest effect of interest {sesoi}{unit}", j.upper),
            _ => format!("neither shown nor excluded (power {:.2} at {sesoi}{unit})", j.power),
        };
        Verdict::new(pred, name, j.outcome, format!("{text}: {why}"), &numbers)
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
    let ends = |key: &str| -> Option<MeanOver> {
        mean_over_draws(&same_k.iter().filter_map(|c| number(c, pred, key)).collect::<Vec<_>>())
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
        let e = mean_over_draws(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((e.mean, e.df, e.n), (2.0, 2.0, 3));
        assert!((e.se - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        // The t(2) upper tail has a closed form: (1 - t / sqrt(t^2 + 2)) / 2.
        let t = 2.0 * 3f64.sqrt();
        assert!((e.p_positive() - (1.0 - t / (t * t + 2.0).sqrt()) / 2.0).abs() < 1e-12);
        assert!(mean_over_draws(&[1.0]).is_none());
    }
}
