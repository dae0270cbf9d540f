//! The onset of ensemble growth: the change point of a metric's trained-minus-init curve over log2 W,
//! found by a least-squares broken-stick (hinge) fit: y = a for t < tau, a + b (t - tau) after.

/// Step of the grid of candidate change points, in octaves.
const STEP: f64 = 0.05;

/// The change point tau (in log2 width) of the best hinge fit; `None` with fewer than 4 points.
/// Candidates span from the first to the second-to-last point, so at least two points lie past any
/// candidate and the slope is defined.
pub fn hinge_onset(t: &[f64], y: &[f64]) -> Option<f64> {
    if t.len() < 4 {
        return None;
    }
    let (first, last) = (t[0], t[t.len() - 2]);
    let steps = ((last - first) / STEP).ceil().max(0.0) as usize;
    let mut best: Option<(f64, f64)> = None;
    for s in 0..=steps {
        let tau = (first + s as f64 * STEP).min(last);
        let sse = hinge_sse(t, y, tau);
        if best.is_none_or(|b| sse < b.0 - 1e-15) {
            best = Some((sse, tau));
        }
    }
    best.map(|b| b.1)
}

/// Residual sum of squares of the least-squares fit of y on [1, max(0, t - tau)].
pub fn hinge_sse(t: &[f64], y: &[f64], tau: f64) -> f64 {
    let x: Vec<f64> = t.iter().map(|&ti| (ti - tau).max(0.0)).collect();
    let (intercept, slope) = crate::stats::ols(&x, y);
    let slope = if slope.is_finite() { slope } else { 0.0 };
    let intercept = if slope == 0.0 { crate::stats::mean(y) } else { intercept };
    x.iter().zip(y).map(|(xi, yi)| (yi - intercept - slope * xi).powi(2)).sum()
}
