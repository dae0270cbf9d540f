//! Every probe against a case whose answer is known.

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::Init;
use ddlab_model::{Layer, Mlp, MlpShape, MlpWeights, host_f32};
use ddlab_probe::*;
use rand::SeedableRng;

fn inputs(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n * d)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

fn tensor(values: Vec<f32>, n: usize, d: usize) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, d]), &Device::flex())
}

fn labels(n: usize, k: u32) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 7 + i / 3) % k).collect()
}

/// A net trained a few hundred steps of plain gradient descent on squared loss, so that its readout is
/// not random (the identities must hold on trained nets).
fn trained(width: usize, seed: u64) -> (MlpWeights, Tensor<2>, Vec<u32>) {
    use ddlab_model::{StackInput, StackLayout};
    let (n, d, k) = (60, 4, 3);
    let shape = MlpShape { input: d, width, depth: 1, classes: k };
    let device = Device::flex();
    let x = tensor(inputs(n, d, seed), n, d);
    let y = labels(n, k as u32);
    let onehot: Vec<f32> = (0..k as u32).flat_map(|j| y.iter().map(move |&c| if j == c { 1.0 } else { 0.0 })).collect();
    let target = Tensor::<3>::from_data(TensorData::new(onehot, [1, k, n]), &device);
    let layout = StackLayout::new(vec![shape]);
    let mut params = layout.pack(&[MlpWeights::init(shape, Init::KaimingUniform, seed)], &device);
    for _ in 0..300 {
        let (out, tape) = layout.forward_train(&params, StackInput::Shared(x.clone()));
        let grads = layout.backward(&params, tape, (out - target.clone()).mul_scalar(2.0 / n as f64));
        params = params.into_iter().zip(grads).map(|(p, g)| p - g.mul_scalar(0.05)).collect();
    }
    (layout.unpack(&params).remove(0), x, y)
}

#[test]
fn krogh_vedelsby_identity_holds_on_trained_nets() {
    for (width, m) in [(12, 2), (16, 4), (24, 8), (10, 4)] {
        let (weights, x, y) = trained(width, width as u64);
        let view = ModelView::observe(&weights, &x);
        // The full-net loss from the network's own forward pass, not from the members.
        let out = host_f32(Mlp::from_weights(&weights, &x.device()).forward(x.clone()));
        let k = 3;
        let net_loss: f64 = (0..view.n)
            .map(|i| (0..k).map(|c| (out[i * k + c] as f64 - if c as u32 == y[i] { 1.0 } else { 0.0 }).powi(2)).sum::<f64>())
            .sum::<f64>()
            / view.n as f64;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let f = partition_figures(&view, &y, &random_partition(width, m, &mut rng), m);
        let rel = ((f.member_loss - f.ambiguity) - net_loss).abs() / net_loss;
        assert!(
            rel <= 1e-5,
            "width {width}, M {m}: mean member loss - ambiguity = {}, net loss {net_loss}",
            f.member_loss - f.ambiguity
        );
        assert!(f.ambiguity > 0.0);
    }
}

#[test]
fn seed_ensemble_loss_is_bias_plus_variance() {
    let nets: Vec<_> = (0..4).map(|s| trained(8, 100 + s)).collect();
    let x = nets[0].1.clone();
    let y = &nets[0].2;
    let views: Vec<ModelView> = nets.iter().map(|(w, _, _)| ModelView::observe(w, &x)).collect();
    let refs: Vec<&ModelView> = views.iter().collect();
    let f = seed_ensemble_figures(&refs, y);
    assert!((f.mean_loss - (f.bias2 + f.variance)).abs() <= 1e-9 * f.mean_loss.max(1.0), "{f:?}");
    assert!(f.variance > 0.0);
}

/// M exact copies of each unit of a small net (readout divided by M) compute the same function: every
/// original unit becomes one group of M near-duplicates, and partitions that put one copy of each unit
/// in every group have members equal to the net (zero ambiguity, zero disagreement).
#[test]
fn copied_units_are_duplicates_and_aligned_partitions_agree() {
    let (small, x, y) = trained(5, 3);
    for m in [2usize, 4] {
        let h = 5 * m;
        let (first, readout) = (&small.layers[0], &small.layers[1]);
        let mut w = vec![0.0; first.fan_in * h];
        let mut b = vec![0.0; h];
        let mut v = vec![0.0; h * readout.fan_out];
        for copy in 0..m {
            for unit in 0..5 {
                let j = copy * 5 + unit;
                for i in 0..first.fan_in {
                    w[i * h + j] = first.w[i * 5 + unit];
                }
                b[j] = first.b[unit];
                for c in 0..readout.fan_out {
                    v[j * readout.fan_out + c] = readout.w[unit * readout.fan_out + c] / m as f32;
                }
            }
        }
        let shape = MlpShape { width: h, ..small.shape };
        let big = MlpWeights {
            shape,
            layers: vec![
                Layer { fan_in: first.fan_in, fan_out: h, w, b },
                Layer { fan_in: h, fan_out: readout.fan_out, w: v, b: readout.b.clone() },
            ],
        };
        let view = ModelView::observe(&big, &x);
        let live = (0..5).filter(|&u| view.hidden_gram[u * h + u] > 0.0).count();
        let groups = duplicate_groups(&unit_gram(&view), h);
        assert_eq!(groups.len(), live, "one duplicate group per live original unit");
        assert!(groups.iter().all(|g| g.len() == m && g.iter().all(|&i| i % 5 == g[0] % 5)), "{groups:?}");
        let aligned: Vec<usize> = (0..h).map(|j| j / 5).collect();
        let f = partition_figures(&view, &y, &aligned, m);
        assert!(f.ambiguity < 1e-9, "ambiguity {}", f.ambiguity);
        assert_eq!(f.disagreement, 0.0);
    }
}

/// The depth-1 Gram identity <J(x), J(x')> = s(x)^T [(V^T V) o (W W^T)] s(x') against Jacobians from
/// Burn's autodiff; and the explicit deeper computation against autodiff too.
#[test]
fn jacobian_gram_matches_autodiff_jacobians() {
    for depth in [1, 2] {
        let (n, d, k) = (9, 4, 3);
        let shape = MlpShape { input: d, width: 7, depth, classes: k };
        let weights = MlpWeights::init(shape, Init::KaimingUniform, 21);
        let values = inputs(n, d, 5);
        let view = ModelView::observe(&weights, &tensor(values.clone(), n, d));
        let device = Device::flex();
        let mlp = Mlp::from_weights(&weights, &device);
        // Row x of J(x) for output c: the gradient of sum_x f_c(x) with respect to x.
        let mut jac = vec![vec![0f64; k * d]; n];
        for c in 0..k {
            let x = tensor(values.clone(), n, d).autodiff().require_grad();
            let out = mlp.forward(x.clone());
            let grads = out.narrow(1, c, 1).sum().backward();
            let g = host_f32(x.grad(&grads).unwrap());
            for (i, row) in jac.iter_mut().enumerate() {
                for j in 0..d {
                    row[c * d + j] = g[i * d + j] as f64;
                }
            }
        }
        let mut worst: f64 = 0.0;
        let scale = view.jacobian_gram.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for a in 0..n {
            for b in 0..n {
                let explicit: f64 = jac[a].iter().zip(&jac[b]).map(|(p, q)| p * q).sum();
                worst = worst.max((explicit - view.jacobian_gram[a * n + b]).abs() / scale);
            }
        }
        assert!(worst <= 1e-4, "depth {depth}: relative error {worst}");
    }
}

#[test]
fn cka_is_one_for_the_same_or_rotated_representation_and_near_zero_for_independent_ones() {
    let (n, d) = (200, 6);
    let x = inputs(n, d, 1);
    let gram = |m: &[f32], cols: usize| -> Vec<f64> {
        let mut g = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                g[a * n + b] = (0..cols).map(|j| m[a * cols + j] as f64 * m[b * cols + j] as f64).sum();
            }
        }
        g
    };
    let kx = gram(&x, d);
    assert!((cka_from_grams(&kx, &kx, n) - 1.0).abs() < 1e-12);
    // An orthogonal Q: a rotation in the (0, 1) plane and a reflection of axis 2.
    let (c, s) = (0.6f32, 0.8f32);
    let xq: Vec<f32> = x
        .chunks(d)
        .flat_map(|r| {
            let mut o = r.to_vec();
            o[0] = c * r[0] - s * r[1];
            o[1] = s * r[0] + c * r[1];
            o[2] = -r[2];
            o
        })
        .collect();
    assert!((cka_from_grams(&kx, &gram(&xq, d), n) - 1.0).abs() < 1e-6);
    let independent = inputs(n, d, 99);
    let c = cka_from_grams(&kx, &gram(&independent, d), n);
    assert!(c.abs() < 0.05, "unbiased CKA of independent data: {c}");
}

#[test]
fn effective_rank_and_participation_ratio_of_known_spectra() {
    assert!((effective_rank(&[1.0, 1.0, 1.0, 1.0]) - 4.0).abs() < 1e-12);
    assert!((participation_ratio(&[1.0, 1.0, 1.0, 1.0]) - 4.0).abs() < 1e-12);
    assert!((effective_rank(&[5.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
    assert!((participation_ratio(&[3.0, 1.0]) - 16.0 / 10.0).abs() < 1e-12);
    let p = [0.5f64, 0.25, 0.25];
    let entropy: f64 = -p.iter().map(|q| q * q.ln()).sum::<f64>();
    assert!((effective_rank(&[2.0, 1.0, 1.0]) - entropy.exp()).abs() < 1e-12);
    // A diagonal matrix's spectrum is its diagonal.
    let m = [4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let mut eig = psd_eigenvalues(&m, 3);
    eig.sort_by(f64::total_cmp);
    assert!((eig[0]).abs() < 1e-12 && (eig[1] - 1.0).abs() < 1e-12 && (eig[2] - 4.0).abs() < 1e-12);
    assert!((participation_ratio_of(&m, 3) - 25.0 / 17.0).abs() < 1e-12);
}

#[test]
fn q_star_interpolates_in_log_q() {
    let grid = [0.1, 0.2, 0.4];
    // Crossing 0.9 halfway (in competence) between q = 0.2 and q = 0.4: q* = sqrt(0.2 * 0.4).
    let q = q_star(&grid, &[0.5, 0.8, 1.0]);
    assert!((q - (0.2f64 * 0.4).sqrt()).abs() < 1e-12, "{q}");
    assert_eq!(q_star(&grid, &[0.95, 1.0, 1.0]), 0.1);
    // Never reached on the grid: between the last q and the full net (q = 1, competence 1).
    let q = q_star(&grid, &[0.1, 0.2, 0.8]);
    assert!((q - (0.4f64.ln() + 0.5 * (1.0f64.ln() - 0.4f64.ln())).exp()).abs() < 1e-12);
    assert!((chance_error(&[0, 1, 1, 1], 2) - 0.25).abs() < 1e-12);
}

#[test]
fn circuits_count_patterns_exactly() {
    // A net whose single hidden layer has unit 0 active iff x0 > 0 and unit 1 always active.
    let shape = MlpShape { input: 1, width: 2, depth: 1, classes: 2 };
    let weights = MlpWeights {
        shape,
        layers: vec![
            Layer { fan_in: 1, fan_out: 2, w: vec![1.0, 0.0], b: vec![0.0, 1.0] },
            Layer { fan_in: 2, fan_out: 2, w: vec![1.0, 0.0, 0.0, 1.0], b: vec![0.0, 0.0] },
        ],
    };
    let x = tensor(vec![-1.0, 2.0, 3.0, -4.0], 4, 1);
    let view = ModelView::observe(&weights, &x);
    let metrics = circuits(&view);
    let get = |name: &str| metrics.iter().find(|m| m.1 == name).unwrap().2;
    assert_eq!(get("distinct_patterns"), 0.5);
    // Unit 0 differs on 2 * 2 * 2 = 8 of 12 ordered pairs; unit 1 never: mean 8 / 24.
    assert!((get("hamming") - 8.0 / 24.0).abs() < 1e-12);
    assert!((get("firing_entropy") - 0.5).abs() < 1e-12);
}
