//! P6, representation geometry: the participation ratio of the hidden-activation covariance (the
//! dimension of the population code) and unbiased linear CKA (Kornblith et al. 2019, with the unbiased
//! HSIC estimator of Song et al. 2012) between representations of the same inputs (docs/SCIENCE.md,
//! Probes, P6).

use crate::metric::Metric;
use crate::spectrum::participation_ratio_of;
use crate::view::{CrossView, ModelView};
use ddlab_config::metrics::{ACTIVATION_PR, CKA_SEEDS};

/// Participation ratio of cov(a) = Ac^T Ac / n (Ac: A minus its column means), computed from its dual
/// Ac Ac^T (`n x n`): the two share their nonzero eigenvalues, and the ratio is scale-free.
pub fn activation_pr(view: &ModelView) -> Vec<Metric> {
    let h = view.width;
    let pr = participation_ratio_of(&view.centred_outer, view.n);
    vec![Metric::of(ACTIVATION_PR, Ok(pr)), Metric::new("geometry", "activation_pr_per_unit", pr / h as f64)]
}

/// Unbiased HSIC of two `n x n` Gram matrices (n >= 4).
fn hsic_unbiased(k: &[f64], l: &[f64], n: usize) -> f64 {
    let off = |m: &[f64], i: usize, j: usize| if i == j { 0.0 } else { m[i * n + j] };
    let (mut trace, mut sum_k, mut sum_l, mut cross) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let (mut row_k, mut row_l) = (0.0, 0.0);
        for j in 0..n {
            let (kij, lij) = (off(k, i, j), off(l, i, j));
            trace += kij * lij;
            row_k += kij;
            row_l += lij;
        }
        sum_k += row_k;
        sum_l += row_l;
        cross += row_k * row_l;
    }
    let n = n as f64;
    (trace + sum_k * sum_l / ((n - 1.0) * (n - 2.0)) - 2.0 / (n - 2.0) * cross) / (n * (n - 3.0))
}

/// The fewest probe inputs the unbiased HSIC estimator is defined for (it divides by n - 3).
pub const CKA_MIN_INPUTS: usize = 4;

/// Unbiased linear CKA between two representations given by their input Grams (`n x n`). Undefined,
/// with the reason, for fewer than [`CKA_MIN_INPUTS`] inputs or a representation whose unbiased
/// self-HSIC is not positive (constant on the probe set, e.g. all units dead).
pub fn cka_from_grams(k: &[f64], l: &[f64], n: usize) -> Result<f64, String> {
    if n < CKA_MIN_INPUTS {
        return Err(format!("unbiased CKA needs at least {CKA_MIN_INPUTS} probe inputs, got {n}"));
    }
    let (kk, ll) = (hsic_unbiased(k, k, n), hsic_unbiased(l, l, n));
    if !(kk > 0.0 && ll > 0.0) {
        return Err("a representation does not vary over the probe set (unbiased HSIC <= 0)".into());
    }
    let value = hsic_unbiased(k, l, n) / (kk * ll).sqrt();
    if value.is_finite() { Ok(value) } else { Err(format!("CKA computation gave {value}")) }
}

/// CKA between the last hidden layers of two models on the same probe set.
pub fn cka(a: &CrossView, b: &CrossView) -> Result<f64, String> {
    cka_from_grams(&a.hidden_outer, &b.hidden_outer, a.n)
}

/// `cka_seeds`: the mean unbiased CKA over the pairs of seeds of one width where it is defined;
/// undefined (with the first pair's reason) when it is defined for no pair, e.g. on fewer than 4 probe
/// inputs.
pub fn cka_between_seeds(members: &[&CrossView]) -> Metric {
    let mut values = Vec::new();
    let mut reason = None;
    for i in 0..members.len() {
        for j in i + 1..members.len() {
            match cka(members[i], members[j]) {
                Ok(v) => values.push(v),
                Err(e) => reason = reason.or(Some(e)),
            }
        }
    }
    let value = if values.is_empty() {
        Err(reason.unwrap_or_else(|| "fewer than two seeds".into()))
    } else {
        Ok(values.iter().sum::<f64>() / values.len() as f64)
    };
    Metric::of(CKA_SEEDS, value)
}
