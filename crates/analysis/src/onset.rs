//! The onset of ensemble growth (H1): a change of slope of a metric's trained-minus-init values over
//! log2 W, tested against a straight line (docs/SCIENCE.md, Statistics: "Onset test").
//!
//! Model: y = a + b t + c max(0, t - tau), t = log2 W, fitted by least squares to every seed's value
//! (stacked). The change point tau is searched over a grid, so the F statistic of the hinge against
//! the line is a supremum over tau; its null distribution (a straight line plus independent normal
//! noise) depends only on the design (the t of every observation), not on the line or the noise
//! scale, and is simulated once per design. An onset is reported only where that sup-F is
//! significant and c > 0 (growth accelerates); a hump (c < 0) is not an onset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::stats::f_quantile;

/// Candidate change points between two neighbouring widths (on the log2 grid), ends included.
const SUBDIVISIONS: usize = 4;

/// A design: the observations' t, and per candidate tau the hinge regressor with the line [1, t]
/// projected out (so that the drop in residual sum of squares from adding it is one dot product).
pub(crate) struct Design {
    taus: Vec<f64>,
    /// Per candidate: the residualised hinge column and its squared norm.
    hinges: Vec<(Vec<f64>, f64)>,
}

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
        let hinges = taus
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
        Some(Design { taus, hinges })
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

    /// Per candidate tau: (residual sum of squares of the hinge fit, change of slope c).
    fn profile(&self, e: &[f64], sse_line: f64) -> Vec<(f64, f64)> {
        self.hinges
            .iter()
            .map(|(r, norm)| {
                if *norm <= 1e-12 {
                    return (sse_line, 0.0);
                }
                let dot: f64 = r.iter().zip(e).map(|(a, b)| a * b).sum();
                ((sse_line - dot * dot / norm).max(0.0), dot / norm)
            })
            .collect()
    }
}

/// The best hinge fit of a curve and its sup-F statistic against a line.
#[derive(Clone, Debug, PartialEq)]
pub struct HingeFit {
    /// Change point, log2 width.
    pub tau: f64,
    /// Change of slope at tau (slope after minus slope before), per octave.
    pub slope_change: f64,
    /// sup over tau of F = (SSE_line - SSE_hinge) / (SSE_hinge / (n - 4)).
    pub sup_f: f64,
    pub df_resid: usize,
    /// 95% interval of tau: every candidate whose fit is not significantly worse than the best
    /// (SSE(tau) - SSE_min <= s^2 F(0.95; 1, n - 4), the likelihood-ratio interval of a change point).
    pub tau_lo: f64,
    pub tau_hi: f64,
}

/// The least-squares hinge fit of y on t (t = log2 W of every observation) and its sup-F.
pub fn hinge_fit(t: &[f64], y: &[f64]) -> Option<HingeFit> {
    let design = Design::new(t)?;
    fit_with(&design, t, y)
}

fn fit_with(design: &Design, t: &[f64], y: &[f64]) -> Option<HingeFit> {
    let (e, sse_line) = Design::line_residuals(t, y);
    let profile = design.profile(&e, sse_line);
    let best = (0..profile.len()).min_by(|&a, &b| profile[a].0.total_cmp(&profile[b].0))?;
    let (sse_min, c) = profile[best];
    let df = t.len() - 4;
    let s2 = sse_min / df as f64;
    let sup_f = if s2 > 0.0 {
        (sse_line - sse_min) / s2
    } else if sse_line > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    let bound = s2 * f_quantile(0.95, 1.0, df as f64);
    let inside: Vec<f64> =
        design.taus.iter().zip(&profile).filter(|(_, p)| p.0 - sse_min <= bound).map(|(tau, _)| *tau).collect();
    let (tau_lo, tau_hi) = inside.iter().fold((design.taus[best], design.taus[best]), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    Some(HingeFit { tau: design.taus[best], slope_change: c, sup_f, df_resid: df, tau_lo, tau_hi })
}

/// The onset test of one curve: the hinge fit and the p-value of its sup-F under a straight line.
#[derive(Clone, Debug, PartialEq)]
pub struct OnsetTest {
    pub fit: HingeFit,
    /// Share of simulated straight lines (same design) whose sup-F is at least this one's.
    pub p_value: f64,
}

type NullCache = Mutex<HashMap<(Vec<u64>, usize), Arc<Vec<f64>>>>;

/// Sorted null sup-F values of a design, simulated once (fixed seed) and cached.
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
            let y: Vec<f64> = t
                .iter()
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z
                })
                .collect();
            fit_with(design, t, &y).map_or(0.0, |f| f.sup_f)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let stats = Arc::new(stats);
    cache.lock().unwrap().insert(key, stats.clone());
    stats
}

/// The hinge fit of y on t with the calibrated p-value of its sup-F (`null_draws` simulated lines).
pub fn onset_test(t: &[f64], y: &[f64], null_draws: usize) -> Option<OnsetTest> {
    let design = Design::new(t)?;
    let fit = fit_with(&design, t, y)?;
    let null = null_sup_f(&design, t, null_draws.max(1));
    let at_least = null.len() - null.partition_point(|s| *s < fit.sup_f);
    Some(OnsetTest { fit, p_value: (1 + at_least) as f64 / (1 + null.len()) as f64 })
}
