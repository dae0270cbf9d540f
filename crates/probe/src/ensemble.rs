//! P5, the seed ensemble of one width (docs/SCIENCE.md, Probes): bias and variance across S seeds on the
//! probe set (clean test labels), in both loss spaces, each named by its space, and the test error of
//! k-seed ensembles for k = 1..S.
//!
//! - Squared loss on one-hot targets: f_bar = mean_s f_s; variance = mean_s mean_x ||f_s - f_bar||^2,
//!   bias^2 = mean_x ||f_bar - y||^2, and E_s[loss_s] = bias^2 + variance exactly.
//! - Log loss (Heskes 1998): p_s = softmax(f_s); q = the normalised geometric mean of the p_s, which is
//!   softmax(f_bar); variance = mean_s mean_x KL(q || p_s), bias = mean_x CE(y, q), and
//!   E_s[CE(y, p_s)] = bias + variance exactly.
//!
//! An ensemble predicts with the mean of its members' outputs (logits): that is the normalised
//! geometric mean of the probabilities for cross-entropy and the mean output for squared loss, the
//! predictor each decomposition is about, and both have the same argmax.

use ddlab_config::metrics::{
    ENSEMBLE_ERR_K, ENSEMBLE_ERR_WITHOUT, KW_DISAGREEMENT_K, KW_ERR_DIFF_K, VARIANCE_KL, VARIANCE_KL_WITHOUT, VARIANCE_SQ,
    VARIANCE_SQ_WITHOUT,
};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use crate::metric::Metric;
use crate::partition::{argmax, ce_loss, kl, log_softmax, sq_loss};
use crate::view::CrossView;

/// At most this many k-subsets of seeds per k: all of them when there are no more, else this many
/// seeded draws.
pub const MAX_SUBSETS: usize = 64;

/// Figures of a seed ensemble.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedEnsemble {
    pub seeds: usize,
    pub variance_sq: f64,
    /// variance_sq * S / (S - 1); `None` for one seed.
    pub variance_sq_unbiased: Option<f64>,
    pub bias2_sq: f64,
    pub mean_loss_sq: f64,
    pub variance_kl: f64,
    pub bias_kl: f64,
    pub mean_loss_kl: f64,
    /// Error of the ensemble of all S seeds.
    pub ensemble_err: f64,
    /// Mean error of one seed.
    pub mean_member_err: f64,
    /// `ensemble_err_k[k - 1]`: mean error of the k-seed ensembles, k = 1..S.
    pub ensemble_err_k: Vec<f64>,
}

/// Binomial coefficient, saturating (only compared with [`MAX_SUBSETS`]).
fn choose(n: usize, k: usize) -> usize {
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// All k-subsets of 0..n in lexicographic order.
fn all_subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..k).collect();
    loop {
        out.push(current.clone());
        // The rightmost index that can still move right.
        let Some(i) = (0..k).rev().find(|&i| current[i] < n - k + i) else { return out };
        current[i] += 1;
        for j in i + 1..k {
            current[j] = current[j - 1] + 1;
        }
    }
}

/// The k-subsets of `n` seeds that the k-ensemble error averages over: all when there are at most
/// [`MAX_SUBSETS`], else that many seeded draws (the same on every run).
pub fn seed_subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    if choose(n, k) <= MAX_SUBSETS {
        return all_subsets(n, k);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(ddlab_config::streams::SEED_SUBSETS_SEED);
    rng.set_stream(k as u64);
    (0..MAX_SUBSETS).map(|_| sample(&mut rng, n, k).into_vec()).collect()
}

/// The figures of any set of seeds: both decompositions, the ensemble's error and the mean member's.
struct Core {
    bias2_sq: f64,
    variance_sq: f64,
    mean_loss_sq: f64,
    bias_kl: f64,
    variance_kl: f64,
    mean_loss_kl: f64,
    ensemble_err: f64,
    member_err: f64,
}

/// `outs[s][x][c]`: seed s's output for input x and class c. Means over the inputs.
fn core(outs: &[&Vec<Vec<f64>>], labels: &[u32]) -> Core {
    let (n, sf) = (labels.len(), outs.len() as f64);
    let k = outs[0][0].len();
    let mut f = Core {
        bias2_sq: 0.0,
        variance_sq: 0.0,
        mean_loss_sq: 0.0,
        bias_kl: 0.0,
        variance_kl: 0.0,
        mean_loss_kl: 0.0,
        ensemble_err: 0.0,
        member_err: 0.0,
    };
    for (x, &y) in labels.iter().enumerate() {
        let mean: Vec<f64> = (0..k).map(|c| outs.iter().map(|o| o[x][c]).sum::<f64>() / sf).collect();
        let log_q = log_softmax(&mean);
        f.bias2_sq += sq_loss(&mean, y);
        f.bias_kl += ce_loss(&mean, y);
        for o in outs.iter().map(|o| &o[x]) {
            f.variance_sq += o.iter().zip(&mean).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / sf;
            f.mean_loss_sq += sq_loss(o, y) / sf;
            f.variance_kl += kl(&log_q, &log_softmax(o)) / sf;
            f.mean_loss_kl += ce_loss(o, y) / sf;
            f.member_err += (argmax(o) != y as usize) as u8 as f64 / sf;
        }
        f.ensemble_err += (argmax(&mean) != y as usize) as u8 as f64;
    }
    let nf = n as f64;
    for v in [
        &mut f.bias2_sq,
        &mut f.variance_sq,
        &mut f.mean_loss_sq,
        &mut f.bias_kl,
        &mut f.variance_kl,
        &mut f.mean_loss_kl,
        &mut f.ensemble_err,
        &mut f.member_err,
    ] {
        *v /= nf;
    }
    f
}

/// Each view's output as `[input][class]` in f64.
fn outputs(views: &[&CrossView]) -> Vec<Vec<Vec<f64>>> {
    views.iter().map(|v| v.output.chunks(v.classes).map(|row| row.iter().map(|&o| o as f64).collect()).collect()).collect()
}

pub fn seed_ensemble_figures(views: &[&CrossView], labels: &[u32]) -> SeedEnsemble {
    let (n, k, s) = (views[0].n, views[0].classes, views.len());
    let sf = s as f64;
    let outs = outputs(views);
    let f = core(&outs.iter().collect::<Vec<_>>(), labels);
    let ensemble_err_k = (1..=s)
        .map(|size| {
            let subsets = seed_subsets(s, size);
            let wrong: usize = subsets
                .iter()
                .map(|subset| {
                    (0..n)
                        .filter(|&x| {
                            let sum: Vec<f64> = (0..k).map(|c| subset.iter().map(|&m| outs[m][x][c]).sum()).collect();
                            argmax(&sum) != labels[x] as usize
                        })
                        .count()
                })
                .sum();
            wrong as f64 / (subsets.len() * n) as f64
        })
        .collect();
    SeedEnsemble {
        seeds: s,
        variance_sq: f.variance_sq,
        variance_sq_unbiased: (s > 1).then(|| f.variance_sq * sf / (sf - 1.0)),
        bias2_sq: f.bias2_sq,
        mean_loss_sq: f.mean_loss_sq,
        variance_kl: f.variance_kl,
        bias_kl: f.bias_kl,
        mean_loss_kl: f.mean_loss_kl,
        ensemble_err: f.ensemble_err,
        mean_member_err: f.member_err,
        ensemble_err_k,
    }
}

pub fn seed_ensemble(views: &[&CrossView], labels: &[u32]) -> Vec<Metric> {
    let f = seed_ensemble_figures(views, labels);
    let p = "seed_ensemble";
    let mut out = vec![
        Metric::new(p, "seeds", f.seeds as f64),
        Metric::of(VARIANCE_KL, Ok(f.variance_kl)),
        Metric::new(p, "bias_kl", f.bias_kl),
        Metric::new(p, "mean_loss_kl", f.mean_loss_kl),
        Metric::of(VARIANCE_SQ, Ok(f.variance_sq)),
        match f.variance_sq_unbiased {
            Some(v) => Metric::new(p, "variance_sq_unbiased", v),
            None => Metric::undefined(p, "variance_sq_unbiased", "needs at least two seeds"),
        },
        Metric::new(p, "bias2_sq", f.bias2_sq),
        Metric::new(p, "mean_loss_sq", f.mean_loss_sq),
        Metric::new(p, "ensemble_err", f.ensemble_err),
        Metric::new(p, "mean_member_err", f.mean_member_err),
    ];
    out.extend(
        f.ensemble_err_k.iter().enumerate().map(|(i, &e)| Metric::new(ENSEMBLE_ERR_K.probe(), ENSEMBLE_ERR_K.name(i + 1), e)),
    );
    out
}

/// The seed ensemble without each of its seeds in turn (leave one out; 3 or more seeds, so that two
/// remain): per left-out seed, the variance in both spaces and the error of the remaining seeds'
/// ensemble. The jackknife over these gives H4's and H5's intervals from whole seeds (docs/SCIENCE.md,
/// P5). Empty with fewer than 3 seeds.
pub fn seed_ensemble_without(views: &[(u64, &CrossView)], labels: &[u32]) -> Vec<(u64, Vec<Metric>)> {
    if views.len() < 3 {
        return Vec::new();
    }
    let outs = outputs(&views.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    (0..views.len())
        .map(|left_out| {
            let rest: Vec<&Vec<Vec<f64>>> = outs.iter().enumerate().filter(|(i, _)| *i != left_out).map(|(_, o)| o).collect();
            let f = core(&rest, labels);
            let rows = vec![
                Metric::of(VARIANCE_SQ_WITHOUT, Ok(f.variance_sq)),
                Metric::of(VARIANCE_KL_WITHOUT, Ok(f.variance_kl)),
                Metric::of(ENSEMBLE_ERR_WITHOUT, Ok(f.ensemble_err)),
            ];
            (views[left_out].0, rows)
        })
        .collect()
}

/// H5's intervention (docs/SCIENCE.md, Probes, P5, "One wide net against k narrow ones"): one net of
/// width kW against the ensemble of k nets of width W (averaged logits), on the probe set. Takes the
/// networks' outputs (`n x classes`, row-major, as [`CrossView::output`]): only a forward pass is needed.
/// Returns (error of the wide net - error of the ensemble, share of inputs where the two predict
/// different classes).
pub fn kw_comparison(wide: &[f32], narrow: &[&[f32]], labels: &[u32], classes: usize) -> (f64, f64) {
    let n = labels.len();
    let (mut wide_err, mut ensemble_err, mut disagree) = (0.0, 0.0, 0.0);
    for x in 0..n {
        let row = |out: &[f32]| -> Vec<f64> { out[x * classes..(x + 1) * classes].iter().map(|&o| o as f64).collect() };
        let mean: Vec<f64> = (0..classes)
            .map(|c| narrow.iter().map(|out| out[x * classes + c] as f64).sum::<f64>() / narrow.len() as f64)
            .collect();
        let (a, b) = (argmax(&row(wide)), argmax(&mean));
        wide_err += (a != labels[x] as usize) as u8 as f64;
        ensemble_err += (b != labels[x] as usize) as u8 as f64;
        disagree += (a != b) as u8 as f64;
    }
    let n = n as f64;
    ((wide_err - ensemble_err) / n, disagree / n)
}

/// H5's pairs `(k, i, j)`: `widths[j]` is exactly k times `widths[i]` (k = 2..=max_k). Only exact
/// partners: a stand-in 0.1 octave off k W is a net 7% wider or narrower than the comparison asks for,
/// and the difference it measures trends with width (docs/SCIENCE.md, P5). A grid of powers of two (or
/// any grid with ratio 2 between some widths) holds k = 2 and 4; a grid with no partner leaves H5's kW
/// comparison not testable, and the analysis says so.
pub fn kw_partners(widths: &[usize], max_k: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for k in 2..=max_k {
        for (i, &w) in widths.iter().enumerate() {
            if let Some(j) = widths.iter().position(|&v| Some(v) == w.checked_mul(k)) {
                out.push((k, i, j));
            }
        }
    }
    out
}

/// H5's comparison of one width with its k-fold partner (docs/SCIENCE.md, Probes, P5): each wide net
/// (`wide`: seed and outputs) against the ensemble of k narrow nets, the k narrow seeds from the wide
/// net's own seed on, cyclically (from its position when that seed did not finish at the narrow width).
/// Returns per wide seed `kw_err_diff_k{k}` and `kw_disagreement_k{k}`; nothing when fewer than k narrow
/// nets finished.
pub fn kw_metrics(
    k: usize,
    narrow: &[(u64, &[f32])],
    wide: &[(u64, &[f32])],
    labels: &[u32],
    classes: usize,
) -> Vec<(u64, Vec<Metric>)> {
    if narrow.len() < k {
        return Vec::new();
    }
    wide.iter()
        .enumerate()
        .map(|(position, (seed, outputs))| {
            let start = narrow.iter().position(|(s, _)| s == seed).unwrap_or(position % narrow.len());
            let members: Vec<&[f32]> = (0..k).map(|d| narrow[(start + d) % narrow.len()].1).collect();
            let (err_diff, disagreement) = kw_comparison(outputs, &members, labels, classes);
            let metrics = vec![
                Metric::new(KW_ERR_DIFF_K.probe(), KW_ERR_DIFF_K.name(k), err_diff),
                Metric::new(KW_DISAGREEMENT_K.probe(), KW_DISAGREEMENT_K.name(k), disagreement),
            ];
            (*seed, metrics)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kw_partners_are_exactly_k_times_as_wide() {
        // The old default grid (19 geometric points, 18 widths) holds exact partners only by chance.
        let geometric = [1, 2, 3, 5, 7, 10, 15, 22, 32, 47, 69, 102, 149, 219, 323, 474, 697, 1024];
        let partners = kw_partners(&geometric, 5);
        let at = |p: &[(usize, usize, usize)], widths: &[usize], k: usize, w: usize| {
            p.iter().find(|p| p.0 == k && widths[p.1] == w).map(|p| widths[p.2])
        };
        assert_eq!(at(&partners, &geometric, 2, 5), Some(10));
        assert_eq!(at(&partners, &geometric, 3, 5), Some(15));
        assert_eq!(at(&partners, &geometric, 2, 7), None, "15 is not 14");
        assert_eq!(at(&partners, &geometric, 2, 1024), None);
        // Powers of two: k = 2 and 4 at every width with room above it, never k = 3.
        let powers: Vec<usize> = (0..=10).map(|e| 1 << e).collect();
        let partners = kw_partners(&powers, 4);
        assert_eq!(partners.iter().filter(|p| p.0 == 2).count(), 10);
        assert_eq!(partners.iter().filter(|p| p.0 == 4).count(), 9);
        assert_eq!(partners.iter().filter(|p| p.0 == 3).count(), 0);
        assert!(partners.iter().all(|&(k, i, j)| powers[j] == k * powers[i]));
        assert_eq!(kw_partners(&[usize::MAX / 2 + 1], 3), Vec::new(), "no overflow");
    }

    #[test]
    fn kw_metrics_pairs_each_wide_seed_with_the_k_narrow_seeds_from_its_own_on() {
        // One input of class 0, two classes. Narrow seed 0 predicts class 0, seeds 1 and 2 class 1; the
        // wide nets predict class 0. Wide seed 1 meets narrow seeds {1, 2} (ensemble wrong: error
        // difference -1); wide seed 5 did not finish narrow, so its position (1) picks {1, 2} as well;
        // wide seed 2 wraps around to {2, 0}, whose mean output [5, 0.5] predicts class 0 (difference 0).
        let narrow: Vec<(u64, &[f32])> = vec![(0, &[10.0, 0.0]), (1, &[0.0, 1.0]), (2, &[0.0, 1.0])];
        let wide: Vec<(u64, &[f32])> = vec![(1, &[1.0, 0.0]), (5, &[1.0, 0.0]), (2, &[1.0, 0.0])];
        let rows = kw_metrics(2, &narrow, &wide, &[0], 2);
        let diff = |i: usize| rows[i].1[0].value.clone().unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 5, 2]);
        assert_eq!(rows[0].1[0].name, "kw_err_diff_k2");
        assert_eq!((diff(0), diff(1), diff(2)), (-1.0, -1.0, 0.0));
        assert_eq!(rows[0].1[1].value.clone().unwrap(), 1.0, "wide and ensemble disagree on the input");
        assert!(kw_metrics(4, &narrow, &wide, &[0], 2).is_empty(), "fewer than k narrow nets: nothing");
    }
}
