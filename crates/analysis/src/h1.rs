//! H1, the onset at the peak (docs/SCIENCE.md, Statistics: "H1"): a metric's change of slope found by
//! the change-point test (`onset`) must be placed at the peak's grid cell and confirmed there seed by
//! seed; where it is not, the prediction is contradicted only when the change at the peak is bounded
//! below its smallest change of interest. The epoch-wise onset (`epochs`) uses the same rules over
//! epochs.

use serde::{Deserialize, Serialize};

use crate::curve::SeedCurves;
use crate::outcome::{Outcome, Verdict, fmt_p, prediction};

/// The onset test of one metric (H1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnsetSummary {
    /// Best change point (width) and its 95% likelihood-ratio interval.
    pub width: f64,
    pub lo: f64,
    pub hi: f64,
    /// Slope after minus slope before, per octave (the predicted sign: > 0 for a metric predicted to
    /// grow, < 0 for one predicted to fall).
    pub slope_change: f64,
    /// Where the changed slope returns (a width): growth that starts at the onset and saturates there;
    /// `None`: it keeps the changed slope to the widest width.
    #[serde(default)]
    pub end: Option<f64>,
    pub sup_f: f64,
    pub df_resid: usize,
    /// P-value of sup-F against a straight line (simulated null), and Holm-adjusted across metrics.
    pub p_value: f64,
    pub p_holm: f64,
    /// `p_holm < alpha` and `slope_change` has the predicted sign.
    pub detected: bool,
}

impl OnsetSummary {
    /// "onset at width 32 [24, 48]", and where the fit is a ramp ", saturating by width 64": the
    /// location words every onset verdict uses (`unit`: "width", "epoch").
    pub(crate) fn words(&self, unit: &str) -> String {
        let end = self.end.map_or(String::new(), |e| format!(", saturating by {unit} {e:.0}"));
        format!("onset at {unit} {:.0} [{:.0}, {:.0}]{end}", self.width, self.lo, self.hi)
    }
}
/// The grid cell of the peak in log2 width: half-way to its neighbouring widths (the peak is an argmax
/// on the grid and cannot be placed finer).
pub(crate) fn peak_cell(widths: &[usize], index: usize) -> (f64, f64) {
    let t = |i: usize| (widths[i] as f64).log2();
    let lo = if index > 0 { (t(index - 1) + t(index)) / 2.0 } else { t(index) };
    let hi = if index + 1 < widths.len() { (t(index + 1) + t(index)) / 2.0 } else { t(index) };
    (lo, hi)
}
/// `sign`: +1 where the metric is predicted to grow (an onset accelerates it), -1 where it is predicted to
/// fall (an onset bends it down).
pub(crate) fn onset_summary(test: &crate::onset::OnsetTest, p_holm: f64, alpha: f64, sign: f64) -> OnsetSummary {
    let f = &test.fit;
    OnsetSummary {
        width: f.tau.exp2(),
        lo: f.tau_lo.exp2(),
        hi: f.tau_hi.exp2(),
        slope_change: f.slope_change,
        end: f.tau_end.map(f64::exp2),
        sup_f: f.sup_f,
        df_resid: f.df_resid,
        p_value: test.p_value,
        p_holm,
        detected: p_holm < alpha && sign * f.slope_change > 0.0,
    }
}

/// How far (octaves) beyond the peak's grid cell an onset's interval may reach and still place the onset
/// at the peak (see [`AtPeak::places`]).
pub const PLACED_OCTAVES: f64 = 2.0;

/// What H1 needs beyond the onset test: the change of slope at the peak, replicate by replicate, and the
/// smallest change of interest on the metric's own scale (docs/SCIENCE.md, "Four outcomes").
pub(crate) struct AtPeak {
    pub change: Option<crate::sesoi::SlopeChange>,
    pub sesoi: f64,
    /// The tested values, the peak (log2) and its grid cell, to confirm a detected onset seed by seed.
    growth: SeedCurves,
    peak: f64,
    cell: (f64, f64),
}

impl AtPeak {
    /// `growth`: the tested values; `trained`: the metric's trained curve. Its size (the larger of its
    /// range over the sweep and its value at the widest width) sets the scale: a flat metric still has a
    /// size, so that "no change" can be told from "too noisy to say".
    pub(crate) fn new(growth: &SeedCurves, trained: &SeedCurves, peak_width: usize, cell: (f64, f64)) -> AtPeak {
        let means: Vec<f64> = trained.means().into_iter().filter(|v| v.is_finite()).collect();
        let range = means.iter().copied().fold(f64::NEG_INFINITY, f64::max) - means.iter().copied().fold(f64::INFINITY, f64::min);
        let size = range.max(means.last().map_or(0.0, |v| v.abs()));
        let widest = growth.widths().last().copied().unwrap_or(peak_width);
        let octaves = ((widest as f64) / (peak_width as f64)).log2().max(1.0);
        AtPeak {
            change: crate::sesoi::slope_change_at(growth, (peak_width as f64).log2(), None),
            sesoi: crate::sesoi::ONSET_SIZE_SHARE * size / octaves,
            growth: growth.clone(),
            peak: (peak_width as f64).log2(),
            cell,
        }
    }

    /// The change of slope, seed by seed, at the point of the peak's cell closest to a detected onset:
    /// the prediction places the onset at the peak, which is known only to its grid cell. Choosing the
    /// point from the data cannot raise the false-alarm rate: this test only confirms an onset that the
    /// change-point test (Holm) already found.
    /// A ramp's end (`end`, a width: the growth saturates there) is kept, so that a short rise is
    /// judged by the fit that found it.
    fn confirm(&self, onset_width: f64, end: Option<f64>) -> Option<crate::sesoi::SlopeChange> {
        crate::sesoi::slope_change_at(&self.growth, onset_width.log2().clamp(self.cell.0, self.cell.1), end.map(f64::log2))
    }

    /// Whether an onset's interval places it at the peak: it reaches no further than `PLACED_OCTAVES`
    /// beyond the peak's grid cell on either side. An interval that overlaps the cell but spans, say, 3
    /// to 16 for a peak at 18 (growth that starts at the narrow end and saturates at the peak) cannot
    /// say the growth starts there.
    pub(crate) fn places(&self, onset: &OnsetSummary) -> bool {
        onset.lo.log2() >= self.cell.0 - PLACED_OCTAVES && onset.hi.log2() <= self.cell.1 + PLACED_OCTAVES
    }

    /// The change of slope at the peak, seed by seed, with an onset's own change (found outside the
    /// peak's cell) held in the model (`sesoi::slope_change_beside`); `None` for an onset inside the
    /// cell (the two changes would be one).
    pub(crate) fn beside(&self, onset: &OnsetSummary) -> Option<crate::sesoi::SlopeChange> {
        let t = onset.width.log2();
        if (self.cell.0..=self.cell.1).contains(&t) {
            return None;
        }
        crate::sesoi::slope_change_beside(&self.growth, self.peak, t, onset.end.map(f64::log2))
    }

    /// [`AtPeak::confirm`] with its one-sided p-value in the predicted direction (`sign`).
    pub(crate) fn confirmation(&self, onset_width: f64, end: Option<f64>, sign: f64) -> Option<(crate::sesoi::SlopeChange, f64)> {
        self.confirm(onset_width, end).filter(|c| c.se.is_finite() && c.se > 0.0).map(|c| (c, c.p_growth_starts(sign)))
    }
}

/// The outcome of an onset prediction that is not supported: contradicted when the change of slope at
/// the peak, in the predicted direction, is bounded below the smallest change of interest; inconclusive
/// otherwise, with the power the design had. `at` names the location ("the peak", "the epoch-wise peak").
pub(crate) fn no_onset_outcome(
    at_peak: &AtPeak,
    sign: f64,
    alpha: f64,
    at: &str,
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    change_outcome(at_peak.change, at_peak.sesoi, sign, alpha, at, ("change_at_peak", "change_at_peak_upper", ""), numbers)
}

/// The outcome of an onset detected away from the peak: one change point elsewhere does not exclude a
/// second change at the peak, so it is contradicted only where the change at the peak, with the onset's
/// own change held in each seed's model (`sesoi::slope_change_beside`), is bounded below the smallest
/// change of interest; inconclusive otherwise. (Contradicting on the onset's interval alone made every
/// miss of that interval a false contradiction: 5.2% in calibration scenario (s) at 3 seeds.)
pub(crate) fn away_outcome(
    at_peak: &AtPeak,
    onset: &OnsetSummary,
    sign: f64,
    alpha: f64,
    at: &str,
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    let keys = ("change_beside", "change_beside_upper", ", the onset's own change held in the model");
    change_outcome(at_peak.beside(onset), at_peak.sesoi, sign, alpha, at, keys, numbers)
}

/// See [`no_onset_outcome`]: `keys` names the change and its bound in the numbers, and a phrase for
/// the model.
fn change_outcome(
    change: Option<crate::sesoi::SlopeChange>,
    sesoi: f64,
    sign: f64,
    alpha: f64,
    at: &str,
    keys: (&'static str, &'static str, &str),
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    let Some(c) = change.filter(|c| c.se.is_finite()) else {
        return (
            Outcome::Inconclusive,
            format!("the change of slope at {at} cannot be bounded (2 widths on each side needed){}", keys.2),
        );
    };
    let j = crate::sesoi::not_supported(sign * c.change, c.se, c.df, alpha, sesoi, numbers);
    let units = if c.replicates { format!("over {} seeds", c.units) } else { format!("one curve, {} d.o.f.", c.df) };
    numbers.extend([(keys.0, c.change), (keys.1, sign * j.upper)]);
    let text = format!(
        "at {at} the slope changes by {:.3} per octave ({units}{}; predicted direction bounded by {:.3}, smallest change of interest {:.3})",
        c.change, keys.2, j.upper, sesoi
    );
    let why = match j.outcome {
        Outcome::Contradicted => "no growth in the predicted direction starts there".to_string(),
        _ => format!("neither shown nor excluded (power {:.2} at the smallest change of interest)", j.power),
    };
    (j.outcome, format!("{text}: {why}"))
}

/// What tells the model-wise onset (H1, over widths) from the epoch-wise onset (over epochs): the
/// predictions' names, the keys of the onset's and the peak's location in a verdict's numbers, and the
/// words of its reasons. The rules are the same (docs/SCIENCE.md, "Epoch-wise").
pub(crate) struct OnsetAxis {
    pub pred: &'static str,
    pub family: &'static str,
    /// The keys of the onset's location, its interval's ends, and the peak's location.
    pub onset: &'static str,
    pub onset_lo: &'static str,
    pub onset_hi: &'static str,
    pub peak: &'static str,
    /// "width" or "epoch"; "the peak" or "the epoch-wise peak".
    unit: &'static str,
    the_peak: &'static str,
    /// Why there is nothing to test: no peak, too few values for the change-point test.
    no_peak: &'static str,
    too_few: &'static str,
    /// The family's words over draws ("start moving at the peak over draws").
    pub over_draws: &'static str,
}

impl OnsetAxis {
    pub(crate) const MODEL_WISE: OnsetAxis = OnsetAxis {
        pred: prediction::ONSET,
        family: prediction::ONSET_FAMILY,
        onset: "w_ens",
        onset_lo: "w_ens_lo",
        onset_hi: "w_ens_hi",
        peak: "w_peak",
        unit: "width",
        the_peak: "the peak",
        no_peak: "no double descent detected: no peak to coincide with",
        too_few: "too few values for a change-point test (5 widths and 6 values needed)",
        over_draws: "start moving at the peak over draws",
    };
    pub(crate) const EPOCH_WISE: OnsetAxis = OnsetAxis {
        pred: prediction::EPOCH_ONSET,
        family: prediction::EPOCH_ONSET_FAMILY,
        onset: "epoch_ens",
        onset_lo: "epoch_ens_lo",
        onset_hi: "epoch_ens_hi",
        peak: "epoch_peak",
        unit: "epoch",
        the_peak: "the epoch-wise peak",
        no_peak: "no epoch-wise peak at this width",
        too_few: "too few snapshots for a change-point test (5 epoch bins and 6 values needed)",
        over_draws: "start moving at the epoch-wise peak over draws",
    };
}

/// The onset verdict of one metric, over widths (H1) or over epochs at one width (`axis`): `peak` is
/// the detected peak's location (a width or an epoch) with what the verdict needs there, `None` where
/// no peak was detected; `coincides`: the onset's interval overlaps the peak's cell. `label` names the
/// verdict ("N_eff", "N_eff at width 64").
pub(crate) fn onset_verdict(
    axis: &OnsetAxis,
    metric: &str,
    label: &str,
    onset: Option<&OnsetSummary>,
    coincides: Option<bool>,
    peak: Option<(usize, &AtPeak)>,
    alpha: f64,
) -> Verdict {
    let (pred, name) = (axis.pred, label);
    let Some((pk, at_peak)) = peak else {
        return Verdict::new(pred, Some(name), Outcome::NotTestable, axis.no_peak.into(), &[]);
    };
    let Some(o) = onset else {
        return Verdict::new(pred, Some(name), Outcome::NotTestable, axis.too_few.into(), &[]);
    };
    let sign = crate::sesoi::predicted_sign(metric);
    let mut numbers = vec![
        (axis.onset, o.width),
        (axis.onset_lo, o.lo),
        (axis.onset_hi, o.hi),
        (axis.peak, pk as f64),
        ("slope_change", o.slope_change),
        ("sup_f", o.sup_f),
        ("p_value", o.p_value),
        ("p_holm", o.p_holm),
    ];
    let direction = crate::sesoi::direction_words(metric);
    let (unit, the_peak) = (axis.unit, axis.the_peak);
    let at = format!("{} (Holm p = {})", o.words(unit), fmt_p(o.p_holm));
    // The change of slope at the peak itself, replicate by replicate: an onset found by the stacked
    // change-point test must also show, seed by seed, at the peak (its interval can span many octaves).
    let at_peak_test = at_peak.confirmation(o.width, o.end, sign);
    if let Some((c, p)) = at_peak_test {
        numbers.extend([("confirm_change", c.change), ("confirm_p", p), ("confirm_slope_after", c.slope_after)]);
    }
    // The change at the peak's own location, whatever the outcome: the per-draw summary compares it;
    // and, for an onset fitted outside the peak's cell, the change at the peak beside it (the
    // over-draws verdict bounds it where the onsets lie away).
    if let Some(c) = at_peak.change {
        numbers.push(("change_at_peak", c.change));
    }
    if let Some(c) = at_peak.beside(o) {
        numbers.push(("change_beside", c.change));
    }
    numbers.push(("sesoi_change", at_peak.sesoi));
    let located = format!("{the_peak} ({pk})");
    if o.detected {
        return if coincides == Some(true) && !at_peak.places(o) {
            Verdict::new(
                pred,
                Some(name),
                Outcome::Inconclusive,
                format!(
                    "{at} overlaps {the_peak}'s cell at {pk} but reaches more than {PLACED_OCTAVES} octave beyond it: the data cannot place the onset at the peak"
                ),
                &numbers,
            )
        } else if coincides == Some(true) {
            match at_peak_test {
                Some((c, p)) if p < alpha => Verdict::new(
                    pred,
                    Some(name),
                    Outcome::Supported,
                    format!(
                        "{at} covers {the_peak} at {pk}, and there the slope changes by {:.3} per octave in the predicted direction to {:.3} ({}, one-sided p = {}, the larger of the change's and the slope after's)",
                        c.change,
                        c.slope_after,
                        if c.replicates { format!("over {} seeds", c.units) } else { "one curve".to_string() },
                        fmt_p(p)
                    ),
                    &numbers,
                ),
                _ => Verdict::new(
                    pred,
                    Some(name),
                    Outcome::Inconclusive,
                    format!(
                        "{at} covers {the_peak} at {pk}, but seed by seed the metric does not significantly start moving in its predicted direction there (the change of slope and the slope after it must both be){}",
                        at_peak_test.map_or(" (it cannot be fitted)".to_string(), |(c, p)| format!(
                            " (change {:.3} per octave, slope after {:.3}, one-sided p = {})",
                            c.change,
                            c.slope_after,
                            fmt_p(p)
                        ))
                    ),
                    &numbers,
                ),
            }
        } else {
            // One change point elsewhere does not exclude a second at the peak (`away_outcome`).
            let (outcome, why) = away_outcome(at_peak, o, sign, alpha, &located, &mut numbers);
            Verdict::new(pred, Some(name), outcome, format!("{at} lies away from {the_peak} at {pk}; {why}"), &numbers)
        };
    }
    // The fit is one-sided: with Holm p < alpha an onset in the predicted direction is detected.
    let first = format!(
        "no onset: no change of slope in the predicted direction (the metric {direction}) is significant against a straight line (Holm p = {})",
        fmt_p(o.p_holm)
    );
    let (outcome, why) = no_onset_outcome(at_peak, sign, alpha, &located, &mut numbers);
    Verdict::new(pred, Some(name), outcome, format!("{first}; {why}"), &numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_onset_interval_places_the_onset_only_within_two_octaves_of_the_peak_cell() {
        // Widths 10, 18, 32: the cell of a peak at 18 is [log2 sqrt(180), log2 sqrt(576)] = [3.75, 4.58].
        let at_peak = AtPeak {
            change: None,
            sesoi: 0.0,
            growth: SeedCurves::default(),
            peak: 18f64.log2(),
            cell: peak_cell(&[10, 18, 32], 1),
        };
        let onset = |lo: f64, hi: f64| OnsetSummary {
            width: lo,
            lo,
            hi,
            slope_change: 1.0,
            end: None,
            sup_f: 10.0,
            df_resid: 10,
            p_value: 0.001,
            p_holm: 0.001,
            detected: true,
        };
        // Growth from 3 that saturates at the peak: its interval [3, 16] overlaps the cell but reaches
        // 2.2 octaves below it (log2 3 = 1.58).
        assert!(!at_peak.places(&onset(3.0, 16.0)));
        assert!(at_peak.places(&onset(4.0, 40.0)), "2 octaves below the cell is 3.36, above 6.58");
        assert!(!at_peak.places(&onset(12.0, 100.0)), "log2 100 = 6.64 is past 6.58");
    }
}
