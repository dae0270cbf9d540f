//! The onset of ensemble growth (H1): a change of slope of a metric's trained-minus-init values over
//! log2 W, tested against a straight line (docs/SCIENCE.md, Statistics: "Onset test").
//!
//! Model: y = a + b t + c r(t), t = log2 W, fitted by least squares to every seed's value (stacked),
//! where r is either a hinge max(0, t - tau) (the slope changes at tau for good) or a ramp
//! max(0, t - tau) - max(0, t - tau_end) (the slope changes at tau and returns at tau_end: growth that
//! starts at tau and saturates). The onset is tau; tau and tau_end are searched over a grid, so the F
//! statistic against the line is a supremum; its null distribution (a straight line plus independent
//! normal noise) depends only on the design (the t of every observation), not on the line or the noise
//! scale, and is simulated once per design. An onset is reported only where that sup-F is significant
//! and c has the metric's predicted sign; a hump (c against it) is not an onset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The onset's null is simulated with this many times `Options::null_draws`: Holm compares the
/// smallest of nine metrics' p-values with alpha / 9, a tail that 2000 draws estimate with a Monte Carlo
/// error as large as itself (a one-sided sup-F at 5 seeds fired at p < alpha / 9 on 1.25% of straight
/// lines instead of 0.56%; 0.7% with 20 000 draws, which take under a second per design).
const NULL_DRAWS_FACTOR: usize = 10;

/// Candidate change points between two neighbouring widths (on the log2 grid), ends included.
const SUBDIVISIONS: usize = 4;

/// A design: the observations' t, and per candidate tau the hinge regressor with the line [1, t]
/// projected out (so that the drop in residual sum of squares from adding it is one dot product). A
/// ramp from tau_i to tau_j is hinge i minus hinge j, and projection is linear, so its residualised
/// column is r_i - r_j: the Gram matrix of the residualised hinges gives every ramp's fit.
pub(crate) struct Design {
    taus: Vec<f64>,
    /// Per candidate: the residualised hinge column and its squared norm.
    hinges: Vec<(Vec<f64>, f64)>,
    /// Inner products of the residualised hinge columns (row-major, candidates x candidates).
    gram: Vec<f64>,
    /// The Gram matrix's diagonal.
    diag: Vec<f64>,
    /// Per candidate: the first candidate that may end a ramp starting there (a ramp reaches at least
    /// the next width, so that its rise is seen in the data).
    first_end: Vec<usize>,
}

/// One candidate fit: residual sum of squares, change of slope, onset index, end index (`None`: a
/// hinge, the slope stays changed).
type Candidate = (f64, f64, usize, Option<usize>);

impl Design {
    /// `None` with fewer than 5 distinct widths or fewer than 6 observations (2 residual degrees of
    /// freedom): too little to tell a bend from a line.
    fn new(t: &[f64]) -> Option<Design> {
        let mut distinct: Vec<f64> = t.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 5 || t.len() < 6 {
            return None;
        }
        // Candidates from the second to the second-to-last width, so that each segment keeps two
        // widths (a bend at the end of the grid would fit one stray point).
        let mut taus = Vec::new();
        for k in 1..distinct.len() - 2 {
            for s in 0..SUBDIVISIONS {
                taus.push(distinct[k] + (distinct[k + 1] - distinct[k]) * s as f64 / SUBDIVISIONS as f64);
            }
        }
        taus.push(distinct[distinct.len() - 2]);
        let n = t.len() as f64;
        let mt = t.iter().sum::<f64>() / n;
        let stt: f64 = t.iter().map(|x| (x - mt).powi(2)).sum();
        let hinges: Vec<(Vec<f64>, f64)> = taus
            .iter()
            .map(|&tau| {
                let h: Vec<f64> = t.iter().map(|x| (x - tau).max(0.0)).collect();
                let mh = h.iter().sum::<f64>() / n;
                let b = t.iter().zip(&h).map(|(x, hi)| (x - mt) * (hi - mh)).sum::<f64>() / stt;
                let r: Vec<f64> = t.iter().zip(&h).map(|(x, hi)| hi - mh - b * (x - mt)).collect();
                let norm = r.iter().map(|v| v * v).sum();
                (r, norm)
            })
            .collect();
        let k = taus.len();
        let mut gram = vec![0.0; k * k];
        for i in 0..k {
            for j in i..k {
                let g: f64 = hinges[i].0.iter().zip(&hinges[j].0).map(|(a, b)| a * b).sum();
                gram[i * k + j] = g;
                gram[j * k + i] = g;
            }
        }
        let first_end = taus
            .iter()
            .map(|&tau| {
                let next = distinct.iter().copied().find(|&d| d > tau + 1e-12).unwrap_or(f64::INFINITY);
                taus.partition_point(|&x| x < next - 1e-12)
            })
            .collect();
        let diag = (0..k).map(|i| gram[i * k + i]).collect();
        Some(Design { taus, hinges, gram, diag, first_end })
    }

    /// Residuals and residual sum of squares of the straight line.
    pub(crate) fn line_residuals(t: &[f64], y: &[f64]) -> (Vec<f64>, f64) {
        let n = t.len() as f64;
        let (mt, my) = (t.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let stt: f64 = t.iter().map(|x| (x - mt).powi(2)).sum();
        let b = t.iter().zip(y).map(|(x, v)| (x - mt) * (v - my)).sum::<f64>() / stt;
        let e: Vec<f64> = t.iter().zip(y).map(|(x, v)| v - my - b * (x - mt)).collect();
        let sse = e.iter().map(|v| v * v).sum();
        (e, sse)
    }

    /// Per candidate onset tau: the best fit starting there whose change of slope has the predicted
    /// `sign` (+1: the slope increases), a hinge or a ramp (a hinge wins ties: the simpler account). A
    /// candidate without a change in that direction keeps the line's fit.
    fn profile(&self, e: &[f64], sse_line: f64, sign: f64) -> Vec<Candidate> {
        let k = self.taus.len();
        let dots: Vec<f64> = self.hinges.iter().map(|(r, _)| r.iter().zip(e).map(|(a, b)| a * b).sum()).collect();
        // A fit's drop in SSE from the line is dot^2 / norm (the hinge's or the ramp's residualised
        // column): the search compares drops by cross-multiplying, without a division per ramp (this
        // loop is most of the onset interval's bootstrap).
        let tol = 1e-12 * sse_line.max(1e-300);
        (0..k)
            .map(|i| {
                let (di, gi) = (dots[i], self.gram[i * k + i]);
                let (mut gain, mut dot, mut norm, mut end) = (0.0, 0.0, 1.0, None);
                if gi > 1e-12 && sign * di > 0.0 {
                    (gain, dot, norm) = (di * di / gi, di, gi);
                }
                let row = &self.gram[i * k..(i + 1) * k];
                for j in self.first_end[i]..k {
                    let d = di - dots[j];
                    let n = gi + self.diag[j] - 2.0 * row[j];
                    if sign * d > 0.0 && n > 1e-12 && d * d > (gain + tol) * n {
                        (gain, dot, norm, end) = (d * d / n, d, n, Some(j));
                    }
                }
                ((sse_line - gain).max(0.0), dot / norm, i, end)
            })
            .collect()
    }
}

/// The best hinge or ramp fit of a curve and its sup-F statistic against a line.
#[derive(Clone, Debug, PartialEq)]
pub struct HingeFit {
    /// Change point (the onset), log2 width.
    pub tau: f64,
    /// Where the changed slope returns to the first (a ramp: growth that saturates), log2 width;
    /// `None` where it stays changed to the widest width (a hinge).
    pub tau_end: Option<f64>,
    /// Change of slope at tau (slope after minus slope before), per octave.
    pub slope_change: f64,
    /// sup over the candidates of F = (SSE_line - SSE_fit) / (SSE_fit / (n - 4)).
    pub sup_f: f64,
    pub df_resid: usize,
    /// 95% interval of tau: every onset in the predicted direction whose best fit (over its ends) is
    /// not significantly worse than the best (the likelihood-ratio interval of a change point, its
    /// threshold from a parametric bootstrap: see `with_interval`).
    pub tau_lo: f64,
    pub tau_hi: f64,
}

/// `n` independent standard normal draws.
fn standard_normals(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// Parametric bootstrap draws behind the change point's interval.
const INTERVAL_DRAWS: usize = 400;

/// The best fit without its interval (`tau_lo` = `tau_hi` = `tau`): what the null simulation needs.
fn fit_with(design: &Design, t: &[f64], y: &[f64], sign: f64) -> Option<HingeFit> {
    best_fit(design, t, y, sign).map(|f| f.fit)
}

/// The best fit (its interval not yet computed), with what [`with_interval`] needs of it.
struct Fitted {
    fit: HingeFit,
    /// Per candidate onset, its best fit.
    profile: Vec<Candidate>,
    /// The best candidate's index.
    best: usize,
    /// The straight line's residuals of y.
    line_residuals: Vec<f64>,
}

fn best_fit(design: &Design, t: &[f64], y: &[f64], sign: f64) -> Option<Fitted> {
    let (e, sse_line) = Design::line_residuals(t, y);
    let profile = design.profile(&e, sse_line, sign);
    let best = (0..profile.len()).min_by(|&a, &b| profile[a].0.total_cmp(&profile[b].0))?;
    let (sse_min, c, _, end) = profile[best];
    let df = t.len() - 4;
    let s2 = sse_min / df as f64;
    let sup_f = if s2 > 0.0 {
        (sse_line - sse_min) / s2
    } else if sse_line > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    let fit = HingeFit {
        tau: design.taus[best],
        tau_end: end.map(|j| design.taus[j]),
        slope_change: c,
        sup_f,
        df_resid: df,
        tau_lo: design.taus[best],
        tau_hi: design.taus[best],
    };
    Some(Fitted { fit, profile, best, line_residuals: e })
}

/// The 95% interval of the onset: every candidate in the predicted direction whose best fit is not
/// significantly worse than the best, (SSE(tau) - SSE_min) / s^2 <= q (the likelihood-ratio interval
/// of a change point, Hinkley 1970). q is not F(0.95; 1, n - 4): that interval covered a planted kink
/// 90-93% of the time at 3-5 seeds (the change point is chosen from many candidates and s^2 from the
/// best of them). q is the 95% quantile of the same statistic at the fitted onset in
/// `INTERVAL_DRAWS` parametric bootstrap draws (the fitted curve plus normal noise of variance s^2,
/// refitted each time), so the interval is calibrated for the design and the fitted shape.
fn with_interval(design: &Design, t: &[f64], y: &[f64], sign: f64, fitted: Fitted) -> HingeFit {
    let Fitted { mut fit, profile, best, line_residuals: e } = fitted;
    let sse_min = profile[best].0;
    let df = fit.df_resid as f64;
    let s2 = sse_min / df;
    if s2.is_nan() || s2 <= 0.0 || fit.slope_change == 0.0 {
        return fit;
    }
    let mut rng =
        ChaCha8Rng::seed_from_u64(y.iter().fold(design.taus.len() as u64, |h, v| h.wrapping_mul(1_000_003) ^ v.to_bits()));
    let lr = |i: usize| (profile[i].0 - sse_min) / s2;
    // The threshold at the best onset bounds which other candidates are worth testing.
    let q_best = lr_quantile(design, t, y, &e, sign, &profile, best, INTERVAL_DRAWS, &mut rng);
    // The interval is the hull of the accepted candidates: each end is the outermost candidate that its
    // own test accepts, so candidates are tested from the outside in and the scan stops at the first
    // accepted one (the best is always accepted: its statistic is 0).
    let candidates: Vec<usize> =
        (0..design.taus.len()).filter(|&i| i == best || (sign * profile[i].1 > 0.0 && lr(i) <= PRUNE * q_best)).collect();
    let mut accepted =
        |i: usize| i == best || lr(i) <= lr_quantile(design, t, y, &e, sign, &profile, i, CANDIDATE_DRAWS, &mut rng);
    let lo = candidates.iter().copied().find(|&i| accepted(i)).unwrap_or(best);
    let hi = candidates.iter().rev().copied().find(|&i| accepted(i)).unwrap_or(best);
    fit.tau_lo = design.taus[lo];
    fit.tau_hi = design.taus[hi];
    fit
}

const PRUNE: f64 = 2.5;
const CANDIDATE_DRAWS: usize = 200;

/// The 95% quantile of the likelihood-ratio statistic at candidate `i` when the truth is the best fit
/// with its onset at `i`: that fit plus normal noise of its own residual variance, refitted `draws` times.
#[allow(clippy::too_many_arguments)]
fn lr_quantile(
    design: &Design,
    t: &[f64],
    y: &[f64],
    e: &[f64],
    sign: f64,
    profile: &[Candidate],
    i: usize,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let (sse, c, _, end) = profile[i];
    let df = (t.len() - 4) as f64;
    let column: Vec<f64> = match end {
        Some(j) => design.hinges[i].0.iter().zip(&design.hinges[j].0).map(|(a, b)| a - b).collect(),
        None => design.hinges[i].0.clone(),
    };
    let fitted: Vec<f64> = y.iter().zip(e).zip(&column).map(|((yi, ei), ri)| yi - (ei - c * ri)).collect();
    let sd = (sse / df).sqrt();
    let mut stats: Vec<f64> = (0..draws)
        .filter_map(|_| {
            let ys: Vec<f64> = fitted.iter().zip(standard_normals(fitted.len(), rng)).map(|(f, z)| f + sd * z).collect();
            let (es, sse_line) = Design::line_residuals(t, &ys);
            let p = design.profile(&es, sse_line, sign);
            let min = p.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
            let s2b = min / df;
            (s2b > 0.0).then(|| (p[i].0 - min) / s2b)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    stats.get(((stats.len() as f64) * 0.95).ceil() as usize - 1).copied().unwrap_or(f64::INFINITY)
}

/// The onset test of one curve: the hinge fit and the p-value of its sup-F under a straight line.
#[derive(Clone, Debug, PartialEq)]
pub struct OnsetTest {
    pub fit: HingeFit,
    /// Share of simulated straight lines (same design) whose sup-F is at least this one's.
    pub p_value: f64,
}

type NullCache = Mutex<HashMap<(Vec<u64>, usize), Arc<Vec<f64>>>>;

/// Sorted null sup-F values of a design, simulated once (fixed seed) and cached. The noise is
/// symmetric, so the one-sided statistic has the same null for either predicted sign: it is simulated
/// for +1.
fn null_sup_f(design: &Design, t: &[f64], draws: usize) -> Arc<Vec<f64>> {
    static CACHE: OnceLock<NullCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (t.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), draws);
    if let Some(hit) = cache.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(key.0.iter().fold(draws as u64, |h, b| h.wrapping_mul(1_000_003) ^ b));
    let mut stats: Vec<f64> = (0..draws)
        .map(|_| {
            let y = standard_normals(t.len(), &mut rng);
            fit_with(design, t, &y, 1.0).map_or(0.0, |f| f.sup_f)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let stats = Arc::new(stats);
    cache.lock().unwrap().insert(key, stats.clone());
    stats
}

/// The hinge or ramp fit of y on t in the predicted direction (`sign`, see [`hinge_fit`]) with the
/// calibrated p-value of its sup-F (`null_draws` x `NULL_DRAWS_FACTOR` simulated lines). The onset's
/// interval is computed where p < `alpha` (no onset can be detected elsewhere, even before Holm); a
/// change that is not significant places the onset nowhere in particular, so its interval is every
/// candidate.
pub fn onset_test(t: &[f64], y: &[f64], sign: f64, null_draws: usize, alpha: f64) -> Option<OnsetTest> {
    let design = Design::new(t)?;
    let fitted = best_fit(&design, t, y, sign)?;
    let null = null_sup_f(&design, t, null_draws.max(1) * NULL_DRAWS_FACTOR);
    let at_least = null.len() - null.partition_point(|s| *s < fitted.fit.sup_f);
    let p_value = (1 + at_least) as f64 / (1 + null.len()) as f64;
    let fit = if p_value < alpha {
        with_interval(&design, t, y, sign, fitted)
    } else {
        HingeFit { tau_lo: design.taus[0], tau_hi: design.taus[design.taus.len() - 1], ..fitted.fit }
    };
    Some(OnsetTest { fit, p_value })
}

/// The least-squares hinge or ramp fit of y on t (t = log2 W of every observation) whose change of
/// slope has the predicted `sign` (+1: the slope increases, -1: it decreases), and its sup-F (the
/// known-answer tests fit one curve directly; the analysis goes through [`onset_test`]).
#[cfg(test)]
pub fn hinge_fit(t: &[f64], y: &[f64], sign: f64) -> Option<HingeFit> {
    let design = Design::new(t)?;
    let fitted = best_fit(&design, t, y, sign)?;
    Some(with_interval(&design, t, y, sign, fitted))
}
