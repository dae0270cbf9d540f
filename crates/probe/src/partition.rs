//! P1, the partition ensemble (exact; docs/SCIENCE.md, Probes): the H units split into M groups; member m
//! is f_m(x) = M * sum_{i in G_m} u_i(x) + c(x), so f is exactly the mean of its members. Two exact
//! decompositions of the mean member loss, both always reported, each named by its space:
//! squared loss (Krogh & Vedelsby 1995): mean_m ||f_m - y||^2 = ||f - y||^2 + mean_m ||f_m - f||^2;
//! log loss (Heskes 1998): q = softmax(f) is the normalised geometric mean of p_m = softmax(f_m), and
//! mean_m CE(y, p_m) = CE(y, q) + mean_m KL(q || p_m). The `_kl` figures match cross-entropy training,
//! the `_sq` figures squared-loss training.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::metric::Metric;
use crate::view::ModelView;

/// Squared loss of an output row against a one-hot label.
pub(crate) fn sq_loss(out: &[f64], label: u32) -> f64 {
    out.iter().enumerate().map(|(k, &o)| (o - if k as u32 == label { 1.0 } else { 0.0 }).powi(2)).sum()
}

pub(crate) fn argmax(out: &[f64]) -> usize {
    out.iter().enumerate().fold((0, f64::NEG_INFINITY), |best, (k, &v)| if v > best.1 { (k, v) } else { best }).0
}

/// The members' outputs for one partition (`group[i]` is unit i's group in 0..m), `[member][x][k]`,
/// accumulated in f64 from the unit contributions.
pub(crate) fn member_outputs(view: &ModelView, group: &[usize], m: usize, scale: f64) -> Vec<Vec<Vec<f64>>> {
    let k = view.classes;
    let mut out = vec![vec![vec![0.0; k]; view.n]; m];
    for x in 0..view.n {
        for i in 0..view.width {
            let a = view.a(x, i) as f64;
            if a == 0.0 || group[i] >= m {
                continue;
            }
            let readout = &view.readout_t[i * k..(i + 1) * k];
            for (o, &v) in out[group[i]][x].iter_mut().zip(readout) {
                *o += a * v as f64;
            }
        }
        let offset = view.offset_row(x);
        for member in out.iter_mut() {
            for (o, &c) in member[x].iter_mut().zip(offset) {
                *o = *o * scale + c as f64;
            }
        }
    }
    out
}

/// Figures of one partition, in both loss spaces, all measured against the network's own forward
/// pass f (`ModelView::output`), never against the members' mean recomputed: the residuals then check
/// that the members really average to the network (docs/SCIENCE.md, Probes, P1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartitionFigures {
    /// Mean member test error.
    pub member_err: f64,
    /// Mean member squared loss mean_m mean_x ||f_m - y||^2.
    pub member_loss_sq: f64,
    /// Mean member cross-entropy mean_m mean_x CE(y, softmax(f_m)).
    pub member_loss_kl: f64,
    /// Krogh-Vedelsby ambiguity mean_m mean_x ||f_m - f||^2.
    pub ambiguity_sq: f64,
    /// Heskes ambiguity mean_m mean_x KL(q || p_m), q = softmax(f), p_m = softmax(f_m).
    pub ambiguity_kl: f64,
    /// Share of (member, input) pairs whose member argmax differs from the network's.
    pub disagreement: f64,
    pub full_err: f64,
    pub full_loss_sq: f64,
    pub full_loss_kl: f64,
    /// member_loss_sq - ambiguity_sq - full_loss_sq (0 up to round-off when the members average to f).
    pub kv_residual: f64,
    /// member_loss_kl - ambiguity_kl - full_loss_kl (0 up to round-off when the members average to f).
    pub kl_residual: f64,
}

/// log softmax of a logit row, computed stably (max subtracted before the exponentials).
pub(crate) fn log_softmax(f: &[f64]) -> Vec<f64> {
    let max = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + f.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
    f.iter().map(|v| v - lse).collect()
}

/// Cross-entropy -log softmax(f)[y] of a logit row against a label.
pub(crate) fn ce_loss(f: &[f64], label: u32) -> f64 {
    -log_softmax(f)[label as usize]
}

/// KL(q || p) from log-probabilities. A class with q_k = 0 (underflow) adds 0, so the result is finite
/// whenever the logits are.
pub(crate) fn kl(log_q: &[f64], log_p: &[f64]) -> f64 {
    log_q.iter().zip(log_p).map(|(&lq, &lp)| lq.exp() * (lq - lp)).sum()
}

/// Output row x of the network's own forward pass, in f64.
pub(crate) fn network_output(view: &ModelView, x: usize) -> Vec<f64> {
    view.output[x * view.classes..(x + 1) * view.classes].iter().map(|&o| o as f64).collect()
}

/// Error and both losses of the network's own forward pass: `(full_err, full_loss_sq, full_loss_kl)`.
pub fn full_figures(view: &ModelView, labels: &[u32]) -> (f64, f64, f64) {
    let (mut err, mut sq, mut ce) = (0.0, 0.0, 0.0);
    for (x, &label) in labels.iter().enumerate().take(view.n) {
        let f = network_output(view, x);
        err += (argmax(&f) != label as usize) as u8 as f64;
        sq += sq_loss(&f, label);
        ce += ce_loss(&f, label);
    }
    let n = view.n as f64;
    (err / n, sq / n, ce / n)
}

/// P1 for one given partition into `m` groups.
pub fn partition_figures(view: &ModelView, labels: &[u32], group: &[usize], m: usize) -> PartitionFigures {
    let members = member_outputs(view, group, m, m as f64);
    let n = view.n as f64;
    let (mut member_err, mut member_loss_sq, mut member_loss_kl, mut ambiguity_sq, mut ambiguity_kl, mut disagreement) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for x in 0..view.n {
        let full = network_output(view, x);
        let log_q = log_softmax(&full);
        let full_class = argmax(&full);
        for member in &members {
            let out = &member[x];
            let log_p = log_softmax(out);
            let class = argmax(out);
            member_err += (class != labels[x] as usize) as u8 as f64;
            member_loss_sq += sq_loss(out, labels[x]);
            member_loss_kl -= log_p[labels[x] as usize];
            ambiguity_sq += out.iter().zip(&full).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            ambiguity_kl += kl(&log_q, &log_p);
            disagreement += (class != full_class) as u8 as f64;
        }
    }
    let per_member = n * m as f64;
    let (full_err, full_loss_sq, full_loss_kl) = full_figures(view, labels);
    let (member_loss_sq, member_loss_kl) = (member_loss_sq / per_member, member_loss_kl / per_member);
    let (ambiguity_sq, ambiguity_kl) = (ambiguity_sq / per_member, ambiguity_kl / per_member);
    PartitionFigures {
        member_err: member_err / per_member,
        member_loss_sq,
        member_loss_kl,
        ambiguity_sq,
        ambiguity_kl,
        disagreement: disagreement / per_member,
        full_err,
        full_loss_sq,
        full_loss_kl,
        kv_residual: member_loss_sq - ambiguity_sq - full_loss_sq,
        kl_residual: member_loss_kl - ambiguity_kl - full_loss_kl,
    }
}

/// A random partition of `width` units into `m` groups whose sizes differ by at most one.
pub fn random_partition(width: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..width).collect();
    order.shuffle(rng);
    let mut group = vec![0; width];
    for (slot, &unit) in order.iter().enumerate() {
        group[unit] = slot % m;
    }
    group
}

/// P1 averaged over `draws` random partitions for each M in {2, 4, 8} with H/M >= 1.
pub fn partition_ensemble(view: &ModelView, labels: &[u32], draws: usize, rng: &mut ChaCha8Rng) -> Vec<Metric> {
    let mut out = Vec::new();
    for m in [2usize, 4, 8].into_iter().filter(|&m| view.width >= m) {
        // Partitions drawn in order, their figures computed on every core, averaged in order.
        let partitions: Vec<Vec<usize>> = (0..draws).map(|_| random_partition(view.width, m, rng)).collect();
        let figures: Vec<PartitionFigures> =
            partitions.par_iter().map(|group| partition_figures(view, labels, group, m)).collect();
        let mean = |f: fn(&PartitionFigures) -> f64| figures.iter().map(f).sum::<f64>() / figures.len() as f64;
        let mut put =
            |name: &str, f: fn(&PartitionFigures) -> f64| out.push(Metric::new("partition", format!("{name}_m{m}"), mean(f)));
        put("member_err", |f| f.member_err);
        put("member_loss_kl", |f| f.member_loss_kl);
        put("member_loss_sq", |f| f.member_loss_sq);
        put("ambiguity_kl", |f| f.ambiguity_kl);
        put("ambiguity_sq", |f| f.ambiguity_sq);
        put("disagreement", |f| f.disagreement);
        put("kl_residual", |f| f.kl_residual);
        put("kv_residual", |f| f.kv_residual);
    }
    out
}
