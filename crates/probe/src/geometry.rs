//! P6, representation geometry: the participation ratio of the hidden-activation covariance (the
//! dimension of the population code) and unbiased linear CKA (Kornblith et al. 2019, with the unbiased
//! HSIC estimator of Song et al. 2012) between representations of the same inputs.

use crate::rows::Metric;
use crate::spectrum::participation_ratio_of;
use crate::view::ModelView;

/// Participation ratio of cov(a) = A^T A / n - mean mean^T.
pub fn activation_pr(view: &ModelView) -> Vec<Metric> {
    let (h, n) = (view.width, view.n as f64);
    let cov: Vec<f64> =
        (0..h * h).map(|ij| view.hidden_gram[ij] / n - view.hidden_mean[ij / h] * view.hidden_mean[ij % h]).collect();
    let pr = participation_ratio_of(&cov, h);
    vec![("geometry", "activation_pr".into(), pr), ("geometry", "activation_pr_per_unit".into(), pr / h as f64)]
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

/// Unbiased linear CKA between two representations given by their input Grams (`n x n`).
pub fn cka_from_grams(k: &[f64], l: &[f64], n: usize) -> f64 {
    assert!(n >= 4, "unbiased CKA needs at least 4 inputs");
    let denom = (hsic_unbiased(k, k, n) * hsic_unbiased(l, l, n)).sqrt();
    if denom > 0.0 { hsic_unbiased(k, l, n) / denom } else { f64::NAN }
}

/// CKA between the last hidden layers of two models on the same probe set.
pub fn cka(a: &ModelView, b: &ModelView) -> f64 {
    cka_from_grams(&a.hidden_outer, &b.hidden_outer, a.n)
}
