//! Undefined, never NaN (docs/SCIENCE.md, Probes): figures that have no meaning for a model are
//! undefined with a reason, and nothing panics on small probe sets.

mod util;

use ddlab_config::Init;
use ddlab_model::{Layer, MlpShape, MlpWeights};
use ddlab_probe::*;
use util::*;

fn spec() -> ddlab_config::ProbeSpec {
    ddlab_config::ProbeSpec { probe_set: 1000, draws: 2, q_grid: vec![0.05, 0.1, 0.25, 0.5, 0.75], every: 0 }
}

/// Every metric is a finite number or undefined with a non-empty reason.
fn assert_finite_or_explained(metrics: &[Metric], what: &str) {
    for m in metrics {
        match &m.value {
            Ok(v) => assert!(v.is_finite(), "{what}: {}/{} = {v}", m.probe, m.name),
            Err(reason) => assert!(!reason.is_empty(), "{what}: {}/{} undefined without a reason", m.probe, m.name),
        }
    }
}

#[test]
fn competence_at_initialisation_is_undefined_with_a_reason() {
    let (n, d, k) = (300, 6, 3);
    let x = tensor(inputs(n, d, 11), n, d);
    let y = labels(n, k as u32);
    for width in [1usize, 2, 16, 64] {
        let weights = MlpWeights::init(MlpShape { input: d, width, depth: 1, classes: k }, Init::KaimingUniform, width as u64);
        let view = ModelView::observe(&weights, &x);
        let metrics = probe_model(&view, &y, &spec(), 1);
        assert_finite_or_explained(&metrics, &format!("init width {width}"));
        for name in ["competence_q0.05", "competence_q0.5", "q_star", "n_eff", "n_eff_is_lower_bound"] {
            assert_eq!(get(&metrics, name), &Err(NOT_BETTER_THAN_CHANCE.to_string()), "width {width}: {name}");
        }
        // What competence would have divided by is still reported.
        assert!(get(&metrics, "chance_gap").is_ok() && get(&metrics, "member_err_q0.5").is_ok());
    }
}

#[test]
fn cka_with_three_inputs_is_undefined_not_a_panic() {
    let gram = vec![1.0, 0.5, 0.2, 0.5, 1.0, 0.1, 0.2, 0.1, 1.0];
    assert!(cka_from_grams(&gram, &gram, 3).unwrap_err().contains("at least 4"));
    let (n, d) = (3, 4);
    let x = tensor(inputs(n, d, 5), n, d);
    let shape = MlpShape { input: d, width: 8, depth: 1, classes: 3 };
    let a = ModelView::observe(&MlpWeights::init(shape, Init::KaimingUniform, 1), &x);
    let b = ModelView::observe(&MlpWeights::init(shape, Init::KaimingUniform, 2), &x);
    assert!(cka(&a.cross(), &b.cross()).is_err());
    // And every single-model probe on 3 inputs: defined or explained.
    assert_finite_or_explained(&probe_model(&a, &[0, 1, 2], &spec(), 1), "3 inputs");
}

/// A network whose units are all dead (zero first layer) and a constant one: nothing to divide by in
/// several probes, and still no NaN.
#[test]
fn degenerate_networks_give_no_nan() {
    let (n, d, k) = (40, 3, 3);
    let x = tensor(inputs(n, d, 6), n, d);
    let y = labels(n, k as u32);
    for width in [1usize, 2, 8] {
        let dead = MlpWeights {
            shape: MlpShape { input: d, width, depth: 1, classes: k },
            layers: vec![
                Layer { fan_in: d, fan_out: width, w: vec![0.0; d * width], b: vec![0.0; width] },
                Layer { fan_in: width, fan_out: k, w: vec![0.0; width * k], b: vec![0.0; k] },
            ],
        };
        let view = ModelView::observe(&dead, &x);
        assert_finite_or_explained(&probe_model(&view, &y, &spec(), 1), &format!("dead width {width}"));
        let cross = view.cross();
        assert!(cka(&cross, &cross).is_err(), "CKA of a constant representation");
        let refs = [&cross, &cross];
        assert_finite_or_explained(&seed_ensemble(&refs, &y), "dead seed ensemble");
    }
}
