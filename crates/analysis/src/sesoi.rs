//! The smallest effects of interest and the tests that can contradict a prediction
//! (docs/SCIENCE.md, Statistics: "Four outcomes, and the smallest effect that matters").
//!
//! "Not significant" is not "contradicted": a prediction is contradicted only when the data exclude every
//! effect at least as large as its smallest effect of interest (SESOI), in the predicted direction.
//! Otherwise the honest word is "inconclusive", said with the power the design had at the SESOI.

use crate::curve::SeedCurves;
use crate::stats::{mean, se, t_quantile, t_upper_tail};

/// Double descent (and the epoch-wise peak, and the height averaging must remove in H5): one point of
/// test error.
pub const PEAK_ERROR: f64 = 0.01;
/// The same on the log of a regression risk: a risk 10% higher (ln 1.1).
pub const PEAK_LOG_RISK: f64 = 0.095_310_179_804_324_87;
/// H1: a change of slope at the peak that, kept up to the widest width, adds this share of the metric's
/// own size (the larger of its range over the sweep and its value at the widest width).
pub const ONSET_SIZE_SHARE: f64 = 0.1;
/// Past-peak relation and H3: test error per standard deviation of the metric's growth (half a point).
pub const ERROR_PER_SD: f64 = 0.005;
/// H4: half the slowest decay of the seed variance either account predicts (W^-1/2 at depth 1).
pub const AVERAGING_ALPHA: f64 = 0.25;
/// H2: an onset that moves less than half as far as the peak does not move with it.
pub const COMOVEMENT_SLOPE: f64 = 0.5;

/// The direction in which the hypothesis predicts a metric to move with the internal ensemble's growth
/// (docs/SCIENCE.md, the table of predicted directions). The seeds' variance falls: averaging internal
/// members lowers it (H4); every other verdict metric grows.
pub fn predicted_sign(metric: &str) -> f64 {
    use ddlab_config::metrics::{VARIANCE_KL, VARIANCE_SQ};
    if metric == VARIANCE_KL.as_str() || metric == VARIANCE_SQ.as_str() { -1.0 } else { 1.0 }
}

/// A metric measured across the seeds of one width (the seeds' variance, CKA between seeds), not inside
/// one network. The variance account of the second descent predicts the same change in it at the peak
/// (the seeds' variance falls, their representations converge), so it cannot support the internal
/// ensemble over that rival: its H1 verdict is reported but not counted in H1's family.
pub fn seed_level(metric: &str) -> bool {
    use ddlab_config::metrics::{CKA_SEEDS, VARIANCE_KL, VARIANCE_SQ};
    [VARIANCE_KL, VARIANCE_SQ, CKA_SEEDS].iter().any(|m| m.as_str() == metric)
}

/// Words for the predicted direction.
pub fn direction_words(metric: &str) -> &'static str {
    if predicted_sign(metric) > 0.0 { "grows" } else { "falls" }
}

/// Power of a one-sided test at level `alpha` of an effect `sesoi` measured with standard error `se`
/// on `df` degrees of freedom: P(T_df > t(1 - alpha; df) - sesoi / se), the shifted-t approximation of
/// the non-central t. NaN when it cannot be computed.
pub fn power(sesoi: f64, se: f64, df: f64, alpha: f64) -> f64 {
    if !(se > 0.0 && df > 0.0 && sesoi.is_finite()) {
        return f64::NAN;
    }
    t_upper_tail(t_quantile(1.0 - alpha, df) - sesoi / se, df)
}

/// Power of two one-sided tests (equivalence within +-margin) when the true difference is 0.
pub fn equivalence_power(margin: f64, se: f64, df: f64, alpha: f64) -> f64 {
    if !(se > 0.0 && df > 0.0) {
        return f64::NAN;
    }
    (1.0 - 2.0 * t_upper_tail(margin / se - t_quantile(1.0 - alpha, df), df)).max(0.0)
}

/// A prediction that is not supported, judged by its effect's bound: contradicted when every effect of at
/// least `sesoi` (in the predicted direction) is excluded, inconclusive otherwise, with the power the
/// design had at `sesoi`. The SESOI and the power go into `numbers`.
pub(crate) struct NotSupported {
    pub outcome: crate::outcome::Outcome,
    /// One-sided (1 - alpha) upper bound of the effect in the predicted direction.
    pub upper: f64,
    /// Power at `sesoi` (NaN where contradicted: not needed).
    pub power: f64,
}

pub(crate) fn not_supported(
    effect: f64,
    se: f64,
    df: f64,
    alpha: f64,
    sesoi: f64,
    numbers: &mut Vec<(&str, f64)>,
) -> NotSupported {
    use crate::outcome::Outcome;
    // `effect` is signed so that the prediction says it is positive; `upper` its one-sided bound.
    let upper = effect + t_quantile(1.0 - alpha, df) * se;
    numbers.push(("sesoi", sesoi));
    if upper < sesoi {
        NotSupported { outcome: Outcome::Contradicted, upper, power: f64::NAN }
    } else {
        let power = power(sesoi, se, df, alpha);
        numbers.push(("power", power));
        NotSupported { outcome: Outcome::Inconclusive, upper, power }
    }
}

/// Does any interior width stand at least `sesoi` above the best width on each side? The test that can
/// contradict "double descent": a width's height above its best left width is max_j (m_i - m_j) over
/// the widths j on its left; it is bounded by the largest of the one-sided upper bounds of m_i - m_j
/// (pooled two-sample t), and likewise on the right; the width's height is the smaller side. Every
/// interior width must be bounded below `sesoi`. If the true curve has a peak of at least `sesoi` at i*,
/// with true best sides j_L and j_R, the procedure errs only when the bound of i* - j_L or of i* - j_R
/// falls below its truth: two fixed comparisons, so each bound is taken at level alpha / 2
/// (Bonferroni), whatever i*, j_L and j_R are.
/// Returns `None` when there are fewer than 3 widths or no seed-to-seed variance; otherwise the largest
/// height the data still allow at any interior width (`excluded` when it is below `sesoi`) and the width.
pub fn peak_bound(widths: &[usize], per_width: &[Vec<f64>], sesoi: f64, alpha: f64) -> Option<PeakBound> {
    let n = widths.len();
    if n < 3 || per_width.iter().all(|v| v.len() < 2) {
        return None;
    }
    let level = alpha / 2.0;
    let pair_upper = |i: usize, j: usize| -> f64 {
        let (a, b) = (&per_width[i], &per_width[j]);
        let (na, nb) = (a.len(), b.len());
        if na == 0 || nb == 0 || na + nb < 3 {
            return f64::INFINITY;
        }
        let (ma, mb) = (mean(a), mean(b));
        let ss: f64 = a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() + b.iter().map(|x| (x - mb).powi(2)).sum::<f64>();
        let df = (na + nb - 2) as f64;
        let se = (ss / df * (1.0 / na as f64 + 1.0 / nb as f64)).sqrt();
        ma - mb + t_quantile(1.0 - level, df) * se
    };
    let (allowed, at) = (1..n - 1)
        .map(|i| {
            let left = (0..i).map(|j| pair_upper(i, j)).fold(f64::NEG_INFINITY, f64::max);
            let right = (i + 1..n).map(|j| pair_upper(i, j)).fold(f64::NEG_INFINITY, f64::max);
            (left.min(right), widths[i])
        })
        .fold((f64::NEG_INFINITY, widths[1]), |best, x| if x.0 > best.0 { x } else { best });
    Some(PeakBound { allowed, width: at, excluded: allowed < sesoi, sesoi })
}

/// See [`peak_bound`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakBound {
    /// The largest height above both sides that the data do not exclude, over interior widths.
    pub allowed: f64,
    /// Where it is.
    pub width: usize,
    /// `allowed < sesoi`: no peak of the smallest height of interest anywhere.
    pub excluded: bool,
    pub sesoi: f64,
}

/// The change of slope of a curve at a fixed change point `tau` (log2 width), replicate by replicate:
/// each seed's curve is fitted by y = a + b t + c max(0, t - tau) and its c taken (with `end`, the
/// ramp max(0, t - tau) - max(0, t - end): the changed slope returns at `end`, growth that saturates,
/// as the onset test fits it); the seeds are the
/// units (mean, standard error, S - 1 degrees of freedom). A figure with one value per width (seed
/// ensemble) has one curve: its c with the fit's own standard error on (widths - 3) degrees of freedom,
/// and `replicates` is false. `None` where no curve has two widths on each side of tau and 4 in all.
pub fn slope_change_at(curves: &SeedCurves, tau: f64, end: Option<f64>) -> Option<SlopeChange> {
    slope_change_with(curves, tau, end, None)
}

/// [`slope_change_at`] at a hinge fixed at `tau`, with the change found elsewhere (a hinge at `other`,
/// or a ramp from `other` to its end) held in each seed's model: y = a + b t + c1 max(0, t - tau) +
/// c2 g(t). A change point model has one change; an onset found away from the peak does not by itself
/// exclude a second change at the peak, and a hinge at the peak alone would absorb the other change
/// (growth four octaves later makes the slope "after the peak" positive). c1 is the change at the peak
/// over and above it. The slope after tau is not defined with two changes (NaN).
pub fn slope_change_beside(curves: &SeedCurves, tau: f64, other: f64, other_end: Option<f64>) -> Option<SlopeChange> {
    slope_change_with(curves, tau, None, Some((other, other_end)))
}

fn slope_change_with(curves: &SeedCurves, tau: f64, end: Option<f64>, other: Option<(f64, Option<f64>)>) -> Option<SlopeChange> {
    let mut by_seed: std::collections::BTreeMap<Option<u64>, Vec<(f64, f64)>> = Default::default();
    for (w, seeds) in &curves.0 {
        for (s, v) in seeds {
            by_seed.entry(*s).or_default().push(((*w as f64).log2(), *v));
        }
    }
    let fits: Vec<HingeAt> = by_seed.values().filter_map(|points| hinge_at(points, tau, end, other)).collect();
    let replicates = by_seed.keys().any(Option::is_some);
    if replicates {
        let cs: Vec<f64> = fits.iter().map(|f| f.change).collect();
        let after: Vec<f64> = fits.iter().map(|f| f.slope_after).collect();
        if cs.len() < 2 {
            return None;
        }
        Some(SlopeChange {
            change: mean(&cs),
            se: se(&cs),
            df: (cs.len() - 1) as f64,
            units: cs.len(),
            replicates,
            slope_after: mean(&after),
            slope_after_se: se(&after),
        })
    } else {
        let f = fits.first()?;
        (f.df >= 1.0).then_some(SlopeChange {
            change: f.change,
            se: f.se,
            df: f.df,
            units: 1,
            replicates,
            slope_after: f.slope_after,
            slope_after_se: f64::NAN,
        })
    }
}

/// See [`slope_change_at`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlopeChange {
    /// Slope after tau minus slope before, per octave (mean over replicates).
    pub change: f64,
    pub se: f64,
    pub df: f64,
    /// Replicate curves fitted (1 for a seed-ensemble figure).
    pub units: usize,
    pub replicates: bool,
    /// The slope after tau (before the ramp's end), per octave: the metric must actually move in its
    /// predicted direction there, not merely slow a move the other way (mean over replicates, its
    /// standard error over them; NaN for one curve).
    pub slope_after: f64,
    pub slope_after_se: f64,
}

impl SlopeChange {
    /// One-sided p-value that the growth starts at tau in the predicted direction `sign`: the larger of
    /// the change of slope's and the slope after's (an intersection-union test, each at alpha). For one
    /// curve the slope after has no standard error and only its sign is asked.
    pub fn p_growth_starts(&self, sign: f64) -> f64 {
        let p_change = t_upper_tail(sign * self.change / self.se, self.df);
        let p_after = if self.slope_after_se.is_finite() && self.slope_after_se > 0.0 {
            t_upper_tail(sign * self.slope_after / self.slope_after_se, self.df)
        } else if sign * self.slope_after > 0.0 {
            0.0
        } else {
            1.0
        };
        p_change.max(p_after)
    }
}

/// One replicate's fixed-hinge fit.
struct HingeAt {
    change: f64,
    se: f64,
    df: f64,
    slope_after: f64,
}

/// Least squares of y on [1, t, max(0, t - tau) - max(0, t - end)] (no second term without `end`),
/// with `other`'s change column as one more regressor where given (see [`slope_change_beside`]):
/// (c, its standard error, residual d.o.f.). `None` without two points on each side of tau and four
/// in all, or where the columns are collinear.
fn hinge_at(points: &[(f64, f64)], tau: f64, end: Option<f64>, other: Option<(f64, Option<f64>)>) -> Option<HingeAt> {
    let after = points.iter().filter(|p| p.0 > tau).count();
    let before = points.len() - after;
    if after < 2 || before < 2 {
        return None;
    }
    let t: Vec<f64> = points.iter().map(|p| p.0).collect();
    let y: Vec<f64> = points.iter().map(|p| p.1).collect();
    let change_column = |tau: f64, end: Option<f64>| -> Vec<f64> {
        let end = end.filter(|e| *e > tau).unwrap_or(f64::INFINITY);
        t.iter().map(|x| (x - tau).max(0.0) - (x - end).max(0.0)).collect()
    };
    let h = change_column(tau, end);
    // The hinge column with the line [1, t] projected out, and the line's residuals of y (as the onset
    // test's design does for every candidate tau); with another change, it is projected out of both
    // too (Frisch-Waugh).
    let (mut r, _) = crate::onset::Design::line_residuals(&t, &h);
    let (mut e, _) = crate::onset::Design::line_residuals(&t, &y);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut regressors = 3.0;
    if let Some((o, o_end)) = other {
        let (g, g_norm) = crate::onset::Design::line_residuals(&t, &change_column(o, o_end));
        if g_norm <= 1e-12 {
            return None;
        }
        let (kr, ke) = (dot(&r, &g) / g_norm, dot(&e, &g) / g_norm);
        r.iter_mut().zip(&g).for_each(|(v, gi)| *v -= kr * gi);
        e.iter_mut().zip(&g).for_each(|(v, gi)| *v -= ke * gi);
        regressors = 4.0;
    }
    let norm = dot(&r, &r);
    let n = points.len() as f64;
    // With another change held, a column nearly explained by it (the two changes a cell apart) is
    // collinear in effect.
    if norm <= 1e-12 || (other.is_some() && norm <= 1e-9 * dot(&h, &h)) {
        return None;
    }
    let c = dot(&r, &e) / norm;
    let sse: f64 = e.iter().zip(&r).map(|(ei, ri)| (ei - c * ri).powi(2)).sum();
    // The line's slope b with the hinge term held at c: y - c h regressed on t (one change only).
    let slope_after = if other.is_some() {
        f64::NAN
    } else {
        let rest: Vec<f64> = y.iter().zip(&h).map(|(yi, hi)| yi - c * hi).collect();
        crate::stats::ols(&t, &rest).1 + c
    };
    let df = n - regressors;
    if df < 1.0 {
        return Some(HingeAt { change: c, se: f64::NAN, df: 0.0, slope_after });
    }
    Some(HingeAt { change: c, se: (sse / df / norm).sqrt(), df, slope_after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_hinge_recovers_each_seeds_change_of_slope() {
        // Seed s: y = 1 + 0.5 t + (1 + s/10) (t - 3)+ exactly; the mean change is 1.1 (s = 0, 1, 2),
        // se = sd(1.0, 1.1, 1.2) / sqrt 3 = 0.1 / sqrt 3.
        let mut c = SeedCurves::default();
        for s in 0..3u64 {
            for t in 0..8 {
                let t = t as f64;
                c.insert(1 << t as usize, Some(s), 1.0 + 0.5 * t + (1.0 + s as f64 / 10.0) * (t - 3.0).max(0.0));
            }
        }
        let f = slope_change_at(&c, 3.0, None).unwrap();
        assert!((f.change - 1.1).abs() < 1e-9, "{f:?}");
        assert!((f.se - 0.1 / 3f64.sqrt()).abs() < 1e-9, "{f:?}");
        assert_eq!((f.df, f.units, f.replicates), (2.0, 3, true));
        // The slope after the hinge: 0.5 + (1 + s/10), mean 1.6, se as the change's.
        assert!((f.slope_after - 1.6).abs() < 1e-9 && (f.slope_after_se - 0.1 / 3f64.sqrt()).abs() < 1e-9, "{f:?}");
        assert!(f.p_growth_starts(1.0) < 0.01);
        // A decline that stops at t = 3 (slope -1, then 0): the slope rises by 1, but nothing grows.
        let mut d = SeedCurves::default();
        for s in 0..3u64 {
            for t in 0..8 {
                let t = t as f64;
                d.insert(1 << t as usize, Some(s), 5.0 - (1.0 + s as f64 / 10.0) * t.min(3.0) + 0.01 * s as f64 * t);
            }
        }
        let f = slope_change_at(&d, 3.0, None).unwrap();
        assert!(f.change > 0.9 && f.slope_after.abs() < 0.05, "{f:?}");
        assert!(f.p_growth_starts(1.0) > 0.05, "a pause in a decline is not growth: {f:?}");
        // A ramp: the slope rises by (1 + s/10) at t = 3 and returns at t = 5; the ramp fit recovers it
        // exactly, the hinge alone does not.
        let mut r = SeedCurves::default();
        for s in 0..3u64 {
            for t in 0..8 {
                let t = t as f64;
                let c = 1.0 + s as f64 / 10.0;
                r.insert(1 << t as usize, Some(s), 1.0 + 0.5 * t + c * ((t - 3.0).max(0.0) - (t - 5.0).max(0.0)));
            }
        }
        let f = slope_change_at(&r, 3.0, Some(5.0)).unwrap();
        assert!((f.change - 1.1).abs() < 1e-9 && f.se < 1e-6 + 0.1 / 3f64.sqrt(), "{f:?}");
        let hinge = slope_change_at(&r, 3.0, None).unwrap();
        assert!((hinge.change - 1.1).abs() > 0.3, "{hinge:?}");
    }

    #[test]
    fn a_change_beside_another_is_fitted_with_the_other_held() {
        // Seed s: y = 1 + 0.5 t + 0.2 (t - 3)+ + (2 + s/10) (t - 7)+ exactly on t = 0..10. Held beside the
        // change at 7, the change at 3 is 0.2 in every seed (se 0, df 10 - 4 = 6 per seed, 2 over seeds);
        // a hinge at 3 alone absorbs the larger change at 7.
        let mut c = SeedCurves::default();
        for s in 0..3u64 {
            for t in 0..=10 {
                let t = t as f64;
                let y = 1.0 + 0.5 * t + 0.2 * (t - 3.0).max(0.0) + (2.0 + s as f64 / 10.0) * (t - 7.0).max(0.0);
                c.insert(1 << t as usize, Some(s), y);
            }
        }
        let f = slope_change_beside(&c, 3.0, 7.0, None).unwrap();
        assert!((f.change - 0.2).abs() < 1e-9 && f.se < 1e-9, "{f:?}");
        assert_eq!((f.df, f.units), (2.0, 3));
        assert!(f.slope_after.is_nan(), "{f:?}");
        let alone = slope_change_at(&c, 3.0, None).unwrap();
        assert!(alone.change > 0.5, "{alone:?}");
        // The other change a ramp (from 7 to 9): held as a ramp.
        let mut r = SeedCurves::default();
        for s in 0..3u64 {
            for t in 0..=10 {
                let t = t as f64;
                let y = 1.0 + 0.5 * t - 0.3 * (t - 3.0).max(0.0) + (1.0 + s as f64) * ((t - 7.0).max(0.0) - (t - 9.0).max(0.0));
                r.insert(1 << t as usize, Some(s), y);
            }
        }
        let f = slope_change_beside(&r, 3.0, 7.0, Some(9.0)).unwrap();
        assert!((f.change + 0.3).abs() < 1e-9, "{f:?}");
        // The other change at the same place: collinear, no fit.
        assert!(slope_change_beside(&c, 3.0, 3.0, None).is_none());
        // One curve (a seed-ensemble figure): the fit's own standard error, on 11 - 4 d.o.f.; exact data
        // leave no residual once the other change is held.
        let mut one = SeedCurves::default();
        for t in 0..=10 {
            let t = t as f64;
            one.insert(1 << t as usize, None, 1.0 + 0.5 * t + 0.2 * (t - 3.0).max(0.0) + 2.0 * (t - 7.0).max(0.0));
        }
        let f = slope_change_beside(&one, 3.0, 7.0, None).unwrap();
        assert!((f.change - 0.2).abs() < 1e-9 && f.se < 1e-9 && f.df == 7.0 && !f.replicates, "{f:?}");
    }

    #[test]
    fn power_is_alpha_at_zero_and_grows_with_the_effect() {
        assert!((power(0.0, 1.0, 10.0, 0.05) - 0.05).abs() < 1e-9);
        assert!(power(3.0, 1.0, 10.0, 0.05) > 0.8);
        assert!(power(1.0, 1.0, 10.0, 0.05) < power(2.0, 1.0, 10.0, 0.05));
    }

    #[test]
    fn a_flat_curve_excludes_a_peak_and_a_bump_does_not() {
        let widths: Vec<usize> = (0..8).map(|i| 1 << i).collect();
        let flat: Vec<Vec<f64>> = (0..8).map(|_| vec![0.199, 0.2, 0.201, 0.2]).collect();
        let b = peak_bound(&widths, &flat, 0.01, 0.05).unwrap();
        assert!(b.excluded && b.allowed < 0.01, "{b:?}");
        let mut bump = flat.clone();
        bump[4] = vec![0.229, 0.23, 0.231, 0.23];
        let b = peak_bound(&widths, &bump, 0.01, 0.05).unwrap();
        assert!(!b.excluded && b.width == 16 && b.allowed > 0.03, "{b:?}");
    }
}
