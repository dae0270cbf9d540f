//! Spectra of symmetric positive semi-definite matrices and the two effective dimensions of a spectrum.

use faer::{Mat, Side};

/// Eigenvalues of a symmetric `n x n` matrix (row-major), clamped at 0: the matrices here are Grams,
/// so negative values are round-off. An error (the reason a metric built on it is undefined) where the
/// matrix holds a non-finite value (a network whose weights overflowed) or the solver does not converge.
pub fn psd_eigenvalues(matrix: &[f64], n: usize) -> Result<Vec<f64>, String> {
    assert_eq!(matrix.len(), n * n);
    if n == 0 {
        return Ok(Vec::new());
    }
    if matrix.iter().any(|v| !v.is_finite()) {
        return Err("the Gram matrix holds non-finite values (the network's outputs overflow)".into());
    }
    let m = Mat::<f64>::from_fn(n, n, |i, j| 0.5 * (matrix[i * n + j] + matrix[j * n + i]));
    let values =
        m.self_adjoint_eigenvalues(Side::Lower).map_err(|e| format!("the eigenvalue solver did not converge ({e:?})"))?;
    Ok(values.into_iter().map(|v| v.max(0.0)).collect())
}

/// Effective rank exp(-sum p log p), p = lambda / sum lambda (Roy & Vetterli 2007). 0 for a zero matrix.
pub fn effective_rank(eigenvalues: &[f64]) -> f64 {
    let total: f64 = eigenvalues.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let entropy: f64 = eigenvalues.iter().filter(|&&l| l > 0.0).map(|&l| l / total).map(|p| -p * p.ln()).sum();
    entropy.exp()
}

/// Participation ratio (sum lambda)^2 / sum lambda^2. 0 for a zero matrix.
pub fn participation_ratio(eigenvalues: &[f64]) -> f64 {
    let total: f64 = eigenvalues.iter().sum();
    let squares: f64 = eigenvalues.iter().map(|l| l * l).sum();
    if squares <= 0.0 { 0.0 } else { total * total / squares }
}

/// Participation ratio of a symmetric matrix without its spectrum: tr(C)^2 / ||C||_F^2.
pub fn participation_ratio_of(matrix: &[f64], n: usize) -> f64 {
    let trace: f64 = (0..n).map(|i| matrix[i * n + i]).sum();
    let frob: f64 = matrix.iter().map(|v| v * v).sum();
    if frob <= 0.0 { 0.0 } else { trace * trace / frob }
}
