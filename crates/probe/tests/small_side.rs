//! Probes at any width (docs/SCIENCE.md, Probes, Cost at any width): every quantity that no longer comes
//! from a width x width matrix agrees with that matrix, computed here directly in f64 from the view's
//! activations and readout; the Lanczos estimate lies within its stated error.

mod util;

use ddlab_config::Init;
use ddlab_model::{MlpShape, MlpWeights};
use ddlab_probe::*;
use util::*;

/// G = (A^T A) o (V^T V), computed directly in f64 from the activations and the readout.
fn direct_unit_gram(view: &ModelView) -> Vec<f64> {
    let (h, k) = (view.width, view.classes);
    let mut gram = vec![0.0; h * h];
    for i in 0..h {
        for j in 0..h {
            let aa: f64 = (0..view.n).map(|x| view.a(x, i) as f64 * view.a(x, j) as f64).sum();
            let vv: f64 = (0..k).map(|c| view.v(c, i) as f64 * view.v(c, j) as f64).sum();
            gram[i * h + j] = aa * vv;
        }
    }
    gram
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// A net worth probing: trained a little on learnable labels, so its units differ.
fn net(width: usize, n: usize, d: usize, k: usize, seed: u64) -> (MlpWeights, burn::tensor::Tensor<2>) {
    let values = inputs(n, d, seed);
    let y = teacher_labels(&values, d, k);
    let x = tensor(values, n, d);
    (train(width, seed, &x, &y, k, 100), x)
}

fn limits(spectrum: SpectrumMethod) -> ProbeLimits {
    // Tiles and chunks smaller than the matrices, so that every remainder path runs.
    ProbeLimits { tile: 7, block_values: 300, spectrum, ..ProbeLimits::default() }
}

#[test]
fn primal_and_dual_spectra_agree_with_each_other_and_with_the_direct_gram() {
    // Both sides of H = n K: (H, n, K) with H > n K, H < n K, and H = n K.
    for (width, n, k, seed) in [(60, 12, 3, 1u64), (25, 20, 4, 2), (40, 10, 4, 3), (90, 16, 2, 4)] {
        let (weights, x) = net(width, n, 5, k, seed);
        let primal = ModelView::observe_with(&weights, &x, &limits(SpectrumMethod::Primal), 0);
        let dual = ModelView::observe_with(&weights, &x, &limits(SpectrumMethod::Dual), 0);
        let direct = psd_eigenvalues(&direct_unit_gram(&primal), width).unwrap();
        let (erank, pr) = (effective_rank(&direct), participation_ratio(&direct));
        for (view, side) in [(&primal, "primal"), (&dual, "dual")] {
            let g = &view.unit_gram;
            let (e, p) = (g.effective_rank().unwrap(), g.participation_ratio().unwrap());
            assert!(relative(e, erank) <= 1e-6, "{side}, H {width}, n {n}, K {k}: effective rank {e} vs direct {erank}");
            assert!(relative(p, pr) <= 1e-6, "{side}, H {width}, n {n}, K {k}: participation ratio {p} vs direct {pr}");
            assert!(matches!(g.spectrum, Ok(UnitSpectrum::Exact { .. })));
        }
        let expected_side = if width <= n * k { SpectrumMethod::Primal } else { SpectrumMethod::Dual };
        let auto = ModelView::observe(&weights, &x);
        assert!(
            matches!(auto.unit_gram.spectrum, Ok(UnitSpectrum::Exact { method, .. }) if method == expected_side),
            "H {width}, n K {}: the smaller side is decomposed",
            n * k
        );
        assert!(relative(auto.unit_gram.effective_rank().unwrap(), erank) <= 1e-6);
    }
}

#[test]
fn streamed_trace_frobenius_and_duplicate_pairs_equal_the_direct_ones() {
    // A net with exact copies of its units has duplicates to find; tiles of 1, 3 and 64 units.
    let (small, x, _) = trained(5, 3);
    let big = copies(&small, 3);
    let h = big.shape.width;
    for tile in [1usize, 3, 64] {
        let view = ModelView::observe_with(&big, &x, &ProbeLimits { tile, ..ProbeLimits::default() }, 0);
        let gram = direct_unit_gram(&view);
        let trace: f64 = (0..h).map(|i| gram[i * h + i]).sum();
        let frob: f64 = gram.iter().map(|g| g * g).sum();
        assert!(relative(view.unit_gram.trace, trace) <= 1e-6, "tile {tile}: trace");
        assert!(relative(view.unit_gram.frobenius_sq, frob) <= 1e-6, "tile {tile}: Frobenius");
        let mut expected = Vec::new();
        for i in 0..h {
            for j in i + 1..h {
                let (gi, gj) = (gram[i * h + i], gram[j * h + j]);
                if gi > 0.0 && gj > 0.0 && gram[i * h + j] / (gi * gj).sqrt() >= DUPLICATE_COSINE {
                    expected.push((i, j));
                }
            }
        }
        let mut found = view.unit_gram.duplicate_pairs.clone();
        found.sort();
        assert!(!expected.is_empty());
        assert_eq!(found, expected, "tile {tile}");
    }
}

#[test]
fn activation_participation_ratio_from_the_dual_equals_the_covariances() {
    for (width, n, seed) in [(30, 50, 5u64), (120, 20, 6)] {
        let (weights, x) = net(width, n, 4, 3, seed);
        let view = ModelView::observe(&weights, &x);
        let mean: Vec<f64> = (0..width).map(|i| (0..n).map(|x| view.a(x, i) as f64).sum::<f64>() / n as f64).collect();
        let mut cov = vec![0.0; width * width];
        for i in 0..width {
            for j in 0..width {
                cov[i * width + j] =
                    (0..n).map(|x| (view.a(x, i) as f64 - mean[i]) * (view.a(x, j) as f64 - mean[j])).sum::<f64>() / n as f64;
            }
        }
        let expected = participation_ratio_of(&cov, width);
        let got = get(&activation_pr(&view), "activation_pr").clone().unwrap();
        assert!(relative(got, expected) <= 1e-6, "H {width}, n {n}: {got} vs {expected}");
    }
}

#[test]
fn lanczos_effective_rank_lies_within_its_stated_error() {
    // Trained and initial nets, wide against n K, one of rank far below the Lanczos steps.
    let cases = [
        (300, 40, 5, 7u64, true),
        (400, 30, 4, 8, false),
        (256, 6, 2, 9, true),
        (500, 50, 3, 10, true),
        (700, 120, 5, 12, false),
    ];
    for (width, n, k, seed, trained_net) in cases {
        let (weights, x) = if trained_net {
            net(width, n, 6, k, seed)
        } else {
            let shape = MlpShape { input: 6, width, depth: 1, classes: k };
            (MlpWeights::init(shape, Init::KaimingUniform, seed), tensor(inputs(n, 6, seed), n, 6))
        };
        let exact = ModelView::observe_with(&weights, &x, &limits(SpectrumMethod::Dual), seed);
        let truth = exact.unit_gram.effective_rank().unwrap();
        let estimated = ModelView::observe_with(&weights, &x, &limits(SpectrumMethod::Lanczos), seed);
        let Ok(UnitSpectrum::Estimated { effective_rank, standard_error, quadrature_error, .. }) = estimated.unit_gram.spectrum
        else {
            panic!("H {width}: no estimate")
        };
        assert!(
            (effective_rank - truth).abs() <= 3.0 * standard_error + quadrature_error + 2e-3 * truth,
            "H {width}, n {n}, K {k}: estimate {effective_rank} +- {standard_error}, exact {truth}"
        );
        assert!(standard_error <= 0.02 * effective_rank, "H {width}: standard error {standard_error} of {effective_rank}");
        // The row that says it is an estimate, and the participation ratio still exact.
        let metrics = diversity(&estimated);
        assert_eq!(get(&metrics, "effective_rank_se"), &Ok(standard_error));
        let pr = exact.unit_gram.participation_ratio().unwrap();
        assert!(relative(estimated.unit_gram.participation_ratio().unwrap(), pr) <= 1e-6);
    }
}

#[test]
fn auto_switches_to_lanczos_only_past_the_exact_side() {
    let (weights, x) = net(80, 10, 4, 3, 11);
    let small = ProbeLimits { exact_side: 20, ..ProbeLimits::default() };
    let view = ModelView::observe_with(&weights, &x, &small, 0);
    assert!(matches!(view.unit_gram.spectrum, Ok(UnitSpectrum::Estimated { .. })), "80 and 30 both exceed 20");
    let roomy = ProbeLimits { exact_side: 30, ..ProbeLimits::default() };
    let view = ModelView::observe_with(&weights, &x, &roomy, 0);
    assert!(matches!(view.unit_gram.spectrum, Ok(UnitSpectrum::Exact { method: SpectrumMethod::Dual, .. })));
    assert!(diversity(&view).iter().all(|m| m.name != "effective_rank_se"), "no error row for an exact spectrum");
}
