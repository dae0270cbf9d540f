//! The interventions' known answers (docs/SCIENCE.md, Models, data and training: interventions): a
//! centred network is exactly 0 at initialisation, the relative weight change of a centred network
//! shrinks as 1/alpha, and packing does not mix the runs' initial functions.

use burn::tensor::Device;
use ddlab_config::{Condition, Init, Intervention, Loss, Optimizer, Standardize, TrainSpec};
use ddlab_data::{Pools, Prepared, prepare, split, teacher};
use ddlab_model::{MlpShape, MlpWeights};
use ddlab_train::*;

struct Quiet;

impl Observer for Quiet {
    fn checkpoint(&mut self, _run: usize, _state: &RunState) -> Result<(), String> {
        Ok(())
    }
}

fn data(n: usize) -> Prepared {
    let pools = Pools { train: teacher(400, 6, 3, 8, 7).unwrap(), test: None };
    let split = split(pools, Some(100), 0).unwrap();
    prepare(&split, Condition::new(n, 0.2), Standardize::Feature, 0).unwrap()
}

const SGD: Optimizer = Optimizer::Sgd { momentum: 0.0 };
const ADAM: Optimizer = Optimizer::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

fn spec(optimizer: Optimizer, lr: f64, epochs: usize, batch_size: Option<usize>, intervention: Intervention) -> TrainSpec {
    TrainSpec {
        loss: Loss::Mse,
        optimizer,
        lr,
        lr_decay: None,
        epochs,
        batch_size,
        eval_every: epochs,
        checkpoint_every: 0,
        intervention,
    }
}

fn initial(width: usize, seed: u64) -> MlpWeights {
    MlpWeights::init(MlpShape { input: 6, width, depth: 1, classes: 3 }, Init::KaimingUniform, seed)
}

/// Trains runs of (width, seed) from their initial weights, centred ones given those weights.
fn train(spec: &TrainSpec, data: &DeviceData, runs: &[(usize, u64)]) -> Vec<RunState> {
    let initial: Vec<MlpWeights> = runs.iter().map(|&(w, s)| initial(w, s)).collect();
    let states = runs.iter().zip(&initial).map(|(&(_, s), w)| RunState::fresh(s, w.clone())).collect();
    let given = if spec.intervention.centred { initial.as_slice() } else { &[] };
    train_group(spec, Hooks::default(), data, states, given, &mut Quiet).unwrap().0
}

/// With a zero learning rate a centred network stays at its initial function, which it subtracts: its
/// output is exactly 0, so its squared loss is exactly ||0 - e_y||^2 = 1 on every example, train and
/// test, and its predictions are the constant argmax (class 0).
#[test]
fn a_centred_network_is_exactly_zero_at_initialisation() {
    let device = Device::flex();
    let prepared = data(60);
    let data = DeviceData::new(&prepared, &device);
    let class0_error = |labels: &[u32]| labels.iter().filter(|&&y| y != 0).count() as f64 / labels.len() as f64;
    for alpha in [1.0, 3.0, 0.25] {
        for batch in [None, Some(16)] {
            let centred = Intervention { output_scale: alpha, centred: true };
            let runs = train(&spec(ADAM, 0.0, 2, batch, centred), &data, &[(4, 0), (7, 1)]);
            for run in &runs {
                let last = run.metrics.last().unwrap();
                assert_eq!((last.train_loss, last.test_loss), (1.0, 1.0), "alpha {alpha} batch {batch:?}");
                assert_eq!(last.train_err, class0_error(&data.train.labels));
                assert_eq!(last.test_err, class0_error(&data.test.labels));
            }
            // Uncentred, the same networks are not 0.
            let plain = Intervention { output_scale: alpha, centred: false };
            let runs = train(&spec(ADAM, 0.0, 2, batch, plain), &data, &[(4, 0), (7, 1)]);
            assert!(runs.iter().all(|r| r.metrics.last().unwrap().train_loss != 1.0));
        }
    }
}

/// ||theta_T - theta_0|| / ||theta_0|| of a run trained from `initial(width, seed)`.
fn relative_change(run: &RunState, width: usize, seed: u64) -> f64 {
    let start = initial(width, seed).flat();
    let end = run.weights.flat();
    let moved: f64 = start.iter().zip(&end).map(|(a, b)| ((b - a) as f64).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = start.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
    moved / norm
}

/// Lazy training: as alpha grows a centred network's relative weight change shrinks as 1/alpha, so alpha
/// times it tends to a constant (the linearised model's), for gradient descent and for Adam (whose step
/// is divided by alpha). At alpha = 1 the weights move several times more than 1/alpha would say.
#[test]
fn the_relative_weight_change_shrinks_as_one_over_alpha() {
    let device = Device::flex();
    let data = DeviceData::new(&data(60), &device);
    for (optimizer, lr) in [(SGD, 0.2), (ADAM, 0.01)] {
        let scaled = |alpha: f64| {
            let spec = spec(optimizer, lr, 30, None, Intervention { output_scale: alpha, centred: true });
            let run = &train(&spec, &data, &[(16, 3)])[0];
            alpha * relative_change(run, 16, 3)
        };
        let (at10, at100, at1000) = (scaled(10.0), scaled(100.0), scaled(1000.0));
        assert!(at10 > 0.0, "{optimizer:?}: the weights moved");
        assert!((at1000 / at100 - 1.0).abs() < 0.02, "{optimizer:?}: alpha x change {at10} {at100} {at1000}");
        assert!((at100 / at10 - 1.0).abs() < 0.2, "{optimizer:?}: alpha x change {at10} {at100} {at1000}");
    }
}

/// Packed centred runs of different seeds (a batch each) train exactly as each alone: every run
/// subtracts its own initial function on its own examples.
#[test]
fn packed_centred_runs_equal_separate_ones() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    let centred = Intervention { output_scale: 2.0, centred: true };
    for optimizer in [SGD, ADAM] {
        for (batch, seeds) in [(None, [3, 3, 3]), (Some(10), [3, 3, 3]), (Some(10), [1, 2, 3])] {
            let runs: Vec<(usize, u64)> = [2, 5, 8].into_iter().zip(seeds).collect();
            let spec = spec(optimizer, 0.01, 5, batch, centred);
            let packed = train(&spec, &data, &runs);
            for (run, grouped) in runs.iter().zip(&packed) {
                let alone = &train(&spec, &data, &[*run])[0];
                let diff = alone.weights.max_abs_diff(&grouped.weights);
                assert!(diff <= 1e-5, "{optimizer:?} batch {batch:?} seeds {seeds:?}: {diff}");
            }
        }
    }
}

/// A centred pack without its runs' initial weights is an error, not a network centred on nothing.
#[test]
fn a_centred_pack_needs_its_initial_weights() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    let spec = spec(SGD, 0.01, 1, None, Intervention { output_scale: 1.0, centred: true });
    let err = train_group(&spec, Hooks::default(), &data, vec![RunState::fresh(0, initial(3, 0))], &[], &mut Quiet).unwrap_err();
    assert!(err.to_string().contains("initial weights"), "{err}");
}
