//! The unit Gram of P3, G = (A^T A) o (V^T V) (`width x width`, G_ij = <u_i, u_j> over the probe set),
//! summarised without ever holding it whole, so that probing a model costs what its probe set costs
//! and not width^3 (docs/SCIENCE.md, Probes, "Cost at any width").
//!
//! - Trace, Frobenius norm and near-duplicate pairs are exact, from tiles of A^T A streamed through
//!   the device (`tile x tile` at a time).
//! - The spectrum (for the effective rank) is exact where one side of G is small: G = U^T U with U the
//!   `n K x width` matrix of unit contributions (row (x, k), column i: a_i(x) V_ki), so its nonzero
//!   eigenvalues are those of the primal `width x width` G or of the dual `n K x n K` U U^T, whichever is
//!   smaller. Where both sides exceed [`ProbeLimits::exact_side`] it is estimated by stochastic Lanczos
//!   quadrature (Ubaru, Chen & Saad 2017) with Rademacher probes, and reported with its standard error.

use burn::tensor::{Tensor, TensorData};
use faer::{Mat, Side};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spectrum::{effective_rank, psd_eigenvalues};
use crate::view::host_f64;

/// Why a spectrum built on a Gram with non-finite entries is undefined.
pub const NON_FINITE_GRAM: &str = "the Gram matrix holds non-finite values (the network's outputs overflow)";

/// Which side of G the spectrum is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectrumMethod {
    /// The smaller exact side when it is at most [`ProbeLimits::exact_side`], else Lanczos.
    Auto,
    /// Eigenvalues of the `width x width` G.
    Primal,
    /// Eigenvalues of the `n K x n K` U U^T.
    Dual,
    /// Stochastic Lanczos quadrature.
    Lanczos,
}

/// The sizes that bound a probe's time and memory. The defaults keep one width-8192 model on a
/// 1000-input probe set under a second of exact eigenvalue work and a few tens of MB of temporaries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeLimits {
    /// Units per tile of A^T A.
    pub tile: usize,
    /// The largest matrix side whose eigenvalues are computed exactly (faer, O(side^3)).
    pub exact_side: usize,
    /// Rademacher probe vectors of the Lanczos estimate.
    pub lanczos_probes: usize,
    /// Lanczos steps per probe vector (quadrature nodes).
    pub lanczos_steps: usize,
    /// Columns of the top subspace deflated exactly before the Lanczos estimate.
    pub deflation: usize,
    /// Subspace iterations that refine it.
    pub power_iterations: usize,
    /// The most f32 values one temporary block (a chunk of the dual, of the Jacobians) may hold.
    pub block_values: usize,
    pub spectrum: SpectrumMethod,
}

impl Default for ProbeLimits {
    fn default() -> Self {
        ProbeLimits {
            tile: 1024,
            exact_side: 2048,
            lanczos_probes: 8,
            lanczos_steps: 20,
            deflation: 32,
            power_iterations: 3,
            block_values: 1 << 22,
            spectrum: SpectrumMethod::Auto,
        }
    }
}

/// The spectrum of G, exact or estimated.
#[derive(Clone, Debug, PartialEq)]
pub enum UnitSpectrum {
    /// Every eigenvalue of the side it was computed from (its nonzero ones are G's).
    Exact { method: SpectrumMethod, eigenvalues: Vec<f64> },
    /// Stochastic Lanczos quadrature: the effective rank and its Monte Carlo standard error (from the
    /// spread of the per-probe estimates; the quadrature error is far below it, docs/SCIENCE.md).
    Estimated { effective_rank: f64, standard_error: f64, quadrature_error: f64, probes: usize, steps: usize },
}

/// What P3 needs of G.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitGram {
    pub trace: f64,
    /// ||G||_F^2 = tr(G^2).
    pub frobenius_sq: f64,
    pub spectrum: Result<UnitSpectrum, String>,
    /// Pairs i < j whose contributions have cosine similarity at least `duplicate_cosine`.
    pub duplicate_pairs: Vec<(usize, usize)>,
}

impl UnitGram {
    pub fn effective_rank(&self) -> Result<f64, String> {
        match self.spectrum.as_ref().map_err(String::clone)? {
            UnitSpectrum::Exact { eigenvalues, .. } => Ok(effective_rank(eigenvalues)),
            UnitSpectrum::Estimated { effective_rank, .. } => Ok(*effective_rank),
        }
    }

    /// tr(G)^2 / ||G||_F^2: exact on every path (0 for a zero matrix).
    pub fn participation_ratio(&self) -> Result<f64, String> {
        self.spectrum.as_ref().map_err(String::clone)?;
        Ok(if self.frobenius_sq <= 0.0 { 0.0 } else { self.trace * self.trace / self.frobenius_sq })
    }
}

/// Summarises G for activations `a` (`[n, width]`, on the device, whose squared column norms are
/// `sq_norms`) and the readout `v_t` (V^T, `[width, classes]`, on the same device).
pub fn unit_gram(
    a: &Tensor<2>,
    v_t: &Tensor<2>,
    sq_norms: &[f64],
    duplicate_cosine: f64,
    limits: &ProbeLimits,
    seed: u64,
) -> UnitGram {
    let [n, width] = a.dims();
    let classes = v_t.dims()[1];
    let v_norms = host_f64(v_t.clone().powi_scalar(2).sum_dim(1));
    let diagonal: Vec<f64> = sq_norms.iter().zip(&v_norms).map(|(a, v)| a * v).collect();
    let dual_side = n * classes;
    let method = match limits.spectrum {
        SpectrumMethod::Auto if width.min(dual_side) > limits.exact_side => SpectrumMethod::Lanczos,
        SpectrumMethod::Auto if width <= dual_side => SpectrumMethod::Primal,
        SpectrumMethod::Auto => SpectrumMethod::Dual,
        chosen => chosen,
    };
    let tiles = stream_tiles(a, v_t, &diagonal, duplicate_cosine, limits.tile, method == SpectrumMethod::Primal);
    // The trace from the tiles' own diagonal, so that it and the Frobenius norm share their rounding (a
    // single unit's participation ratio is exactly 1).
    let trace = tiles.trace;
    let spectrum = if !tiles.finite || !trace.is_finite() {
        Err(NON_FINITE_GRAM.to_string())
    } else if trace == 0.0 {
        // Every contribution is zero (dead units or a zero readout): G = 0 on any path.
        Ok(UnitSpectrum::Exact { method, eigenvalues: vec![0.0; width] })
    } else {
        match method {
            SpectrumMethod::Primal => psd_eigenvalues(&tiles.full.expect("filled for the primal side"), width)
                .map(|eigenvalues| UnitSpectrum::Exact { method, eigenvalues }),
            SpectrumMethod::Dual => psd_eigenvalues(&dual_gram(a, v_t, limits.block_values), dual_side)
                .map(|eigenvalues| UnitSpectrum::Exact { method, eigenvalues }),
            _ => lanczos_effective_rank(a, v_t, trace, limits, seed),
        }
    };
    UnitGram { trace, frobenius_sq: tiles.frobenius_sq, spectrum, duplicate_pairs: tiles.duplicate_pairs }
}

/// What one pass over the tiles of G gives.
struct Tiles {
    trace: f64,
    frobenius_sq: f64,
    duplicate_pairs: Vec<(usize, usize)>,
    finite: bool,
    /// G itself, row-major, when asked for (the primal side).
    full: Option<Vec<f64>>,
}

/// One pass over the upper tiles of G: G_IJ = (A_I^T A_J) o (V_I^T V_J), each computed on the device
/// and read once.
fn stream_tiles(a: &Tensor<2>, v_t: &Tensor<2>, diagonal: &[f64], cosine: f64, tile: usize, keep: bool) -> Tiles {
    let width = diagonal.len();
    let tile = tile.max(1);
    let mut out = Tiles {
        trace: 0.0,
        frobenius_sq: 0.0,
        duplicate_pairs: Vec::new(),
        finite: true,
        full: keep.then(|| vec![0.0; width * width]),
    };
    // 1 / sqrt(G_ii), 0 for a zero unit: the cosine test without a square root per pair.
    let inverse_norm: Vec<f64> = diagonal.iter().map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }).collect();
    for i0 in (0..width).step_by(tile) {
        let bi = tile.min(width - i0);
        let a_i = a.clone().narrow(1, i0, bi).transpose();
        let v_i = v_t.clone().narrow(0, i0, bi);
        for j0 in (i0..width).step_by(tile) {
            let bj = tile.min(width - j0);
            let a_j = a.clone().narrow(1, j0, bj);
            let v_j = v_t.clone().narrow(0, j0, bj).transpose();
            let block = host_f64(a_i.clone().matmul(a_j) * v_i.clone().matmul(v_j));
            let weight = if i0 == j0 { 1.0 } else { 2.0 };
            for r in 0..bi {
                let i = i0 + r;
                for c in 0..bj {
                    let j = j0 + c;
                    let g = block[r * bj + c];
                    out.finite &= g.is_finite();
                    out.frobenius_sq += weight * g * g;
                    if i == j {
                        out.trace += g;
                    }
                    if let Some(full) = out.full.as_mut() {
                        full[i * width + j] = g;
                        full[j * width + i] = g;
                    }
                    if j > i && g * inverse_norm[i] * inverse_norm[j] >= cosine && inverse_norm[i] > 0.0 && inverse_norm[j] > 0.0
                    {
                        out.duplicate_pairs.push((i, j));
                    }
                }
            }
        }
    }
    out
}

/// U U^T (`n K x n K`, row (k, x)), accumulated over chunks of units so that no chunk of U holds more than
/// `block_values` values.
fn dual_gram(a: &Tensor<2>, v_t: &Tensor<2>, block_values: usize) -> Vec<f64> {
    let [n, width] = a.dims();
    let classes = v_t.dims()[1];
    let side = n * classes;
    let chunk = (block_values / side.max(1)).clamp(1, width);
    let mut gram: Option<Tensor<2>> = None;
    for c0 in (0..width).step_by(chunk) {
        let c = chunk.min(width - c0);
        // [1, n, c] * [K, 1, c] -> [K, n, c]: row (k, x) of U restricted to these units.
        let u = (a.clone().narrow(1, c0, c).unsqueeze_dim::<3>(0)
            * v_t.clone().narrow(0, c0, c).transpose().unsqueeze_dim::<3>(1))
        .reshape([side, c]);
        let part = u.clone().matmul(u.transpose());
        gram = Some(match gram {
            Some(g) => g + part,
            None => part,
        });
    }
    gram.map(host_f64).unwrap_or_default()
}

/// G Q for a block of vectors Q (`[width, b]`), without forming G: G = sum_k D_k A^T A D_k with
/// D_k = diag(V[k, :]).
fn gram_times(a: &Tensor<2>, v_t: &Tensor<2>, q: Tensor<2>) -> Tensor<2> {
    let [width, b] = q.dims();
    let classes = v_t.dims()[1];
    let per_class = v_t.clone().unsqueeze_dim::<3>(2); // [width, K, 1]
    let scaled = (q.unsqueeze_dim::<3>(1) * per_class.clone()).reshape([width, classes * b]);
    let back = a.clone().transpose().matmul(a.clone().matmul(scaled)).reshape([width, classes, b]);
    (back * per_class).sum_dim(1).reshape([width, b])
}

/// x ln x, 0 at 0 (the entropy's integrand; negative Ritz values are round-off of a PSD matrix).
fn x_ln_x(x: f64) -> f64 {
    if x > 0.0 { x * x.ln() } else { 0.0 }
}

/// A Ritz pair (theta, x) is deflated exactly when its residual ||G x - theta x|| is at most this share of
/// theta: x is then within about this angle of an eigenvector (less where theta is well separated), and
/// the error of splitting tr f(G) there is of second order in it.
const RITZ_TOLERANCE: f64 = 1e-2;

/// Host copy of a `[rows, cols]` tensor as an f64 matrix.
fn host_mat(t: Tensor<2>) -> Mat<f64> {
    let [rows, cols] = t.dims();
    let values = ddlab_model::host_f32(t);
    Mat::from_fn(rows, cols, |i, j| values[i * cols + j] as f64)
}

/// An orthonormal basis of the columns of `y` (Householder QR in f64 on the host), back on the device.
fn orthonormal(y: Tensor<2>) -> Tensor<2> {
    let device = y.device();
    let [rows, cols] = y.dims();
    let q = host_mat(y).qr().compute_thin_Q();
    let values: Vec<f32> = (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).map(|(i, j)| q[(i, j)] as f32).collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), &device)
}

/// `rows x columns` random signs, on the device.
fn rademacher(rng: &mut ChaCha8Rng, rows: usize, columns: usize, device: &burn::tensor::Device) -> Tensor<2> {
    let signs: Vec<f32> = (0..rows * columns).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect();
    Tensor::from_data(TensorData::new(signs, [rows, columns]), device)
}

/// Effective rank of G = exp(ln tr G - tr(G ln G) / tr G), with tr G exact and tr(G ln G) estimated in
/// two parts (a deflated stochastic Lanczos quadrature, docs/SCIENCE.md, Probes, Cost at any width):
/// 1. the top of the spectrum, which carries most of a trained net's entropy and most of a plain
///    estimator's variance: an orthonormal Q (`deflation` columns) from randomized subspace iteration,
///    and the eigenvalues theta of Q^T G Q (Rayleigh-Ritz), contributing sum f(theta) exactly;
/// 2. the rest: Rademacher z projected off Q, Lanczos on (I - QQ^T) G (I - QQ^T) from each (fully
///    reorthogonalised, against Q too), z^T f z read off the tridiagonal by Gauss quadrature; their mean,
///    with z^T G z as a control variate, and its standard error.
fn lanczos_effective_rank(
    a: &Tensor<2>,
    v_t: &Tensor<2>,
    trace: f64,
    limits: &ProbeLimits,
    seed: u64,
) -> Result<UnitSpectrum, String> {
    let width = a.dims()[1];
    let device = a.device();
    let (probes, steps) = (limits.lanczos_probes.max(3), limits.lanczos_steps.clamp(1, width));
    let rank = limits.deflation.min(width / 2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(ddlab_config::streams::LANCZOS);
    // 1. The top subspace and its Ritz pairs; only the converged pairs are deflated.
    let (top, q) = if rank == 0 {
        (0.0, None)
    } else {
        let mut q = orthonormal(gram_times(a, v_t, rademacher(&mut rng, width, rank, &device)));
        for _ in 0..limits.power_iterations {
            q = orthonormal(gram_times(a, v_t, q));
        }
        let gq = gram_times(a, v_t, q.clone());
        let projected = host_mat(q.clone().transpose().matmul(gq.clone()));
        let eigen = Mat::<f64>::from_fn(rank, rank, |i, j| 0.5 * (projected[(i, j)] + projected[(j, i)]))
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| format!("the Rayleigh-Ritz matrix did not converge ({e:?})"))?;
        let (y, theta) = (eigen.U(), eigen.S().column_vector());
        if (0..rank).any(|i| !theta[i].is_finite()) {
            return Err(NON_FINITE_GRAM.to_string());
        }
        let y_values: Vec<f32> = (0..rank).flat_map(|i| (0..rank).map(move |j| (i, j))).map(|(i, j)| y[(i, j)] as f32).collect();
        let y_dev = Tensor::<2>::from_data(TensorData::new(y_values, [rank, rank]), &device);
        let theta_row: Vec<f32> = (0..rank).map(|i| theta[i] as f32).collect();
        let theta_dev = Tensor::<2>::from_data(TensorData::new(theta_row, [1, rank]), &device);
        // Ritz vectors X = Q Y and their residuals G X - X Theta.
        let ritz_vectors = q.clone().matmul(y_dev.clone());
        let residual = host_f64((gq.matmul(y_dev) - ritz_vectors.clone() * theta_dev).powi_scalar(2).sum_dim(0));
        let converged: Vec<usize> =
            (0..rank).filter(|&i| theta[i] > 0.0 && residual[i].sqrt() <= RITZ_TOLERANCE * theta[i]).collect();
        if converged.is_empty() {
            (0.0, None)
        } else {
            let columns: Vec<f32> =
                (0..rank).flat_map(|i| converged.iter().map(move |&j| (i, j))).map(|(i, j)| y[(i, j)] as f32).collect();
            let kept = q.matmul(Tensor::<2>::from_data(TensorData::new(columns, [rank, converged.len()]), &device));
            let top = converged.iter().map(|&i| x_ln_x(theta[i])).sum::<f64>();
            (top, Some((kept, converged.iter().map(|&i| theta[i]).sum::<f64>())))
        }
    };
    let deflate = |w: Tensor<2>| match &q {
        Some((q, _)) => w.clone() - q.clone().matmul(q.clone().transpose().matmul(w)),
        None => w,
    };
    // 2. Lanczos on the rest, from the projected probes.
    let start = deflate(rademacher(&mut rng, width, probes, &device));
    let norms_sq = host_f64(start.clone().powi_scalar(2).sum_dim(0));
    let inverse: Vec<f32> = norms_sq.iter().map(|&s| if s > 0.0 { (1.0 / s.sqrt()) as f32 } else { 0.0 }).collect();
    let mut v = start * Tensor::<2>::from_data(TensorData::new(inverse, [1, probes]), &device);
    let mut basis = vec![v.clone()];
    let mut previous: Option<(Tensor<2>, Tensor<2>)> = None;
    let mut alphas: Vec<Vec<f64>> = vec![Vec::new(); probes];
    let mut betas: Vec<Vec<f64>> = vec![Vec::new(); probes];
    // The beta after the last step, for the Gauss-Radau rule (0 where the Krylov space was exhausted).
    let mut last_beta = vec![0.0; probes];
    let mut open: Vec<bool> = norms_sq.iter().map(|&s| s > 0.0).collect();
    for step in 0..steps {
        if !open.iter().any(|&o| o) {
            break;
        }
        let mut w = deflate(gram_times(a, v_t, v.clone()));
        if let Some((v_prev, beta_prev)) = previous.take() {
            w = w - v_prev * beta_prev;
        }
        let alpha = (v.clone() * w.clone()).sum_dim(0);
        w = w - v.clone() * alpha.clone();
        for b in &basis {
            let overlap = (b.clone() * w.clone()).sum_dim(0);
            w = w - b.clone() * overlap;
        }
        w = deflate(w);
        let alpha = host_f64(alpha);
        let beta = host_f64((w.clone() * w.clone()).sum_dim(0).sqrt());
        if alpha.iter().chain(&beta).any(|v| !v.is_finite()) {
            return Err(NON_FINITE_GRAM.to_string());
        }
        let mut inverse = vec![0f32; probes];
        for p in 0..probes {
            if !open[p] {
                continue;
            }
            alphas[p].push(alpha[p]);
            // The Krylov space is exhausted (what is left of G has low rank): the quadrature is exact.
            if beta[p] <= 1e-6 * trace {
                open[p] = false;
            } else if step + 1 == steps {
                open[p] = false;
                last_beta[p] = beta[p];
            } else {
                betas[p].push(beta[p]);
                inverse[p] = (1.0 / beta[p]) as f32;
            }
        }
        let kept: Vec<f32> = (0..probes).map(|p| if open[p] { beta[p] as f32 } else { 0.0 }).collect();
        let kept = Tensor::<2>::from_data(TensorData::new(kept, [1, probes]), &device);
        let next = w * Tensor::<2>::from_data(TensorData::new(inverse, [1, probes]), &device);
        previous = Some((v, kept));
        v = next;
        basis.push(v.clone());
    }
    // z^T f z lies between the Gauss rule sum_i tau_i^2 f(theta_i) (below: every even derivative of
    // x ln x is positive) and the Gauss-Radau rule with a node fixed at 0 (above: every odd one from the
    // third is negative); the midpoint is the estimate and half the gap its quadrature error bound
    // (Golub & Meurant 2010). Beside it z^T G z = ||z||^2 alpha_1 exactly, whose mean
    // tr G - sum theta is known: the control variate.
    let mut quadrature_error = 0.0;
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    for p in (0..probes).filter(|&p| !alphas[p].is_empty()) {
        let gauss = gauss_rule(&alphas[p], &betas[p], None)?;
        let radau = if last_beta[p] > 0.0 { gauss_rule(&alphas[p], &betas[p], Some(last_beta[p]))? } else { gauss };
        let (low, high) = (gauss.min(radau), gauss.max(radau));
        quadrature_error += norms_sq[p] * (high - low) / 2.0 / probes as f64;
        pairs.push((norms_sq[p] * (low + high) / 2.0, norms_sq[p] * alphas[p][0]));
    }
    let rest_trace = trace - q.as_ref().map_or(0.0, |(_, ritz_sum)| *ritz_sum);
    let (rest, variance) = if pairs.len() >= 3 { control_variate_mean(&pairs, rest_trace) } else { (0.0, 0.0) };
    let entropy = trace.ln() - (top + rest) / trace;
    let effective_rank = entropy.exp();
    // Delta method: d erank = erank * d entropy, d entropy = -d tr(G ln G) / tr G.
    let standard_error = effective_rank * (variance / probes as f64).sqrt() / trace;
    let quadrature_error = effective_rank * quadrature_error / trace;
    Ok(UnitSpectrum::Estimated {
        effective_rank,
        standard_error,
        quadrature_error,
        probes,
        steps: alphas.iter().map(Vec::len).max().unwrap_or(0),
    })
}

/// sum_i tau_i^2 f(theta_i), f = x ln x, over the eigenpairs of the Lanczos tridiagonal (alphas on the
/// diagonal, betas beside it): the Gauss rule; with `radau = Some(beta)` (the beta after the last step)
/// the tridiagonal is first extended by one row so that 0 is a node (the Gauss-Radau rule).
fn gauss_rule(alphas: &[f64], betas: &[f64], radau: Option<f64>) -> Result<f64, String> {
    let mut diagonal = alphas.to_vec();
    let mut off = betas[..alphas.len() - 1].to_vec();
    if let Some(beta) = radau {
        // omega = delta_m with T delta = beta^2 e_m (Thomas algorithm; T is positive semi-definite).
        let m = alphas.len();
        let (mut c, mut d) = (vec![0.0; m], vec![0.0; m]);
        for i in 0..m {
            let sub = if i > 0 { off[i - 1] } else { 0.0 };
            let denominator = alphas[i] - sub * if i > 0 { c[i - 1] } else { 0.0 };
            if denominator.abs() <= f64::EPSILON * alphas[i].abs().max(1.0) {
                // T is singular: 0 is already (nearly) a node, the Gauss rule stands.
                return gauss_rule(alphas, betas, None);
            }
            c[i] = if i + 1 < m { off[i] / denominator } else { 0.0 };
            let rhs = if i + 1 == m { beta * beta } else { 0.0 };
            d[i] = (rhs - sub * if i > 0 { d[i - 1] } else { 0.0 }) / denominator;
        }
        // The forward sweep ends with the last unknown itself.
        off.push(beta);
        diagonal.push(d[m - 1]);
    }
    let m = diagonal.len();
    let t = Mat::<f64>::from_fn(m, m, |i, j| match i.abs_diff(j) {
        0 => diagonal[i],
        1 => off[i.min(j)],
        _ => 0.0,
    });
    let eigen = t.self_adjoint_eigen(Side::Lower).map_err(|e| format!("the Lanczos tridiagonal did not converge ({e:?})"))?;
    let (u, s) = (eigen.U(), eigen.S().column_vector());
    Ok((0..m).map(|i| u[(0, i)] * u[(0, i)] * x_ln_x(s[i])).sum::<f64>())
}

/// The mean of the per-probe estimates e_j of tr(G ln G), with z_j^T G z_j = t_j (whose mean, tr G, is
/// known exactly) as a control variate: mean(e - b (t - tr G)) with b the regression slope of e on t.
/// Without it, a Gram with a few dominant eigenvalues (a trained net's) gives e_j that swing with how
/// much of z_j falls on them, exactly as t_j does; the regression removes that shared part (a
/// scale-invariant estimate: multiplying G by s leaves the effective rank's error unchanged). Returns the
/// mean and the residual variance per probe (n - 2 degrees of freedom).
fn control_variate_mean(pairs: &[(f64, f64)], trace: f64) -> (f64, f64) {
    let n = pairs.len() as f64;
    let (mean_e, mean_t) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let stt: f64 = pairs.iter().map(|p| (p.1 - mean_t).powi(2)).sum();
    let ste: f64 = pairs.iter().map(|p| (p.1 - mean_t) * (p.0 - mean_e)).sum();
    let slope = if stt > 0.0 { ste / stt } else { 0.0 };
    let residual: f64 = pairs.iter().map(|p| (p.0 - mean_e - slope * (p.1 - mean_t)).powi(2)).sum();
    let df = if stt > 0.0 { n - 2.0 } else { n - 1.0 };
    (mean_e - slope * (mean_t - trace), residual / df.max(1.0))
}

/// Groups (of two or more units) of near-duplicate units: single linkage over the given pairs.
pub fn duplicate_groups_of(width: usize, pairs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..width).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(i, j) in pairs {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        parent[a] = b;
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..width {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= 2).collect();
    // Ordered by their first unit, whatever order the pairs came in.
    groups.sort();
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `m` steps of fully reorthogonalised Lanczos on diag(d) from the unit vector z, in f64: the
    /// alphas, the betas between them and the beta after the last step.
    fn lanczos(d: &[f64], z: &[f64], m: usize) -> (Vec<f64>, Vec<f64>, f64) {
        let mut basis: Vec<Vec<f64>> = vec![z.to_vec()];
        let (mut alphas, mut betas) = (Vec::new(), Vec::new());
        for j in 0..m {
            let q = &basis[j];
            let mut w: Vec<f64> = q.iter().zip(d).map(|(q, d)| q * d).collect();
            alphas.push(w.iter().zip(q).map(|(a, b)| a * b).sum());
            for b in &basis {
                let overlap: f64 = w.iter().zip(b).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(b).for_each(|(a, b)| *a -= overlap * b);
            }
            let beta = w.iter().map(|v| v * v).sum::<f64>().sqrt();
            betas.push(beta);
            basis.push(w.iter().map(|v| v / beta).collect());
        }
        let last = betas.pop().unwrap();
        (alphas, betas, last)
    }

    /// For f = x ln x the Gauss rule is below z^T f(D) z and the Gauss-Radau rule with a node at 0 above
    /// it, at every number of steps; with as many steps as D has eigenvalues both are exact.
    #[test]
    fn gauss_and_gauss_radau_rules_bracket_a_known_quadratic_form() {
        let n = 30;
        let d: Vec<f64> = (0..n).map(|i| 1e-3 + 4.0 * ((i as f64 * 0.37).sin()).powi(2)).collect();
        let sign = |i: usize| if (i * 7).is_multiple_of(3) { 1.0 } else { -1.0 };
        let z: Vec<f64> = (0..n).map(|i| sign(i) / (n as f64).sqrt()).collect();
        let exact: f64 = d.iter().zip(&z).map(|(&l, &z)| z * z * x_ln_x(l)).sum();
        for m in [1, 2, 4, 8, 12] {
            let (alphas, betas, last) = lanczos(&d, &z, m);
            let gauss = gauss_rule(&alphas, &betas, None).unwrap();
            let radau = gauss_rule(&alphas, &betas, Some(last)).unwrap();
            assert!(gauss <= exact && exact <= radau, "m = {m}: Gauss {gauss}, exact {exact}, Gauss-Radau {radau}");
        }
        let (alphas, betas, _) = lanczos(&d, &z, n);
        let full = gauss_rule(&alphas, &betas, None).unwrap();
        assert!((full - exact).abs() <= 1e-9 * exact.abs(), "{full} vs {exact}");
    }
}
