//! P2 (docs/SCIENCE.md, Probes): competence on the share of units actually kept, q* and N_eff.

mod util;

use ddlab_model::MlpShape;
use ddlab_probe::*;
use rand::SeedableRng;
use util::*;

fn probe_competence(weights: &ddlab_model::MlpWeights, x: &[f32], n: usize, y: &[u32]) -> Vec<Metric> {
    let view = ModelView::observe(weights, &tensor(x.to_vec(), n, weights.shape.input));
    let (full_err, _, _) = full_figures(&view, y);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    competence(&view, y, full_err, &[0.05, 0.1, 0.25, 0.5, 0.75], 3, &mut rng)
}

#[test]
fn q_star_interpolates_in_log_share() {
    let shares = [0.1, 0.2, 0.4];
    // Crossing 0.9 halfway (in competence) between 0.2 and 0.4: q* = sqrt(0.2 * 0.4).
    let q = q_star(&shares, &[0.5, 0.8, 1.0]);
    assert!((q - (0.2f64 * 0.4).sqrt()).abs() < 1e-12, "{q}");
    assert_eq!(q_star(&shares, &[0.95, 1.0, 1.0]), 0.1);
    // Never reached among the shares: between the last share and the full net (share 1, competence 1).
    let q = q_star(&shares, &[0.1, 0.2, 0.8]);
    assert!((q - (0.4f64.ln() + 0.5 * (1.0f64.ln() - 0.4f64.ln())).exp()).abs() < 1e-12);
    // A list that already ends at share 1 (small widths keep every unit at the top of the grid).
    let q = q_star(&[0.5, 1.0], &[0.2, 1.0]);
    assert!((q - (0.5f64.ln() * (1.0 - 0.7 / 0.8)).exp()).abs() < 1e-12, "{q}");
    assert!((chance_error(&[0, 1, 1, 1], 2) - 0.25).abs() < 1e-12);
}

#[test]
fn kept_share_is_the_rounded_unit_count() {
    assert_eq!(kept_units(0.05, 1), 1);
    assert_eq!(kept_units(0.05, 2), 1);
    assert_eq!(kept_units(0.75, 2), 2);
    assert_eq!(kept_units(0.25, 10), 3);
    assert_eq!(kept_units(0.5, 7), 4);
    let net = one_unit_net();
    let n = 400;
    let x = inputs(n, 2, 1);
    let metrics = probe_competence(&copies(&net, 2), &x, n, &step_labels(&x));
    assert_eq!(get(&metrics, "kept_share_q0.05"), &Ok(0.5));
    assert_eq!(get(&metrics, "kept_share_q0.75"), &Ok(1.0));
}

/// M copies of one unit (readout divided by M): every non-empty subset of units is exactly the
/// network, so it holds M disjoint full-strength sub-networks and N_eff must be at least M.
#[test]
fn m_copies_network_has_n_eff_at_least_m() {
    let n = 400;
    let x = inputs(n, 2, 2);
    let y = step_labels(&x);
    for m in [2usize, 3, 4, 8] {
        let metrics = probe_competence(&copies(&one_unit_net(), m), &x, n, &y);
        let n_eff = get(&metrics, "n_eff").clone().unwrap_or_else(|e| panic!("M = {m}: n_eff undefined: {e}"));
        assert!(n_eff >= m as f64 - 1e-9, "M = {m}: N_eff = {n_eff}");
    }
}

/// N_eff = 1/q* counts sub-networks among H units: never more than H, at any width (the nominal q of
/// the grid gave N_eff = 20 at H = 1).
#[test]
fn n_eff_never_exceeds_the_width() {
    let n = 400;
    let x = inputs(n, 2, 3);
    let y = step_labels(&x);
    for h in 1..=9usize {
        let metrics = probe_competence(&copies(&one_unit_net(), h), &x, n, &y);
        let n_eff = get(&metrics, "n_eff").clone().unwrap_or_else(|e| panic!("H = {h}: n_eff undefined: {e}"));
        assert!(n_eff <= h as f64 + 1e-9, "H = {h}: N_eff = {n_eff}");
    }
    // Trained nets on a learnable task, widths 1 to 4: where defined, at most H.
    let (n, d, k) = (300, 4, 3);
    let x = inputs(n, d, 4);
    let y = teacher_labels(&x, d, k);
    let xt = tensor(x.clone(), n, d);
    let mut defined = 0;
    for h in 1..=4usize {
        let weights = train(h, 40 + h as u64, &xt, &y, k, 400);
        assert_eq!(weights.shape, MlpShape { input: d, width: h, depth: 1, classes: k });
        if let Ok(n_eff) = get(&probe_competence(&weights, &x, n, &y), "n_eff") {
            assert!(*n_eff <= h as f64 + 1e-9, "trained H = {h}: N_eff = {n_eff}");
            defined += 1;
        }
    }
    assert!(defined >= 2, "the trained nets should mostly beat chance");
}
