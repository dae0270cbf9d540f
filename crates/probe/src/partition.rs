//! P1, the partition ensemble (exact): the H units split into M groups; member m is
//! f_m(x) = M * sum_{i in G_m} u_i(x) + c, so f is exactly the mean of its members and the
//! Krogh-Vedelsby identity holds: mean member loss - ambiguity = full-net loss.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::rows::Metric;
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
            let row = &mut out[group[i]][x];
            for (c, o) in row.iter_mut().enumerate() {
                *o += a * view.v(c, i) as f64;
            }
        }
        for member in out.iter_mut() {
            for (c, o) in member[x].iter_mut().enumerate() {
                *o = *o * scale + view.readout_bias[c] as f64;
            }
        }
    }
    out
}

/// Figures of one partition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartitionFigures {
    pub member_err: f64,
    pub member_loss: f64,
    pub full_loss: f64,
    pub full_err: f64,
    pub ambiguity: f64,
    pub disagreement: f64,
}

/// P1 for one given partition into `m` groups.
pub fn partition_figures(view: &ModelView, labels: &[u32], group: &[usize], m: usize) -> PartitionFigures {
    let members = member_outputs(view, group, m, m as f64);
    let n = view.n as f64;
    let (mut member_err, mut member_loss, mut full_loss, mut full_err, mut ambiguity, mut disagreement) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for x in 0..view.n {
        let full: Vec<f64> = (0..view.classes).map(|c| members.iter().map(|mm| mm[x][c]).sum::<f64>() / m as f64).collect();
        let full_class = argmax(&full);
        full_loss += sq_loss(&full, labels[x]);
        full_err += (full_class != labels[x] as usize) as u8 as f64;
        for member in &members {
            let out = &member[x];
            let class = argmax(out);
            member_err += (class != labels[x] as usize) as u8 as f64;
            member_loss += sq_loss(out, labels[x]);
            ambiguity += out.iter().zip(&full).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            disagreement += (class != full_class) as u8 as f64;
        }
    }
    let per_member = n * m as f64;
    PartitionFigures {
        member_err: member_err / per_member,
        member_loss: member_loss / per_member,
        full_loss: full_loss / n,
        full_err: full_err / n,
        ambiguity: ambiguity / per_member,
        disagreement: disagreement / per_member,
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
        let figures: Vec<PartitionFigures> =
            (0..draws).map(|_| partition_figures(view, labels, &random_partition(view.width, m, rng), m)).collect();
        let mean = |f: fn(&PartitionFigures) -> f64| figures.iter().map(f).sum::<f64>() / figures.len() as f64;
        out.push(("partition", format!("member_err_m{m}"), mean(|f| f.member_err)));
        out.push(("partition", format!("member_loss_m{m}"), mean(|f| f.member_loss)));
        out.push(("partition", format!("ambiguity_m{m}"), mean(|f| f.ambiguity)));
        out.push(("partition", format!("disagreement_m{m}"), mean(|f| f.disagreement)));
        out.push(("partition", format!("kv_residual_m{m}"), mean(|f| f.member_loss - f.ambiguity - f.full_loss)));
    }
    out
}
