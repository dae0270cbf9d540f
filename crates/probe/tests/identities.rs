//! The exact identities of the probes (docs/SCIENCE.md, Probes), checked against the network's own
//! forward pass, and the probes with a closed-form answer.

mod util;

use burn::tensor::Device;
use ddlab_config::Init;
use ddlab_model::{Layer, Mlp, MlpShape, MlpWeights, host_f32};
use ddlab_probe::*;
use rand::SeedableRng;
use util::*;

/// Mean over inputs of the squared loss and the cross-entropy of the network's own forward pass,
/// computed here independently of the probe crate.
fn forward_losses(weights: &MlpWeights, x: &burn::tensor::Tensor<2>, y: &[u32]) -> (f64, f64) {
    let out = host_f32(Mlp::from_weights(weights, &x.device()).forward(x.clone()));
    let k = weights.shape.classes;
    let (mut sq, mut ce) = (0.0, 0.0);
    for (i, &label) in y.iter().enumerate() {
        let row: Vec<f64> = out[i * k..(i + 1) * k].iter().map(|&v| v as f64).collect();
        sq += row.iter().enumerate().map(|(c, &o)| (o - if c as u32 == label { 1.0 } else { 0.0 }).powi(2)).sum::<f64>();
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        ce += lse - row[label as usize];
    }
    (sq / y.len() as f64, ce / y.len() as f64)
}

#[test]
fn krogh_vedelsby_identity_holds_on_trained_nets() {
    for (width, m) in [(12, 2), (16, 4), (24, 8), (10, 4)] {
        let (weights, x, y) = trained(width, width as u64);
        let view = ModelView::observe(&weights, &x);
        // The full-net loss from the network's own forward pass, not from the members.
        let (net_loss, _) = forward_losses(&weights, &x, &y);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let f = partition_figures(&view, &y, &random_partition(width, m, &mut rng), m);
        let rel = ((f.member_loss_sq - f.ambiguity_sq) - net_loss).abs() / net_loss;
        assert!(
            rel <= 1e-5,
            "width {width}, M {m}: mean member loss - ambiguity = {}, net loss {net_loss}",
            f.member_loss_sq - f.ambiguity_sq
        );
        assert!(f.kv_residual.abs() <= 1e-5 * net_loss, "kv_residual {}", f.kv_residual);
        assert!(f.ambiguity_sq > 0.0);
    }
}

/// Heskes's decomposition: mean_m CE(y, softmax(f_m)) = CE(y, softmax(f)) + mean_m KL(q || p_m), with
/// f from the network's forward pass, on random networks with random labels (init and trained).
#[test]
fn kl_identity_holds_against_the_forward_pass() {
    let (n, d, k) = (50, 5, 4);
    let x = tensor(inputs(n, d, 17), n, d);
    let y = labels(n, k as u32);
    let mut nets: Vec<MlpWeights> = [3usize, 8, 16]
        .iter()
        .map(|&w| MlpWeights::init(MlpShape { input: d, width: w, depth: 1, classes: k }, Init::KaimingUniform, w as u64))
        .collect();
    nets.push(train(16, 4, &x, &y, k, 200));
    for weights in &nets {
        let view = ModelView::observe(weights, &x);
        let (_, net_ce) = forward_losses(weights, &x, &y);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for m in [2, 4, 8].into_iter().filter(|&m| m <= weights.shape.width) {
            let f = partition_figures(&view, &y, &random_partition(weights.shape.width, m, &mut rng), m);
            let gap = (f.member_loss_kl - f.ambiguity_kl - net_ce).abs();
            assert!(
                gap <= 1e-6,
                "width {}, M {m}: member CE {} - KL ambiguity {} vs CE(q) {net_ce}: {gap}",
                weights.shape.width,
                f.member_loss_kl,
                f.ambiguity_kl
            );
            assert!(f.kl_residual.abs() <= 1e-6, "kl_residual {}", f.kl_residual);
            assert!((f.full_loss_kl - net_ce).abs() <= 1e-6);
            assert!(f.ambiguity_kl > 0.0);
        }
    }
}

/// The residuals compare the members with the network's own output: if that output is not the mean of
/// the members (here, tampered with), both residuals say so.
#[test]
fn residuals_are_measured_against_the_forward_pass() {
    let (weights, x, y) = trained(12, 5);
    let mut view = ModelView::observe(&weights, &x);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let group = random_partition(12, 2, &mut rng);
    let f = partition_figures(&view, &y, &group, 2);
    assert!(f.kv_residual.abs() <= 1e-5 && f.kl_residual.abs() <= 1e-6, "{f:?}");
    // Shift one logit of every output: no longer the members' mean.
    let k = view.classes;
    for row in view.output.chunks_mut(k) {
        row[0] += 0.5;
    }
    let f = partition_figures(&view, &y, &group, 2);
    assert!(f.kv_residual.abs() > 1e-2, "kv_residual {} did not see the shifted output", f.kv_residual);
    assert!(f.kl_residual.abs() > 1e-3, "kl_residual {} did not see the shifted output", f.kl_residual);
}

/// Four seeds of one width (trained), their views.
fn seed_views(width: usize, seeds: u64) -> (Vec<CrossView>, Vec<u32>) {
    let nets: Vec<_> = (0..seeds).map(|s| trained(width, 100 + s)).collect();
    let x = nets[0].1.clone();
    let y = nets[0].2.clone();
    (nets.iter().map(|(w, _, _)| ModelView::observe(w, &x).cross()).collect(), y)
}

#[test]
fn seed_ensemble_loss_is_bias_plus_variance_in_both_spaces() {
    let (views, y) = seed_views(8, 4);
    let refs: Vec<&CrossView> = views.iter().collect();
    let f = seed_ensemble_figures(&refs, &y);
    assert!((f.mean_loss_sq - (f.bias2_sq + f.variance_sq)).abs() <= 1e-9 * f.mean_loss_sq.max(1.0), "{f:?}");
    assert!((f.mean_loss_kl - (f.bias_kl + f.variance_kl)).abs() <= 1e-9 * f.mean_loss_kl.max(1.0), "{f:?}");
    assert!(f.variance_sq > 0.0 && f.variance_kl > 0.0);
    // The ends of the ensemble curve: one seed is the mean member, all seeds the full ensemble.
    assert_eq!(f.ensemble_err_k.len(), 4);
    assert!((f.ensemble_err_k[0] - f.mean_member_err).abs() < 1e-12, "{f:?}");
    assert!((f.ensemble_err_k[3] - f.ensemble_err).abs() < 1e-12, "{f:?}");
}

#[test]
fn unbiased_seed_variance_is_s_over_s_minus_one_times_the_biased_one() {
    for seeds in [2u64, 3, 5] {
        let (views, y) = seed_views(6, seeds);
        let refs: Vec<&CrossView> = views.iter().collect();
        let f = seed_ensemble_figures(&refs, &y);
        let s = seeds as f64;
        let unbiased = f.variance_sq_unbiased.unwrap();
        assert!((unbiased - f.variance_sq * s / (s - 1.0)).abs() <= 1e-12 * unbiased, "{f:?}");
        let metrics = seed_ensemble(&refs, &y);
        assert_eq!(get(&metrics, "variance_sq_unbiased"), &Ok(unbiased));
    }
}

#[test]
fn leaving_one_seed_out_is_the_ensemble_of_the_rest_and_averages_to_the_unbiased_variance() {
    let (views, y) = seed_views(6, 4);
    let seeded: Vec<(u64, &CrossView)> = views.iter().enumerate().map(|(i, v)| (10 + i as u64, v)).collect();
    let without = seed_ensemble_without(&seeded, &y);
    assert_eq!(without.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![10, 11, 12, 13]);
    // Each row is the seed ensemble of the other three.
    for (i, (_, metrics)) in without.iter().enumerate() {
        let rest: Vec<&CrossView> = views.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, v)| v).collect();
        let f = seed_ensemble_figures(&rest, &y);
        assert_eq!(get(metrics, "variance_sq_without"), &Ok(f.variance_sq));
        assert_eq!(get(metrics, "variance_kl_without"), &Ok(f.variance_kl));
        assert_eq!(get(metrics, "ensemble_err_without"), &Ok(f.ensemble_err));
    }
    // The unbiased variance is a U-statistic: the mean of the leave-one-out unbiased variances is the
    // full one. Each row divides by S - 1 = 3 seeds, the full figure by S = 4.
    let all = seed_ensemble_figures(&views.iter().collect::<Vec<_>>(), &y);
    let mean_without: f64 =
        without.iter().map(|(_, m)| get(m, "variance_sq_without").clone().unwrap() * 3.0 / 2.0).sum::<f64>() / 4.0;
    assert!((mean_without - all.variance_sq_unbiased.unwrap()).abs() <= 1e-12 * mean_without, "{mean_without} {all:?}");
    assert!(seed_ensemble_without(&seeded[..2], &y).is_empty(), "two seeds leave one: no variance");
}

#[test]
fn identical_seeds_have_zero_variance_and_k_ensembles_equal_the_single_error() {
    let (weights, x, y) = trained(10, 7);
    let view = ModelView::observe(&weights, &x);
    let (single_err, _, _) = full_figures(&view, &y);
    let cross = view.cross();
    let refs = vec![&cross; 5];
    let f = seed_ensemble_figures(&refs, &y);
    assert!(f.variance_sq <= 1e-12 && f.variance_kl <= 1e-12, "{f:?}");
    assert_eq!(f.ensemble_err_k.len(), 5);
    for (i, e) in f.ensemble_err_k.iter().enumerate() {
        assert!((e - single_err).abs() < 1e-12, "k = {}: {e} vs single {single_err}", i + 1);
    }
    let metrics = seed_ensemble(&refs, &y);
    for k in 1..=5 {
        assert!((get(&metrics, &format!("ensemble_err_k{k}")).clone().unwrap() - single_err).abs() < 1e-12);
    }
}

#[test]
fn seed_subsets_are_all_subsets_when_few_and_seeded_draws_when_many() {
    let all = seed_subsets(5, 2);
    assert_eq!(all.len(), 10);
    let distinct: std::collections::BTreeSet<Vec<usize>> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(seed_subsets(5, 5), vec![vec![0, 1, 2, 3, 4]]);
    let many = seed_subsets(12, 6);
    assert_eq!(many.len(), MAX_SUBSETS);
    assert!(many.iter().all(|s| s.len() == 6 && s.iter().collect::<std::collections::BTreeSet<_>>().len() == 6));
    assert_eq!(many, seed_subsets(12, 6), "the draws are seeded");
}

/// M exact copies of each unit of a small net (readout divided by M) compute the same function: every
/// original unit becomes one group of M near-duplicates, and partitions that put one copy of each unit
/// in every group have members equal to the net (zero ambiguity in both spaces, zero disagreement).
#[test]
fn copied_units_are_duplicates_and_aligned_partitions_agree() {
    let (small, x, y) = trained(5, 3);
    for m in [2usize, 4] {
        let h = 5 * m;
        let big = copies(&small, m);
        let view = ModelView::observe(&big, &x);
        let live = (0..5).filter(|&u| view.hidden_sq_norms[u] > 0.0).count();
        let groups = duplicate_groups(&view);
        assert_eq!(groups.len(), live, "one duplicate group per live original unit");
        assert!(groups.iter().all(|g| g.len() == m && g.iter().all(|&i| i % 5 == g[0] % 5)), "{groups:?}");
        let aligned: Vec<usize> = (0..h).map(|j| j / 5).collect();
        let f = partition_figures(&view, &y, &aligned, m);
        assert!(f.ambiguity_sq < 1e-9, "ambiguity {}", f.ambiguity_sq);
        assert!(f.ambiguity_kl < 1e-9, "ambiguity {}", f.ambiguity_kl);
        assert_eq!(f.disagreement, 0.0);
    }
}

/// The depth-1 Gram identity <J(x), J(x')> = s(x)^T [(V^T V) o (W W^T)] s(x') against Jacobians from
/// Burn's autodiff; and the explicit computation (any depth, chunks of inputs) against autodiff too.
/// With blocks of 50 values, width 7 at depth 1 takes the kernel route (cheaper) and width 200 the
/// explicit one in chunks of one input.
#[test]
fn jacobian_gram_matches_autodiff_jacobians() {
    for (depth, width) in [(1, 7), (2, 7), (1, 200), (2, 200)] {
        let (n, d, k) = (9, 4, 3);
        let shape = MlpShape { input: d, width, depth, classes: k };
        let weights = MlpWeights::init(shape, Init::KaimingUniform, 21);
        let values = inputs(n, d, 5);
        let limits = ProbeLimits { block_values: 50, ..ProbeLimits::default() };
        let view = ModelView::observe_with(&weights, &tensor(values.clone(), n, d), &limits, 0);
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
        assert!(worst <= 1e-4, "depth {depth}, width {width}: relative error {worst}");
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
    assert!((cka_from_grams(&kx, &kx, n).unwrap() - 1.0).abs() < 1e-12);
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
    assert!((cka_from_grams(&kx, &gram(&xq, d), n).unwrap() - 1.0).abs() < 1e-6);
    let independent = inputs(n, d, 99);
    let c = cka_from_grams(&kx, &gram(&independent, d), n).unwrap();
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
    let mut eig = psd_eigenvalues(&m, 3).unwrap();
    eig.sort_by(f64::total_cmp);
    assert!((eig[0]).abs() < 1e-12 && (eig[1] - 1.0).abs() < 1e-12 && (eig[2] - 4.0).abs() < 1e-12);
    assert!((participation_ratio_of(&m, 3) - 25.0 / 17.0).abs() < 1e-12);
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
    let get = |name: &str| get(&metrics, name).clone().unwrap();
    assert_eq!(get("distinct_patterns"), 0.5);
    // Unit 0 differs on 2 * 2 * 2 = 8 of 12 ordered pairs; unit 1 never: mean 8 / 24.
    assert!((get("hamming") - 8.0 / 24.0).abs() < 1e-12);
    assert!((get("firing_entropy") - 0.5).abs() < 1e-12);
}

/// k nets of width W side by side, with the readout divided by k, are one net of width kW that computes
/// exactly the mean of their logits: against that ensemble it errs the same and never disagrees. Against
/// k copies of another net it differs by the measured error difference.
#[test]
fn one_wide_net_built_from_k_narrow_ones_equals_their_ensemble() {
    let k = 3;
    let (nets, x, y): (Vec<MlpWeights>, _, _) = {
        let (first, x, y) = trained(6, 11);
        let mut nets = vec![first];
        nets.extend((1..k as u64).map(|s| trained(6, 11 + s).0));
        (nets, x, y)
    };
    // Hidden units stacked; readout rows (one per hidden unit) stacked and divided by k; bias averaged.
    let (d, h, classes) = (nets[0].shape.input, nets[0].shape.width, nets[0].shape.classes);
    let mut w1 = vec![0f32; d * h * k];
    for (m, net) in nets.iter().enumerate() {
        for i in 0..d {
            for j in 0..h {
                w1[i * h * k + m * h + j] = net.layers[0].w[i * h + j];
            }
        }
    }
    let b1: Vec<f32> = nets.iter().flat_map(|n| n.layers[0].b.clone()).collect();
    let w2: Vec<f32> = nets.iter().flat_map(|n| n.layers[1].w.iter().map(|v| v / k as f32).collect::<Vec<_>>()).collect();
    let b2: Vec<f32> = (0..classes).map(|c| nets.iter().map(|n| n.layers[1].b[c]).sum::<f32>() / k as f32).collect();
    let wide = MlpWeights {
        shape: MlpShape { input: d, width: h * k, depth: 1, classes },
        layers: vec![Layer { fan_in: d, fan_out: h * k, w: w1, b: b1 }, Layer { fan_in: h * k, fan_out: classes, w: w2, b: b2 }],
    };
    let wide_view = ModelView::observe(&wide, &x);
    let narrow: Vec<ModelView> = nets.iter().map(|n| ModelView::observe(n, &x)).collect();
    let members: Vec<&[f32]> = narrow.iter().map(|v| v.output.as_slice()).collect();
    let (err_diff, disagreement) = kw_comparison(&wide_view.output, &members, &y, classes);
    assert_eq!((err_diff, disagreement), (0.0, 0.0));
    // Against three copies of the first narrow net: the difference of the two nets' own errors.
    let copies = vec![narrow[0].output.as_slice(); k];
    let (diff, _) = kw_comparison(&wide_view.output, &copies, &y, classes);
    let (wide_err, _, _) = full_figures(&wide_view, &y);
    let (first_err, _, _) = full_figures(&narrow[0], &y);
    assert!((diff - (wide_err - first_err)).abs() < 1e-12, "{diff} vs {}", wide_err - first_err);
}
