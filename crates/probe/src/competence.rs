//! P2, sub-network competence (docs/SCIENCE.md, Probes): keep a random subset S of the units, rescaled so
//! that the sub-network's output is unbiased for f: f_S = (H/|S|) sum_{i in S} u_i + c. The share kept is
//! the one actually drawn, |S|/H with |S| = round(qH) clamped to 1..H, not the nominal q of the grid:
//! at small widths several grid points round to the same share, and the nominal q would let
//! N_eff = 1/q* exceed H. competence(share) = (chance error - member error) / (chance error - full
//! error); q* is the share (interpolated in log share) where competence first reaches 0.9, and
//! N_eff = 1/q*, at most H.
//!
//! Competence divides by the gap between chance and the full network; where that gap is not clearly
//! larger than the sampling noise of an error rate (as at initialisation) every competence figure is
//! undefined, with the reason, never a number.

use ddlab_config::metrics::N_EFF;
use rand_chacha::ChaCha8Rng;

use rayon::prelude::*;

use crate::metric::Metric;
use crate::partition::argmax;
use crate::view::ModelView;

/// The competence level that defines q*.
pub const COMPETENCE_LEVEL: f64 = 0.9;

/// Why competence is undefined when the full network does not beat chance by [`chance_gap_needed`].
pub const NOT_BETTER_THAN_CHANCE: &str = "full network not clearly better than chance";

/// Error of the majority-class guess on these labels (1 - 1/K when classes are balanced).
pub fn chance_error(labels: &[u32], classes: usize) -> f64 {
    let mut counts = vec![0usize; classes];
    labels.iter().for_each(|&y| counts[y as usize] += 1);
    1.0 - *counts.iter().max().unwrap_or(&0) as f64 / labels.len().max(1) as f64
}

/// The smallest gap (chance error - full error) at which competence is defined. q* is read where
/// competence crosses 0.9, i.e. a tenth of the gap away from the full network; that tenth must be at
/// least one standard error sqrt(c (1 - c) / n) of an error rate near chance c measured on the n probe
/// inputs, or q* would be read off sampling noise. So the gap must be at least 10 standard errors
/// (0.095 for 10 balanced classes on 1000 inputs).
pub fn chance_gap_needed(chance: f64, n: usize) -> f64 {
    (chance * (1.0 - chance) / n.max(1) as f64).sqrt() / (1.0 - COMPETENCE_LEVEL)
}

/// Error of the sub-network made of the units in `keep`.
pub fn subnetwork_error(view: &ModelView, labels: &[u32], keep: &[usize]) -> f64 {
    // Only the kept units are visited, in ascending order: the sums of `member_outputs`, in its order.
    let mut units = keep.to_vec();
    units.sort_unstable();
    let (k, scale) = (view.classes, view.width as f64 / keep.len() as f64);
    let mut row = vec![0.0; k];
    let mut wrong = 0;
    for (x, &label) in labels.iter().enumerate().take(view.n) {
        row.fill(0.0);
        for &i in &units {
            let a = view.a(x, i) as f64;
            if a == 0.0 {
                continue;
            }
            for (o, &v) in row.iter_mut().zip(&view.readout_t[i * k..(i + 1) * k]) {
                *o += a * v as f64;
            }
        }
        for (o, &c) in row.iter_mut().zip(view.offset_row(x)) {
            *o = *o * scale + c as f64;
        }
        wrong += (argmax(&row) != label as usize) as usize;
    }
    wrong as f64 / view.n as f64
}

/// Units kept for a nominal share q of `width` units: round(q width), at least 1, at most `width`.
pub fn kept_units(q: f64, width: usize) -> usize {
    ((q * width as f64).round() as usize).clamp(1, width)
}

/// q* from competence at ascending, distinct shares, interpolated linearly in log share between the
/// points around the first crossing of [`COMPETENCE_LEVEL`]. The full network (share 1) has competence
/// 1 by definition and closes the list when it is not already in it. A first point already at the level
/// gives that share: a bound (the true q* is at most it).
pub fn q_star(shares: &[f64], competence: &[f64]) -> f64 {
    let mut points: Vec<(f64, f64)> = shares.iter().copied().zip(competence.iter().copied()).collect();
    if points.last().is_none_or(|p| p.0 < 1.0) {
        points.push((1.0, 1.0));
    }
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

/// P2 on a q grid with `draws` random subsets per grid point. `full_err` is the error of the network's
/// own forward pass on the probe set.
pub fn competence(
    view: &ModelView,
    labels: &[u32],
    full_err: f64,
    grid: &[f64],
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Metric> {
    let h = view.width;
    let chance = chance_error(labels, view.classes);
    let (gap, needed) = (chance - full_err, chance_gap_needed(chance, view.n));
    let undefined = if gap > 0.0 && gap >= needed { None } else { Some(NOT_BETTER_THAN_CHANCE) };
    let mut out = vec![
        Metric::new("competence", "chance_err", chance),
        Metric::new("competence", "chance_gap", gap),
        Metric::new("competence", "chance_gap_needed", needed),
    ];
    let competence_of = |err: f64| (chance - err) / gap;
    // Member error by units kept (several grid points may keep the same number).
    let mut by_size: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for &q in grid {
        let size = kept_units(q, h);
        // Subsets drawn in order, their errors computed on every core, summed in order.
        let keeps: Vec<Vec<usize>> = (0..draws).map(|_| rand::seq::index::sample(rng, h, size).into_vec()).collect();
        let errors: Vec<f64> = keeps.par_iter().map(|keep| subnetwork_error(view, labels, keep)).collect();
        let err = errors.iter().sum::<f64>() / draws.max(1) as f64;
        by_size.entry(size).or_default().push(err);
        out.push(Metric::new("competence", format!("kept_share_q{q}"), size as f64 / h as f64));
        out.push(Metric::new("competence", format!("member_err_q{q}"), err));
        out.push(match undefined {
            None => Metric::new("competence", format!("competence_q{q}"), competence_of(err)),
            Some(reason) => Metric::undefined("competence", format!("competence_q{q}"), reason),
        });
    }
    match undefined.or(by_size.is_empty().then_some("empty q grid")) {
        None => {
            let shares: Vec<f64> = by_size.keys().map(|&s| s as f64 / h as f64).collect();
            let competences: Vec<f64> =
                by_size.values().map(|errs| competence_of(errs.iter().sum::<f64>() / errs.len() as f64)).collect();
            let q = q_star(&shares, &competences);
            let bound = competences[0] >= COMPETENCE_LEVEL;
            out.push(Metric::new("competence", "q_star", q));
            out.push(Metric::of(N_EFF, Ok((1.0 / q).min(h as f64))));
            out.push(Metric::new("competence", "n_eff_is_lower_bound", bound as u8 as f64));
        }
        Some(reason) => {
            for name in ["q_star", N_EFF.name(), "n_eff_is_lower_bound"] {
                out.push(Metric::undefined("competence", name, reason));
            }
        }
    }
    out
}
