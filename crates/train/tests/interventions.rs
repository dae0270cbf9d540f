//! The interventions' known answers (docs/SCIENCE.md, Models, data and training: interventions,
//! parameterisations): a centred network is exactly 0 at initialisation, the relative weight change of a
//! centred network shrinks as 1/alpha, and packing does not mix the runs' initial functions; NTK starts
//! from standard's weights, mean field's initial output shrinks as r^-1/2, one step moves each layer by
//! its factor of the table, and at the base width the three parameterisations are one.

use burn::tensor::Device;
use ddlab_config::{Condition, Init, Intervention, Loss, Optimizer, Parameterisation, Standardize, TrainSpec};
use ddlab_data::{Pools, Prepared, prepare, split, teacher};
use ddlab_model::{Mlp, MlpShape, MlpWeights, rate_factors};
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
            let centred = Intervention { output_scale: alpha, centred: true, ..Intervention::default() };
            let runs = train(&spec(ADAM, 0.0, 2, batch, centred), &data, &[(4, 0), (7, 1)]);
            for run in &runs {
                let last = run.metrics.last().unwrap();
                assert_eq!((last.train_loss, last.test_loss), (1.0, 1.0), "alpha {alpha} batch {batch:?}");
                assert_eq!(last.train_err, class0_error(&data.train.labels));
                assert_eq!(last.test_err, class0_error(&data.test.labels));
            }
            // Uncentred, the same networks are not 0.
            let plain = Intervention { output_scale: alpha, centred: false, ..Intervention::default() };
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
            let spec =
                spec(optimizer, lr, 30, None, Intervention { output_scale: alpha, centred: true, ..Intervention::default() });
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
    let centred = Intervention { output_scale: 2.0, centred: true, ..Intervention::default() };
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
    let spec = spec(SGD, 0.01, 1, None, Intervention { output_scale: 1.0, centred: true, ..Intervention::default() });
    let err = train_group(&spec, Hooks::default(), &data, vec![RunState::fresh(0, initial(3, 0))], &[], &mut Quiet).unwrap_err();
    assert!(err.to_string().contains("initial weights"), "{err}");
}

fn shape(width: usize, depth: usize) -> MlpShape {
    MlpShape { input: 6, width, depth, classes: 3 }
}

fn parameterised(parameterisation: Parameterisation, base_width: usize) -> Intervention {
    Intervention { parameterisation, base_width: Some(base_width), ..Intervention::default() }
}

/// Trains runs from the given weights (seed 0 each).
fn train_from(spec: &TrainSpec, data: &DeviceData, start: &[MlpWeights]) -> Vec<RunState> {
    let states = start.iter().map(|w| RunState::fresh(0, w.clone())).collect();
    train_group(spec, Hooks::default(), data, states, &[], &mut Quiet).unwrap().0
}

/// The outputs `[n, classes]` of a network on the training inputs, row-major.
fn outputs(weights: &MlpWeights, data: &DeviceData) -> Vec<f32> {
    let mlp = Mlp::from_weights(weights, &data.device);
    mlp.forward(data.train.x.clone()).into_data().try_into_vec_as::<f32>().unwrap()
}

/// NTK's initial weights are standard's, value for value (its multiplier is folded into the learning
/// rates); mean field's readout starts r^-1/2 smaller, so its output at initialisation minus the readout
/// bias is r^-1/2 times NTK's, at r = 1, 4 and 16.
#[test]
fn ntk_starts_as_standard_and_mean_field_r_to_the_minus_half_smaller() {
    let device = Device::flex();
    let data = DeviceData::new(&data(60), &device);
    let base = 8;
    for depth in [1, 2] {
        for r in [1usize, 4, 16] {
            let s = shape(base * r, depth);
            let draw = |p| MlpWeights::init_parameterised(s, Init::KaimingUniform, p, Some(base), 5);
            let (standard, ntk, mf) =
                (MlpWeights::init(s, Init::KaimingUniform, 5), draw(Parameterisation::Ntk), draw(Parameterisation::MeanField));
            assert_eq!(ntk, standard, "depth {depth} r {r}");
            let bias = &ntk.layers.last().unwrap().b;
            let (f_ntk, f_mf) = (outputs(&ntk, &data), outputs(&mf, &data));
            let expected = (r as f64).powf(-0.5);
            let (mut num, mut den, mut worst) = (0f64, 0f64, 0f64);
            for (i, (a, b)) in f_ntk.iter().zip(&f_mf).enumerate() {
                let c = bias[i % 3] as f64;
                let (a, b) = (*a as f64 - c, *b as f64 - c);
                worst = worst.max((b - expected * a).abs());
                num += b * b;
                den += a * a;
            }
            assert!(den > 0.0 && worst <= 1e-5 * (den / f_ntk.len() as f64).sqrt(), "depth {depth} r {r}: {worst}");
            assert!(((num / den).sqrt() / expected - 1.0).abs() < 1e-5, "depth {depth} r {r}");
            if r == 1 {
                assert_eq!(mf, standard, "at the base width mean field is standard");
            }
        }
    }
}

/// Per layer, (weight change, bias change) of a run against where it started.
fn layer_changes(start: &MlpWeights, end: &MlpWeights) -> Vec<(Vec<f64>, Vec<f64>)> {
    start
        .layers
        .iter()
        .zip(&end.layers)
        .map(|(a, b)| {
            let diff = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| *q as f64 - *p as f64).collect();
            (diff(&a.w, &b.w), diff(&a.b, &b.b))
        })
        .collect()
}

/// From the same weights, one step (full batch) moves each layer's weights and biases by the factor in
/// docs/SCIENCE.md's table times standard's step: under SGD (with momentum, whose first step is the
/// gradient) the gradient is the same, under Adam the first step is lr times the gradient's sign. Depth 2
/// so that the input, hidden and readout layers each appear; r = 4, and r = 1/2 (a width below the base).
#[test]
fn one_step_moves_each_layer_by_its_factor() {
    let device = Device::flex();
    let data = DeviceData::new(&data(60), &device);
    for (optimizer, lr) in [(Optimizer::Sgd { momentum: 0.9 }, 0.05), (ADAM, 0.01)] {
        for (width, base) in [(32, 8), (8, 16)] {
            let start = MlpWeights::init(shape(width, 2), Init::KaimingUniform, 9);
            let step = |i: Intervention| {
                let run = &train_from(&spec(optimizer, lr, 1, None, i), &data, std::slice::from_ref(&start))[0];
                layer_changes(&start, &run.weights)
            };
            let standard = step(Intervention::default());
            for p in [Parameterisation::Ntk, Parameterisation::MeanField] {
                let moved = step(parameterised(p, base));
                let factors = rate_factors(p, optimizer, start.shape, base);
                for (l, ((w, b), (w0, b0))) in moved.iter().zip(&standard).enumerate() {
                    for (got, plain, factor) in [(w, w0, factors[l].weights), (b, b0, factors[l].biases)] {
                        let scale = plain.iter().fold(0f64, |m, v| m.max(v.abs()));
                        let worst = got.iter().zip(plain).map(|(g, s)| (g - factor * s).abs()).fold(0f64, f64::max);
                        assert!(scale > 0.0 && worst <= 1e-4 * factor * scale, "{optimizer:?} {p:?} w{width} layer {l}: {worst}");
                    }
                }
            }
        }
    }
}

/// At the base width the three parameterisations are the same network and train identically, bit for
/// bit; away from it they differ.
#[test]
fn at_the_base_width_the_parameterisations_train_identically() {
    let device = Device::flex();
    let data = DeviceData::new(&data(60), &device);
    for optimizer in [SGD, ADAM] {
        let run = |p: Parameterisation, base: usize| {
            let i = if p.is_standard() { Intervention::default() } else { parameterised(p, base) };
            let start = MlpWeights::init_parameterised(shape(12, 2), Init::KaimingUniform, p, i.base_width, 4);
            train_from(&spec(optimizer, 0.01, 5, Some(16), i), &data, &[start]).remove(0).weights
        };
        let standard = run(Parameterisation::Standard, 12);
        for p in [Parameterisation::Ntk, Parameterisation::MeanField] {
            assert_eq!(run(p, 12), standard, "{optimizer:?} {p:?}");
            assert_ne!(run(p, 3), standard, "{optimizer:?} {p:?}");
        }
    }
}

/// A pack of several widths gives each model its own rates: packed = separate under NTK and mean field.
#[test]
fn packed_parameterised_runs_of_several_widths_equal_separate_ones() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    for optimizer in [SGD, ADAM] {
        for p in [Parameterisation::Ntk, Parameterisation::MeanField] {
            let spec = spec(optimizer, 0.02, 4, Some(10), parameterised(p, 4));
            let start: Vec<MlpWeights> = [2, 8, 32]
                .into_iter()
                .map(|w| MlpWeights::init_parameterised(shape(w, 1), Init::KaimingUniform, p, Some(4), w as u64))
                .collect();
            let packed = train_from(&spec, &data, &start);
            for (alone_start, grouped) in start.iter().zip(&packed) {
                let alone = &train_from(&spec, &data, std::slice::from_ref(alone_start))[0];
                let diff = alone.weights.max_abs_diff(&grouped.weights);
                assert!(diff <= 1e-5, "{optimizer:?} {p:?} w{}: {diff}", alone_start.shape.width);
            }
        }
    }
}

/// A parameterisation without a base width is an error, not a silent standard network.
#[test]
fn a_parameterisation_needs_its_base_width() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    let i = Intervention { parameterisation: Parameterisation::Ntk, ..Intervention::default() };
    let err = train_group(
        &spec(SGD, 0.01, 1, None, i),
        Hooks::default(),
        &data,
        vec![RunState::fresh(0, initial(3, 0))],
        &[],
        &mut Quiet,
    )
    .unwrap_err();
    assert!(err.to_string().contains("base width"), "{err}");
}
