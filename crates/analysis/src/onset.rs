//! The onset of ensemble growth: the change point of a metric's trained-minus-init curve over log2 W,
//! found by continuous two-segment (segmented) least squares: y = a + b t + c max(0, t - tau). tau is
//! where the curve's slope changes most: where a flat curve starts to grow, or where a rising curve
//! turns.

/// Step of the grid of candidate change points, in octaves.
const STEP: f64 = 0.05;

/// The change point tau (in log2 width) of the best segmented fit; `None` with fewer than 4 points.
/// Candidates span from the second to the second-to-last point, so that each segment has two points.
pub fn hinge_onset(t: &[f64], y: &[f64]) -> Option<f64> {
    if t.len() < 4 {
        return None;
    }
    let (first, last) = (t[1], t[t.len() - 2]);
    let steps = ((last - first) / STEP).ceil().max(0.0) as usize;
    let mut best: Option<(f64, f64)> = None;
    for s in 0..=steps {
        let tau = (first + s as f64 * STEP).min(last);
        let sse = hinge_sse(t, y, tau);
        if best.is_none_or(|b| sse < b.0 - 1e-12 * b.0.abs().max(1e-300)) {
            best = Some((sse, tau));
        }
    }
    best.map(|b| b.1)
}

/// Residual sum of squares of the least-squares fit of y on [1, t, max(0, t - tau)].
pub fn hinge_sse(t: &[f64], y: &[f64], tau: f64) -> f64 {
    let design: Vec<[f64; 3]> = t.iter().map(|&ti| [1.0, ti, (ti - tau).max(0.0)]).collect();
    // Normal equations (3 x 3), solved by Gaussian elimination with partial pivoting.
    let mut a = [[0.0f64; 4]; 3];
    for (row, &yi) in design.iter().zip(y) {
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += row[i] * row[j];
            }
            a[i][3] += row[i] * yi;
        }
    }
    let mut coef = [0.0; 3];
    for col in 0..3 {
        let pivot = (col..3).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs())).unwrap();
        a.swap(col, pivot);
        if a[col][col].abs() < 1e-12 {
            continue;
        }
        for row in 0..3 {
            if row != col {
                let f = a[row][col] / a[col][col];
                for k in col..4 {
                    a[row][k] -= f * a[col][k];
                }
            }
        }
    }
    for i in 0..3 {
        coef[i] = if a[i][i].abs() < 1e-12 { 0.0 } else { a[i][3] / a[i][i] };
    }
    design.iter().zip(y).map(|(r, yi)| (yi - coef[0] - coef[1] * r[1] - coef[2] * r[2]).powi(2)).sum()
}
