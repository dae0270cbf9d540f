//! P2, sub-network competence: keep a random fraction q of the units, rescaled by 1/q so that the
//! sub-network's output is unbiased for f: f_S = (H/|S|) sum_{i in S} u_i + c. competence(q) compares its
//! error with chance and with the full network; N_eff = 1/q* where competence first reaches 0.9.

use rand_chacha::ChaCha8Rng;

use crate::partition::{argmax, member_outputs};
use crate::rows::Metric;
use crate::view::ModelView;

/// The competence level that defines q*.
pub const COMPETENCE_LEVEL: f64 = 0.9;

/// Error of the majority-class guess on these labels (1 - 1/K when classes are balanced).
pub fn chance_error(labels: &[u32], classes: usize) -> f64 {
    let mut counts = vec![0usize; classes];
    labels.iter().for_each(|&y| counts[y as usize] += 1);
    1.0 - *counts.iter().max().unwrap_or(&0) as f64 / labels.len() as f64
}

/// Error of the sub-network made of the units in `keep`.
pub fn subnetwork_error(view: &ModelView, labels: &[u32], keep: &[usize]) -> f64 {
    let mut group = vec![1usize; view.width];
    keep.iter().for_each(|&i| group[i] = 0);
    let out = member_outputs(view, &group, 1, view.width as f64 / keep.len() as f64);
    let wrong = (0..view.n).filter(|&x| argmax(&out[0][x]) != labels[x] as usize).count();
    wrong as f64 / view.n as f64
}

/// q* from competence on an ascending grid, interpolated linearly in log q between the grid points
/// around the first crossing of [`COMPETENCE_LEVEL`]. The full network (q = 1) has competence 1 by
/// definition and closes the grid. A first grid point already at the level gives that q (a bound).
pub fn q_star(grid: &[f64], competence: &[f64]) -> f64 {
    let points: Vec<(f64, f64)> = grid.iter().copied().zip(competence.iter().copied()).chain([(1.0, 1.0)]).collect();
    if points[0].1 >= COMPETENCE_LEVEL {
        return points[0].0;
    }
    for pair in points.windows(2) {
        let ((q0, c0), (q1, c1)) = (pair[0], pair[1]);
        if c1 >= COMPETENCE_LEVEL {
            if c1 <= c0 {
                return q1;
            }
            let t = ((COMPETENCE_LEVEL - c0) / (c1 - c0)).clamp(0.0, 1.0);
            return (q0.ln() + t * (q1.ln() - q0.ln())).exp();
        }
    }
    1.0
}

/// P2 on a q grid with `draws` random subsets per q.
pub fn competence(
    view: &ModelView,
    labels: &[u32],
    full_err: f64,
    grid: &[f64],
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Metric> {
    let chance = chance_error(labels, view.classes);
    let mut out = vec![("competence", "chance_err".to_string(), chance)];
    let mut competences = Vec::with_capacity(grid.len());
    for &q in grid {
        let size = ((q * view.width as f64).round() as usize).clamp(1, view.width);
        let err = (0..draws)
            .map(|_| {
                let keep = rand::seq::index::sample(rng, view.width, size).into_vec();
                subnetwork_error(view, labels, &keep)
            })
            .sum::<f64>()
            / draws as f64;
        let c = if chance - full_err > 1e-12 { (chance - err) / (chance - full_err) } else { f64::NAN };
        out.push(("competence", format!("member_err_q{q}"), err));
        out.push(("competence", format!("competence_q{q}"), c));
        competences.push(c);
    }
    let (q, n_eff) = if competences.iter().all(|c| c.is_finite()) {
        let q = q_star(grid, &competences);
        (q, 1.0 / q)
    } else {
        (f64::NAN, f64::NAN)
    };
    out.push(("competence", "q_star".to_string(), q));
    out.push(("competence", "n_eff".to_string(), n_eff));
    out
}
