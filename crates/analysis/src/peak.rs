//! The interpolation threshold and the double-descent peak of an error curve, with a test whose
//! false-alarm rate is calibrated for the selection of the peak and of the best widths on its sides
//! (docs/SCIENCE.md, Statistics: "Peak test").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::curve::SeedCurves;
use crate::outcome::{Options, Outcome, Verdict, fmt_p, p_equals, prediction};
use crate::stats::{mean, t_upper_tail};

/// The peak of a curve and how far it stands above the best width on each side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    pub width: usize,
    pub index: usize,
    /// Width of the lowest mean to the left / right of the peak.
    pub best_left: usize,
    pub best_right: usize,
    /// Peak mean minus the best mean on that side.
    pub drop_left: f64,
    pub drop_right: f64,
    /// Two-sample t statistics of those drops (pooled variance, n_peak + n_best - 2 degrees of
    /// freedom) and their one-sided p-values before correcting for the selection; `None` where a
    /// side has too few seeds to estimate a variance.
    pub t_left: Option<f64>,
    pub t_right: Option<f64>,
    pub p_left: Option<f64>,
    pub p_right: Option<f64>,
}

/// The smallest width whose mean training error is at most `tolerance`.
pub fn interpolation_threshold(widths: &[usize], train_err: &[f64], tolerance: f64) -> Option<usize> {
    widths.iter().zip(train_err).find(|(_, e)| **e <= tolerance).map(|(w, _)| *w)
}

/// The candidate peak of a curve of means: (peak, best left, best right) indices. Among interior widths,
/// the one that stands highest above the best width on both sides (the larger of the two smaller
/// drops). Not simply the maximum: the narrowest, underfitting nets often have the highest error of
/// all. `None` when no interior width stands above both sides.
pub fn find_peak(means: &[f64]) -> Option<(usize, usize, usize)> {
    let n = means.len();
    if n < 3 {
        return None;
    }
    // Running minima from each end, so that the search is linear.
    let mut left_min = vec![0usize; n];
    for i in 1..n {
        left_min[i] = if means[i - 1] < means[left_min[i - 1]] || i == 1 { i - 1 } else { left_min[i - 1] };
    }
    let mut right_min = vec![n - 1; n];
    for i in (0..n - 1).rev() {
        right_min[i] = if i == n - 2 || means[i + 1] < means[right_min[i + 1]] { i + 1 } else { right_min[i + 1] };
    }
    let mut best: Option<(f64, usize)> = None;
    for i in 1..n - 1 {
        let score = (means[i] - means[left_min[i]]).min(means[i] - means[right_min[i]]);
        if score > 0.0 && best.is_none_or(|b| score > b.0) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| (i, left_min[i], right_min[i]))
}

/// One-sided pooled two-sample t test of mean(a) > mean(b): (t, p). `None` with fewer than 3
/// values in all (no degree of freedom left for the variance).
pub fn one_sided_t(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let (na, nb) = (a.len(), b.len());
    if na + nb < 3 || na == 0 || nb == 0 {
        return None;
    }
    let (ma, mb) = (mean(a), mean(b));
    let ss: f64 = a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() + b.iter().map(|x| (x - mb).powi(2)).sum::<f64>();
    let df = (na + nb - 2) as f64;
    let se = (ss / df * (1.0 / na as f64 + 1.0 / nb as f64)).sqrt();
    let t = if se > 0.0 {
        (ma - mb) / se
    } else if ma > mb {
        f64::INFINITY
    } else {
        0.0
    };
    Some((t, t_upper_tail(t, df)))
}

/// The candidate peak with its one-sided tests, and the detection statistic: the larger of the two
/// one-sided p-values (both sides must drop), 1 where there is no candidate or a side is untestable.
fn peak_and_statistic(widths: &[usize], per_width: &[Vec<f64>]) -> (Option<Peak>, f64) {
    let means: Vec<f64> = per_width.iter().map(|v| mean(v)).collect();
    let Some((i, l, r)) = find_peak(&means) else { return (None, 1.0) };
    let left = one_sided_t(&per_width[i], &per_width[l]);
    let right = one_sided_t(&per_width[i], &per_width[r]);
    let statistic = match (left, right) {
        (Some(a), Some(b)) => a.1.max(b.1),
        _ => 1.0,
    };
    let peak = Peak {
        width: widths[i],
        index: i,
        best_left: widths[l],
        best_right: widths[r],
        drop_left: means[i] - means[l],
        drop_right: means[i] - means[r],
        t_left: left.map(|x| x.0),
        t_right: right.map(|x| x.0),
        p_left: left.map(|x| x.1),
        p_right: right.map(|x| x.1),
    };
    (Some(peak), statistic)
}

/// The outcome of the peak test on one curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeakTest {
    pub peak: Option<Peak>,
    /// P-value corrected for the selection of the peak and of the best widths (see [`peak_test`]);
    /// `None` when the curve cannot be tested (fewer than 3 widths, or no width with 2 seeds).
    pub p_value: Option<f64>,
    /// `p_value < alpha`.
    pub detected: bool,
}

type NullKey = (Vec<usize>, usize);
type NullCache = Mutex<HashMap<NullKey, Arc<Vec<f64>>>>;

/// Null distribution (sorted) of the detection statistic for a design (seeds per width) under the
/// least favourable curve without a peak: flat at every width but the last, which lies far below.
/// There every interior width stands clear of its right side, so a false alarm needs only the left
/// comparison, and the procedure may pick the peak and its left partner from the whole plateau. Any
/// curve without an interior peak (non-increasing, then non-decreasing) gives fewer false alarms.
/// Simulated once per design with a fixed seed and cached: the statistic depends on the design only
/// (it is invariant to the scale of the noise).
fn null_statistics(counts: &[usize], draws: usize) -> Arc<Vec<f64>> {
    static CACHE: OnceLock<NullCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (counts.to_vec(), draws);
    if let Some(hit) = cache.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e3779b97f4a7c15 ^ counts.iter().fold(draws as u64, |h, c| h * 31 + *c as u64));
    let widths: Vec<usize> = (0..counts.len()).collect();
    let mut stats: Vec<f64> = (0..draws)
        .map(|_| {
            let per_width: Vec<Vec<f64>> = counts
                .iter()
                .enumerate()
                .map(|(k, &n)| {
                    let shift = if k + 1 == counts.len() { -1e6 } else { 0.0 };
                    (0..n)
                        .map(|_| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            shift + z
                        })
                        .collect()
                })
                .collect();
            peak_and_statistic(&widths, &per_width).1
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let stats = Arc::new(stats);
    cache.lock().unwrap().insert(key, stats.clone());
    stats
}

/// "Double descent detected": is there an interior width whose error stands above the best width on
/// each side? Each side is a one-sided pooled two-sample t test; the detection statistic is the larger
/// of the two p-values, and its p-value is calibrated by simulating the whole procedure (choice of the
/// peak and of the best sides included) under the least favourable curve without a peak, with the same
/// seeds per width (`null_draws` simulations).
pub fn peak_test(widths: &[usize], per_width: &[Vec<f64>], null_draws: usize, alpha: f64) -> PeakTest {
    let (peak, statistic) = peak_and_statistic(widths, per_width);
    let testable = widths.len() >= 3 && per_width.iter().any(|v| v.len() >= 2);
    if !testable || peak.is_none() {
        return PeakTest { peak, p_value: testable.then_some(1.0), detected: false };
    }
    let counts: Vec<usize> = per_width.iter().map(Vec::len).collect();
    let null = null_statistics(&counts, null_draws.max(1));
    let as_small = null.partition_point(|s| *s <= statistic);
    let p_value = (1 + as_small) as f64 / (1 + null.len()) as f64;
    PeakTest { peak, p_value: Some(p_value), detected: p_value < alpha }
}

/// Where a peak test is not significant: contradicted when no interior width can stand the smallest
/// height of interest above both sides, inconclusive otherwise (docs/SCIENCE.md, "Four outcomes").
pub(crate) fn no_peak_outcome(bound: Option<&crate::sesoi::PeakBound>, what: &str) -> (Outcome, String) {
    match bound {
        Some(b) if b.excluded => (
            Outcome::Contradicted,
            format!(
                "no interior width stands {} above both sides (the tallest the data allow: {:.4} at width {})",
                b.sesoi, b.allowed, b.width
            ),
        ),
        Some(b) => (
            Outcome::Inconclusive,
            format!(
                "a peak of the smallest height of interest ({} {what}) is not excluded: up to {:.4} at width {}",
                b.sesoi, b.allowed, b.width
            ),
        ),
        None => (Outcome::Inconclusive, "the height a peak could have cannot be bounded".into()),
    }
}

pub(crate) fn peak_verdict(
    peak: &PeakTest,
    test_err: &SeedCurves,
    scaled: &[Vec<f64>],
    opts: &Options,
    log_risk: bool,
) -> Verdict {
    let alpha = opts.alpha;
    let name = prediction::DOUBLE_DESCENT;
    let Some(p) = peak.p_value else {
        let reason = if test_err.max_seeds() < 2 {
            "one seed per width: without seed-to-seed variance the peak cannot be told from noise".to_string()
        } else {
            format!("{} widths: too few to have an interior peak", test_err.0.len())
        };
        return Verdict::new(name, None, Outcome::NotTestable, reason, &[]);
    };
    let sesoi = if log_risk { crate::sesoi::PEAK_LOG_RISK } else { crate::sesoi::PEAK_ERROR };
    let bound = crate::sesoi::peak_bound(&test_err.widths(), scaled, sesoi, alpha);
    let bound_numbers: Vec<(&str, f64)> =
        bound.map_or(vec![], |b| vec![("sesoi", b.sesoi), ("height_allowed", b.allowed), ("height_allowed_at", b.width as f64)]);
    let what = if log_risk { "in log risk" } else { "test error" };
    let Some(pk) = &peak.peak else {
        let (outcome, why) = no_peak_outcome(bound.as_ref(), what);
        return Verdict::new(name, None, outcome, format!("no interior width stands above both sides; {why}"), &bound_numbers);
    };
    let mut numbers = vec![
        ("w_peak", pk.width as f64),
        ("p_value", p),
        ("drop_left", pk.drop_left),
        ("drop_right", pk.drop_right),
        ("t_left", pk.t_left.unwrap_or(f64::NAN)),
        ("t_right", pk.t_right.unwrap_or(f64::NAN)),
    ];
    numbers.extend(bound_numbers);
    let what = if log_risk { "log test risk" } else { "test error" };
    let sides = format!(
        "{what} at width {} is {:.3} above width {} and {:.3} above width {}",
        pk.width, pk.drop_left, pk.best_left, pk.drop_right, pk.best_right
    );
    if peak.detected {
        Verdict::new(
            name,
            None,
            Outcome::Supported,
            format!("{sides}; {} (corrected for picking the peak)", p_equals(p, opts.null_draws)),
            &numbers,
        )
    } else {
        let (outcome, why) = no_peak_outcome(bound.as_ref(), if log_risk { "in log risk" } else { "test error" });
        Verdict::new(
            name,
            None,
            outcome,
            format!("{sides}; p = {} >= {alpha}: not distinguishable from a curve without a peak; {why}", fmt_p(p)),
            &numbers,
        )
    }
}
