//! The known-answer models, fitted in closed form (docs/SCIENCE.md, Known answers): least squares on
//! the first p input features (`linear`) or on a frozen random ReLU layer of width p
//! (`random_features`), each the minimum-norm solution (or ridge). No training loop, no epochs.

use ddlab_config::{Init, ModelKind};
use ddlab_model::{Layer, MlpShape, MlpWeights};
use faer::Mat;

use crate::TrainError;

/// A fitted model's outputs on the training and test inputs (row-major `n x outputs`), and, for random
/// features, the whole network as an MLP of width p (its first layer frozen, its readout fitted, no
/// readout bias), which the probes read like any trained MLP.
#[derive(Clone, Debug)]
pub struct ClosedFormFit {
    pub train_outputs: Vec<f64>,
    pub test_outputs: Vec<f64>,
    pub outputs: usize,
    pub network: Option<MlpWeights>,
    /// Singular values of the feature matrix below the cutoff (treated as zero): its rank deficit.
    pub dropped_directions: usize,
}

/// Relative cutoff of the pseudo-inverse: singular values at most `max(n, p) * eps * s_max` count as
/// zero (the convention of LAPACK's and NumPy's minimum-norm solvers). At p = n the feature matrix is
/// square and badly conditioned but, with Gaussian or ReLU features, of full rank, so no direction is
/// dropped and the fit interpolates; the SVD keeps this exact where the normal equations would square
/// the condition number.
pub fn cutoff(n: usize, p: usize, largest: f64) -> f64 {
    n.max(p) as f64 * f64::EPSILON * largest
}

/// b = argmin (1/n) |F b - Y|^2 + ridge |b|^2 (the minimum-norm minimiser when ridge = 0), through the
/// thin SVD F = U S V^T: b = V diag(s / (s^2 + n ridge)) U^T Y, with singular values under [`cutoff`]
/// treated as zero. Returns (b, directions dropped).
pub fn least_squares(features: &Mat<f64>, targets: &Mat<f64>, ridge: f64) -> Result<(Mat<f64>, usize), TrainError> {
    let (n, p) = (features.nrows(), features.ncols());
    if features.col_iter().any(|c| c.iter().any(|v| !v.is_finite())) {
        return Err(TrainError::Fit("the feature matrix holds non-finite values".into()));
    }
    let svd = features.thin_svd().map_err(|e| TrainError::Fit(format!("the SVD did not converge ({e:?})")))?;
    let s = svd.S().column_vector();
    let largest = (0..s.nrows()).map(|i| s[i]).fold(0.0, f64::max);
    let cut = cutoff(n, p, largest);
    let mut dropped = 0;
    let gains: Vec<f64> = (0..s.nrows())
        .map(|i| {
            let si = s[i];
            if si <= cut {
                dropped += 1;
                0.0
            } else {
                si / (si * si + n as f64 * ridge)
            }
        })
        .collect();
    let mut projected = svd.U().transpose() * targets; // r x K
    for (i, g) in gains.iter().enumerate() {
        for k in 0..projected.ncols() {
            projected[(i, k)] *= g;
        }
    }
    Ok((svd.V() * &projected, dropped))
}

/// Rows of `x` (row-major, `dim` columns) as an `n x dim` matrix.
fn matrix(x: &[f64], dim: usize) -> Mat<f64> {
    let n = x.len() / dim;
    Mat::from_fn(n, dim, |i, j| x[i * dim + j])
}

/// The feature map of a kind at width p: the first p inputs, or relu(x W + b) of a frozen layer.
enum FeatureMap {
    FirstInputs(usize),
    RandomRelu { w: Mat<f64>, b: Vec<f64> },
}

impl FeatureMap {
    fn apply(&self, x: &Mat<f64>) -> Mat<f64> {
        match self {
            FeatureMap::FirstInputs(p) => x.subcols(0, *p).to_owned(),
            FeatureMap::RandomRelu { w, b } => {
                let mut h = x * w;
                for j in 0..h.ncols() {
                    for i in 0..h.nrows() {
                        h[(i, j)] = (h[(i, j)] + b[j]).max(0.0);
                    }
                }
                h
            }
        }
    }
}

/// Test inputs are mapped in blocks of this many rows, so that a wide feature map of a large test set
/// never exists whole.
const TEST_BLOCK: usize = 2048;

/// Fits a closed-form model of width `p` on `train_x` (row-major, `dim` columns) against `targets`
/// (row-major `n x outputs`: one-hot classes or real values), and evaluates it on `test_x`.
/// `random_features` draws its frozen layer as the MLP's first layer of the same shape and seed would be.
#[allow(clippy::too_many_arguments)]
pub fn fit_closed_form(
    kind: ModelKind,
    p: usize,
    ridge: f64,
    init: Init,
    seed: u64,
    train_x: &[f64],
    targets: &[f64],
    outputs: usize,
    test_x: &[f64],
    dim: usize,
) -> Result<ClosedFormFit, TrainError> {
    let n = targets.len() / outputs;
    let (map, mut network) = match kind {
        ModelKind::Mlp => return Err(TrainError::Fit("an MLP is trained, not fitted in closed form".into())),
        ModelKind::Linear => {
            if p > dim {
                return Err(TrainError::Fit(format!(
                    "model.widths: p = {p} exceeds the {dim} input features the linear model chooses from"
                )));
            }
            (FeatureMap::FirstInputs(p), None)
        }
        ModelKind::RandomFeatures => {
            let shape = MlpShape { input: dim, width: p, depth: 1, classes: outputs };
            let weights = MlpWeights::init(shape, init, seed);
            let first = &weights.layers[0];
            let w = Mat::from_fn(dim, p, |i, j| first.w[i * p + j] as f64);
            let b = first.b.iter().map(|&v| v as f64).collect();
            (FeatureMap::RandomRelu { w, b }, Some(weights))
        }
    };
    let features = map.apply(&matrix(train_x, dim));
    let y = matrix(targets, outputs);
    let (coef, dropped_directions) = least_squares(&features, &y, ridge)?;
    let train = &features * &coef;
    let mut test_outputs = Vec::with_capacity(test_x.len() / dim * outputs);
    for block in test_x.chunks(TEST_BLOCK * dim) {
        let out = &map.apply(&matrix(block, dim)) * &coef;
        for i in 0..out.nrows() {
            test_outputs.extend((0..outputs).map(|k| out[(i, k)]));
        }
    }
    let train_outputs = (0..n).flat_map(|i| (0..outputs).map(move |k| (i, k))).map(|(i, k)| train[(i, k)]).collect();
    if let Some(net) = network.as_mut() {
        // The readout: fan_in p, fan_out K, row-major w[i * K + k], no bias.
        net.layers[1] = Layer {
            fan_in: p,
            fan_out: outputs,
            w: (0..p).flat_map(|i| (0..outputs).map(move |k| (i, k))).map(|(i, k)| coef[(i, k)] as f32).collect(),
            b: vec![0.0; outputs],
        };
    }
    Ok(ClosedFormFit { train_outputs, test_outputs, outputs, network, dropped_directions })
}

/// Squared loss (summed over outputs, mean over examples) and the error: the share of misclassified
/// examples for classes, the same squared loss (the risk) for real targets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub loss: f64,
    pub err: f64,
}

/// The predicted class of an output row: the first largest output.
pub fn argmax(row: &[f64]) -> usize {
    row.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (k, &v)| if v > a.1 { (k, v) } else { a }).0
}

/// Scores outputs against class labels (targets one-hot).
pub fn score_classes(outputs: &[f64], classes: usize, labels: &[u32]) -> Scores {
    let mut loss = 0.0;
    let mut wrong = 0;
    for (row, &label) in outputs.chunks_exact(classes).zip(labels) {
        loss += row.iter().enumerate().map(|(k, v)| (v - if k == label as usize { 1.0 } else { 0.0 }).powi(2)).sum::<f64>();
        wrong += usize::from(argmax(row) != label as usize);
    }
    let n = labels.len() as f64;
    Scores { loss: loss / n, err: wrong as f64 / n }
}

/// Scores one output against real targets: the loss and the error are both the mean squared error.
pub fn score_values(outputs: &[f64], targets: &[f64]) -> Scores {
    let mse = outputs.iter().zip(targets).map(|(o, y)| (o - y).powi(2)).sum::<f64>() / targets.len() as f64;
    Scores { loss: mse, err: mse }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(n: usize, p: usize, seed: u64) -> Mat<f64> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Mat::from_fn(n, p, |_, _| StandardNormal.sample(&mut rng))
    }

    #[test]
    fn under_determined_fit_is_the_minimum_norm_interpolant() {
        // p > n: F b = y exactly, and b lies in the row space of F (b = F^T a), which makes it the
        // minimum-norm solution.
        let (n, p) = (6, 15);
        let f = gaussian(n, p, 1);
        let y = gaussian(n, 2, 2);
        let (b, dropped) = least_squares(&f, &y, 0.0).unwrap();
        assert_eq!(dropped, 0);
        let residual = &f * &b - &y;
        assert!(residual.norm_l2() < 1e-10, "{}", residual.norm_l2());
        // a = (F F^T)^-1 F b; then F^T a must give b back.
        let gram = &f * f.transpose();
        use faer::linalg::solvers::Solve;
        let a = gram.full_piv_lu().solve(&f * &b);
        assert!((f.transpose() * &a - &b).norm_l2() < 1e-10);
    }

    #[test]
    fn over_determined_fit_solves_the_normal_equations_and_ridge_shrinks() {
        let (n, p) = (30, 5);
        let f = gaussian(n, p, 3);
        let y = gaussian(n, 1, 4);
        let (b, _) = least_squares(&f, &y, 0.0).unwrap();
        // F^T (F b - y) = 0.
        assert!((f.transpose() * (&f * &b - &y)).norm_l2() < 1e-10);
        // Ridge: (F^T F + n lambda I) b = F^T y.
        let lambda = 0.3;
        let (r, _) = least_squares(&f, &y, lambda).unwrap();
        let lhs = f.transpose() * &f * &r + &r * faer::Scale(n as f64 * lambda);
        assert!((lhs - f.transpose() * &y).norm_l2() < 1e-10);
        assert!(r.norm_l2() < b.norm_l2());
    }

    #[test]
    fn at_p_equal_n_the_square_system_is_solved_exactly() {
        for n in [5, 40, 200] {
            let f = gaussian(n, n, n as u64);
            let y = gaussian(n, 1, 7);
            let (b, dropped) = least_squares(&f, &y, 0.0).unwrap();
            assert_eq!(dropped, 0);
            let rel = (&f * &b - &y).norm_l2() / y.norm_l2();
            assert!(rel < 1e-8, "n = {n}: relative residual {rel}");
        }
    }

    #[test]
    fn rank_deficient_features_drop_directions_instead_of_blowing_up() {
        // Two identical columns: one direction of the row space is zero.
        let mut f = gaussian(10, 4, 9);
        for i in 0..10 {
            f[(i, 3)] = f[(i, 2)];
        }
        let y = gaussian(10, 1, 10);
        let (b, dropped) = least_squares(&f, &y, 0.0).unwrap();
        assert_eq!(dropped, 1);
        // The minimum-norm solution splits the shared weight evenly between the twin columns.
        assert!((b[(2, 0)] - b[(3, 0)]).abs() < 1e-10);
    }

    #[test]
    fn random_features_network_reproduces_the_fitted_outputs() {
        let (n, d, p, k) = (12, 3, 20, 2);
        let x: Vec<f64> = (0..n * d).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
        let targets: Vec<f64> = (0..n * k).map(|i| (i % 2) as f64).collect();
        let fit = fit_closed_form(ModelKind::RandomFeatures, p, 0.0, Init::KaimingUniform, 5, &x, &targets, k, &x, d).unwrap();
        // Interpolates (p > n) and the test outputs on the same inputs are the train outputs.
        for (o, t) in fit.train_outputs.iter().zip(&targets) {
            assert!((o - t).abs() < 1e-8);
        }
        for (a, b) in fit.train_outputs.iter().zip(&fit.test_outputs) {
            assert!((a - b).abs() < 1e-9);
        }
        // The network form gives the same outputs: relu(x W + b) V.
        let net = fit.network.unwrap();
        assert_eq!(
            net.layers[0],
            MlpWeights::init(MlpShape { input: d, width: p, depth: 1, classes: k }, Init::KaimingUniform, 5).layers[0]
        );
        for i in 0..n {
            for kk in 0..k {
                let mut out = 0.0;
                for j in 0..p {
                    let h =
                        (0..d).map(|q| x[i * d + q] * net.layers[0].w[q * p + j] as f64).sum::<f64>() + net.layers[0].b[j] as f64;
                    out += h.max(0.0) * net.layers[1].w[j * k + kk] as f64;
                }
                assert!((out - fit.train_outputs[i * k + kk]).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn scores_count_errors_and_squared_loss() {
        let outputs = [0.9, 0.2, 0.1, 0.4];
        let s = score_classes(&outputs, 2, &[0, 0]);
        assert_eq!(s.err, 0.5);
        assert!((s.loss - ((0.01 + 0.04) + (0.81 + 0.16)) / 2.0).abs() < 1e-12);
        let v = score_values(&[1.0, 2.0], &[0.0, 4.0]);
        assert_eq!(v, Scores { loss: 2.5, err: 2.5 });
    }
}
