//! The epoch-wise view (docs/SCIENCE.md, Statistics: "Epoch-wise"): at each
//! width with enough evaluation epochs, the test error against log epochs with the same calibrated
//! peak test as over widths, and the onset question over training time: does a metric's change of
//! slope over epochs (against its value at initialisation) lie at the epoch-wise peak?
//!
//! Epochs are binned into quarter octaves (each seed's values averaged within a bin) so that the
//! tests see a grid even in log epochs: a run evaluated every epoch would otherwise put most of its
//! points in the last octave, and the peak test's selection correction grows with the points.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::curve::{CurvePoint, SeedCurves, aggregate};
use crate::h1::{AtPeak, OnsetAxis, OnsetSummary, onset_summary, onset_verdict, peak_cell};
use crate::input::{ConditionInput, EpochFigures};
use crate::onset::onset_test;
use crate::outcome::{Options, Outcome, Verdict, family_verdict, fmt_p, prediction};
use crate::peak::{PeakTest, peak_test};
use crate::stats::holm;

/// Bins per octave of epochs.
pub const EPOCH_BINS_PER_OCTAVE: f64 = 4.0;
/// A width is analysed over epochs when it has at least this many evaluation epochs (epoch >= 1).
const MIN_EPOCHS: usize = 3;

/// One verdict metric over epochs at one width.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetric {
    pub metric: String,
    pub width: usize,
    /// Snapshot values against epoch (the `width` field of each point holds the epoch bin's centre).
    pub values: Vec<CurvePoint>,
    /// Value minus the same seed's value at epoch 0 (or the values themselves, see `tested_values`).
    pub growth: Vec<CurvePoint>,
    pub undefined: usize,
    pub unpaired: usize,
    /// No value at epoch 0: the tests use the values themselves.
    pub tested_values: bool,
    /// Change point over log2 epochs, in epochs; Holm across the (width, metric) pairs tested.
    pub onset: Option<OnsetSummary>,
    pub coincides: Option<bool>,
    pub verdict: Verdict,
}

/// One width over epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochWidth {
    pub width: usize,
    /// Distinct evaluation epochs (>= 1), and the quarter-octave bins they fill.
    pub epochs: usize,
    pub bins: usize,
    pub seeds: usize,
    /// Curves against epoch: the `width` field of each point holds the epoch (the geometric centre of its quarter-octave bin).
    pub test_err: Vec<CurvePoint>,
    pub train_err: Vec<CurvePoint>,
    pub test_loss: Vec<CurvePoint>,
    /// The peak test on the epoch axis (`peak.width` is an epoch), and its p-value Holm-adjusted
    /// across the widths tested.
    pub peak: PeakTest,
    pub p_holm: Option<f64>,
    pub detected: bool,
    /// The largest height above both sides the data allow at any epoch bin (see `sesoi::peak_bound`).
    #[serde(default)]
    pub height_allowed: Option<f64>,
    pub metrics: Vec<EpochMetric>,
}

/// The epoch-wise view of one condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochWise {
    pub rows_used: usize,
    /// Rows with a non-finite figure, and rows of runs that diverged: left out.
    pub skipped_nonfinite: usize,
    pub from_diverged_runs: usize,
    /// Widths with at least 3 evaluation epochs.
    pub widths: Vec<EpochWidth>,
    /// Widths left out, with the reason.
    pub untested_widths: Vec<(usize, String)>,
    /// The widths drawn (closest to the peak, to the interpolation threshold, and the widest) and
    /// the metrics drawn beside the test error.
    pub figure_widths: Vec<usize>,
    pub figure_metrics: Vec<String>,
    pub peak_verdict: Verdict,
    pub onset_verdict: Verdict,
}

/// Quarter-octave bins centred on 2^(b/4) (so that epochs 1, 2, 4, ... sit at their bins' centres).
fn bin(epoch: usize) -> i64 {
    (EPOCH_BINS_PER_OCTAVE * (epoch as f64).log2()).round() as i64
}

/// Per seed, the mean of its values in each quarter-octave bin of epochs >= 1, keyed by the geometric
/// mean of the distinct epochs in the bin (rounded; distinct bins hold disjoint epoch ranges, so the
/// keys stay distinct and ordered).
fn binned(rows: impl Iterator<Item = (usize, u64, f64)>) -> SeedCurves {
    // Per bin: its distinct epochs, and per seed the sum and count of its values.
    type Bin = (BTreeSet<usize>, BTreeMap<u64, (f64, usize)>);
    let mut acc: BTreeMap<i64, Bin> = BTreeMap::new();
    for (epoch, seed, v) in rows {
        if epoch == 0 || !v.is_finite() {
            continue;
        }
        let e = acc.entry(bin(epoch)).or_default();
        e.0.insert(epoch);
        let s = e.1.entry(seed).or_default();
        s.0 += v;
        s.1 += 1;
    }
    let mut out = SeedCurves::default();
    for (epochs, seeds) in acc.values() {
        let centre = (epochs.iter().map(|e| (*e as f64).log2()).sum::<f64>() / epochs.len() as f64).exp2().round() as usize;
        for (seed, (sum, n)) in seeds {
            out.insert(centre, Some(*seed), sum / *n as f64);
        }
    }
    out
}

/// The epoch-wise analysis of one condition.
pub(crate) fn epoch_wise(
    input: &ConditionInput,
    diverged: &BTreeSet<(usize, u64)>,
    names: &[&str],
    peak_width: Option<usize>,
    w_interp: Option<usize>,
    opts: &Options,
) -> EpochWise {
    let mut out = EpochWise::default();
    let mut rows: BTreeMap<usize, Vec<&EpochFigures>> = BTreeMap::new();
    for r in &input.epochs {
        if diverged.contains(&(r.width, r.seed)) {
            out.from_diverged_runs += 1;
        } else if ![r.train_err, r.test_err, r.test_loss].iter().all(|v| v.is_finite()) {
            out.skipped_nonfinite += 1;
        } else {
            out.rows_used += 1;
            rows.entry(r.width).or_default().push(r);
        }
    }
    for (&w, rs) in &rows {
        let epochs: BTreeSet<usize> = rs.iter().map(|r| r.epoch).filter(|e| *e >= 1).collect();
        if epochs.len() < MIN_EPOCHS {
            out.untested_widths.push((w, format!("{} evaluation epoch(s) after epoch 0 ({MIN_EPOCHS} needed)", epochs.len())));
            continue;
        }
        let test_err = binned(rs.iter().map(|r| (r.epoch, r.seed, r.test_err)));
        let peak = peak_test(&test_err.widths(), &test_err.per_width(), opts.null_draws, opts.alpha);
        let bound = crate::sesoi::peak_bound(&test_err.widths(), &test_err.per_width(), crate::sesoi::PEAK_ERROR, opts.alpha);
        out.widths.push(EpochWidth {
            height_allowed: bound.map(|b| b.allowed),
            width: w,
            epochs: epochs.len(),
            bins: test_err.0.len(),
            seeds: test_err.max_seeds(),
            train_err: aggregate(&binned(rs.iter().map(|r| (r.epoch, r.seed, r.train_err)))),
            test_loss: aggregate(&binned(rs.iter().map(|r| (r.epoch, r.seed, r.test_loss)))),
            test_err: aggregate(&test_err),
            peak,
            p_holm: None,
            detected: false,
            metrics: Vec::new(),
        });
    }
    let adjusted = holm(&out.widths.iter().map(|w| w.peak.p_value.unwrap_or(f64::NAN)).collect::<Vec<_>>());
    for (w, p) in out.widths.iter_mut().zip(&adjusted) {
        w.p_holm = p.is_finite().then_some(*p);
        w.detected = p.is_finite() && *p < opts.alpha && w.peak.peak.is_some();
    }
    out.peak_verdict = epoch_peak_verdict(&out, input.epochs.is_empty());

    // Metrics over epochs, at every analysed width.
    let mut tests = Vec::new(); // (width index, metric index, onset test)
    let mut at_peaks: BTreeMap<(usize, usize), AtPeak> = BTreeMap::new();
    for (wi, ew) in out.widths.iter_mut().enumerate() {
        for name in names {
            let Some(values) = input.snapshots.get(*name) else { continue };
            let mut undefined = 0;
            let mut raw: Vec<(usize, u64, f64)> = Vec::new();
            for v in values.iter().filter(|v| v.width == ew.width && !diverged.contains(&(v.width, v.seed))) {
                match v.value.filter(|x| x.is_finite()) {
                    Some(x) => raw.push((v.epoch, v.seed, x)),
                    None => undefined += 1,
                }
            }
            if raw.is_empty() && undefined == 0 {
                continue;
            }
            let init: BTreeMap<u64, f64> = raw.iter().filter(|r| r.0 == 0).map(|r| (r.1, r.2)).collect();
            let tested_values = init.is_empty();
            let mut unpaired = 0;
            let growth_rows: Vec<(usize, u64, f64)> = raw
                .iter()
                .filter(|r| r.0 >= 1)
                .filter_map(|&(e, s, x)| {
                    if tested_values {
                        return Some((e, s, x));
                    }
                    let i = init.get(&s);
                    if i.is_none() {
                        unpaired += 1;
                    }
                    i.map(|i| (e, s, x - i))
                })
                .collect();
            let growth = binned(growth_rows.into_iter());
            let (t, y) = growth.stacked_log2();
            if let Some(test) =
                onset_test(&t, &y, crate::sesoi::predicted_sign(name), opts.null_draws, opts.alpha).filter(|_| ew.detected)
            {
                tests.push((wi, ew.metrics.len(), test));
            }
            if let Some(pk) = ew.peak.peak.as_ref().filter(|_| ew.detected) {
                let cell = peak_cell(&ew.test_err.iter().map(|c| c.width).collect::<Vec<_>>(), pk.index);
                at_peaks.insert((wi, ew.metrics.len()), AtPeak::new(&growth, &binned(raw.iter().copied()), pk.width, cell));
            }
            ew.metrics.push(EpochMetric {
                metric: name.to_string(),
                width: ew.width,
                values: aggregate(&binned(raw.iter().copied())),
                growth: aggregate(&growth),
                undefined,
                unpaired,
                tested_values,
                onset: None,
                coincides: None,
                verdict: Verdict::default(),
            });
        }
    }
    let adjusted = holm(&tests.iter().map(|t| t.2.p_value).collect::<Vec<_>>());
    for ((wi, mi, test), p_holm) in tests.iter().zip(adjusted) {
        let ew = &mut out.widths[*wi];
        let o = onset_summary(test, p_holm, opts.alpha, crate::sesoi::predicted_sign(&ew.metrics[*mi].metric));
        let cell = ew.peak.peak.as_ref().map(|p| peak_cell(&ew.test_err.iter().map(|c| c.width).collect::<Vec<_>>(), p.index));
        let m = &mut ew.metrics[*mi];
        m.coincides = match cell {
            Some((lo, hi)) if o.detected => Some(o.lo.log2() <= hi && lo <= o.hi.log2()),
            _ => None,
        };
        m.onset = Some(o);
    }
    for (wi, ew) in out.widths.iter_mut().enumerate() {
        let peak_epoch = ew.peak.peak.as_ref().filter(|_| ew.detected).map(|p| p.width);
        for (mi, m) in ew.metrics.iter_mut().enumerate() {
            let label = format!("{} at width {}", m.metric, m.width);
            let peak = peak_epoch.zip(at_peaks.get(&(wi, mi)));
            m.verdict = onset_verdict(&OnsetAxis::EPOCH_WISE, &m.metric, &label, m.onset.as_ref(), m.coincides, peak, opts.alpha);
        }
    }
    let members: Vec<&Verdict> = out.widths.iter().flat_map(|w| w.metrics.iter().map(|m| &m.verdict)).collect();
    out.onset_verdict = if members.is_empty() {
        let reason = if input.snapshots.is_empty() {
            "no probe snapshots during training".to_string()
        } else if out.widths.is_empty() {
            "no width with enough evaluation epochs".to_string()
        } else {
            "no verdict metric has snapshots at the widths analysed over epochs".to_string()
        };
        Verdict::new(prediction::EPOCH_ONSET_FAMILY, None, Outcome::NotTestable, reason, &[])
    } else {
        let tested = members.iter().any(|v| v.outcome != Outcome::NotTestable);
        let mut v = family_verdict(prediction::EPOCH_ONSET_FAMILY, &members, "start growing at the epoch-wise peak");
        if !tested && !out.widths.iter().any(|w| w.detected) {
            v.reason = "no epoch-wise peak detected at any width: no peak to coincide with".into();
        }
        v
    };
    choose_figure(&mut out, names, peak_width, w_interp);
    out
}

fn epoch_peak_verdict(out: &EpochWise, no_rows: bool) -> Verdict {
    let pred = prediction::EPOCH_PEAK;
    let tested: Vec<&EpochWidth> = out.widths.iter().filter(|w| w.p_holm.is_some()).collect();
    if tested.is_empty() {
        let reason = if no_rows {
            "no per-epoch figures (metrics.csv rows) for this condition".to_string()
        } else if out.widths.is_empty() {
            let why: Vec<String> = out.untested_widths.iter().map(|(w, r)| format!("width {w}: {r}")).collect();
            format!(
                "no width has {MIN_EPOCHS} evaluation epochs ({})",
                if why.is_empty() { "no usable rows".into() } else { why.join("; ") }
            )
        } else {
            "one seed per epoch at every width (or fewer than 3 epoch bins): no seed-to-seed variance to judge a peak".into()
        };
        return Verdict::new(pred, None, Outcome::NotTestable, reason, &[]);
    }
    let found: Vec<String> = tested
        .iter()
        .filter(|w| w.detected)
        .map(|w| {
            let p = w.peak.peak.as_ref().unwrap();
            format!("width {} at epoch {} (Holm p = {})", w.width, p.width, fmt_p(w.p_holm.unwrap()))
        })
        .collect();
    let numbers = [("widths_tested", tested.len() as f64), ("widths_with_peak", found.len() as f64)];
    if found.is_empty() {
        let best = tested.iter().filter_map(|w| w.p_holm).fold(f64::INFINITY, f64::min);
        let none = format!(
            "none of {} widths shows an epoch-wise peak of the test error (smallest Holm p = {})",
            tested.len(),
            fmt_p(best)
        );
        // Contradicted only when at every width no epoch bin can stand the smallest height of interest
        // above both sides.
        let allowed: Vec<f64> = tested.iter().map(|w| w.height_allowed.unwrap_or(f64::INFINITY)).collect();
        let largest = allowed.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sesoi = crate::sesoi::PEAK_ERROR;
        let mut numbers = numbers.to_vec();
        numbers.extend([("sesoi", sesoi), ("height_allowed", largest)]);
        if largest < sesoi {
            Verdict::new(
                pred,
                None,
                Outcome::Contradicted,
                format!("{none}; at every width the data exclude a peak of {sesoi} (the tallest allowed: {largest:.4})"),
                &numbers,
            )
        } else {
            Verdict::new(
                pred,
                None,
                Outcome::Inconclusive,
                format!("{none}; a peak of {sesoi} is not excluded at every width (up to {largest:.4})"),
                &numbers,
            )
        }
    } else {
        Verdict::new(
            pred,
            None,
            Outcome::Supported,
            format!("{} of {} widths peak over epochs: {}", found.len(), tested.len(), found.join(", ")),
            &numbers,
        )
    }
}

/// The widths to draw: closest (in log2) to the model-wise peak, to the interpolation threshold, and
/// the widest; and one or two metrics (those with a detected onset first).
fn choose_figure(out: &mut EpochWise, names: &[&str], peak_width: Option<usize>, w_interp: Option<usize>) {
    let widths: Vec<usize> = out.widths.iter().map(|w| w.width).collect();
    let closest = |target: usize| {
        widths.iter().copied().min_by(|a, b| {
            let d = |w: usize| ((w as f64).log2() - (target as f64).log2()).abs();
            d(*a).total_cmp(&d(*b))
        })
    };
    let mut chosen: Vec<usize> =
        [peak_width.and_then(closest), w_interp.and_then(closest), widths.last().copied(), widths.first().copied()]
            .into_iter()
            .flatten()
            .collect();
    chosen.sort_unstable();
    chosen.dedup();
    chosen.truncate(4);
    out.figure_widths = chosen;
    let mut metrics: Vec<String> = Vec::new();
    let with_onset = |n: &str| {
        out.widths.iter().any(|w| w.metrics.iter().any(|m| m.metric == n && m.onset.as_ref().is_some_and(|o| o.detected)))
    };
    let present = |n: &str| out.widths.iter().any(|w| w.metrics.iter().any(|m| m.metric == n && !m.values.is_empty()));
    for n in names.iter().filter(|n| with_onset(n)).chain(names.iter().filter(|n| present(n))) {
        if metrics.len() < 2 && !metrics.iter().any(|m| m == n) {
            metrics.push(n.to_string());
        }
    }
    out.figure_metrics = metrics;
}
