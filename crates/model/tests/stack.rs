//! Packing is exact: the packed forward equals each model's own, the hand-written backward equals
//! Burn's autodiff, and weights survive packing and saving.

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::Init;
use ddlab_model::*;

fn shapes(widths: &[usize], depth: usize) -> Vec<MlpShape> {
    widths.iter().map(|&width| MlpShape { input: 5, width, depth, classes: 3 }).collect()
}

fn models(shapes: &[MlpShape]) -> Vec<MlpWeights> {
    shapes.iter().enumerate().map(|(i, s)| MlpWeights::init(*s, Init::KaimingUniform, 10 + i as u64)).collect()
}

fn input(n: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..n * 5).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
    Tensor::from_data(TensorData::new(values, [n, 5]), device)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn initial_weights_depend_only_on_shape_init_and_seed() {
    let s = MlpShape { input: 5, width: 7, depth: 2, classes: 3 };
    assert_eq!(MlpWeights::init(s, Init::KaimingUniform, 4), MlpWeights::init(s, Init::KaimingUniform, 4));
    assert_ne!(MlpWeights::init(s, Init::KaimingUniform, 4), MlpWeights::init(s, Init::KaimingUniform, 5));
    let w = MlpWeights::init(s, Init::KaimingUniform, 4);
    assert_eq!(w.flat().len(), s.params());
    assert_eq!(s.params(), 6 * 7 + 8 * 7 + 8 * 3);
    let bound = 1.0 / 5f32.sqrt();
    assert!(w.layers[0].w.iter().all(|v| v.abs() <= bound));
}

#[test]
fn packing_round_trips_and_packed_forward_equals_each_model() {
    let device = Device::flex();
    for depth in [1, 2] {
        let shapes = shapes(&[1, 4, 9], depth);
        let weights = models(&shapes);
        let layout = StackLayout::new(shapes.clone());
        let params = layout.pack(&weights, &device);
        assert_eq!(layout.unpack(&params), weights);
        let x = input(6, &device);
        // Packed outputs are class-major, [M, classes, n]; a model alone gives [n, classes].
        let packed = host_f32(layout.forward(&params, StackInput::Shared(x.clone())));
        for (j, w) in weights.iter().enumerate() {
            let alone = host_f32(Mlp::from_weights(w, &device).forward(x.clone()).transpose());
            assert!(max_diff(&packed[j * 18..(j + 1) * 18], &alone) < 1e-5, "depth {depth}, model {j}");
        }
    }
}

/// The hand-written backward pass equals Burn's autodiff, for a loss sum(out * R) whose output
/// gradient is R.
#[test]
fn hand_written_backward_equals_autodiff() {
    let device = Device::flex();
    for depth in [1, 2, 3] {
        for per_model in [false, true] {
            let shapes = shapes(&[2, 6, 3], depth);
            let layout = StackLayout::new(shapes.clone());
            let params = layout.pack(&models(&shapes), &device);
            let n = 7;
            let x = input(n, &device);
            let make_input = || {
                if per_model {
                    let rows: Vec<f32> = (0..3 * n * 5).map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0).collect();
                    StackInput::PerModel(Tensor::from_data(TensorData::new(rows, [3, n, 5]), &device))
                } else {
                    StackInput::Shared(x.clone())
                }
            };
            let r: Vec<f32> = (0..3 * n * 3).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
            let r = Tensor::<3>::from_data(TensorData::new(r, [3, 3, n]), &device);

            let (out, tape) = layout.forward_train(&params, make_input());
            let _ = out;
            let manual = layout.backward(&params, tape, r.clone());

            let tracked = params.map(|p| p.clone().autodiff().require_grad());
            let out = layout.forward(&tracked, make_input());
            let grads = (out * r.clone().autodiff()).sum().backward();
            for (i, (p, m)) in tracked.tensors().zip(manual.tensors()).enumerate() {
                let auto = host_f32(p.grad(&grads).unwrap());
                let diff = max_diff(&auto, &host_f32(m.clone()));
                assert!(diff < 1e-5, "depth {depth}, per_model {per_model}, parameter {i}: {diff}");
            }
            // Padding stays inert: the gradient of every padded weight is exactly zero (layout
            // [M, units, inputs]).
            let grad_w0 = host_f32(manual.layers[0].w.clone());
            for unit in 2..6 {
                for inp in 0..5 {
                    assert_eq!(grad_w0[unit * 5 + inp], 0.0, "padded unit {unit} of the width-2 model");
                }
            }
        }
    }
}

#[test]
fn models_save_and_load_as_burnpack() {
    let device = Device::flex();
    let shape = MlpShape { input: 5, width: 4, depth: 2, classes: 3 };
    let weights = MlpWeights::init(shape, Init::HeNormal, 1);
    let bytes = Mlp::from_weights(&weights, &device).to_bytes().unwrap();
    let back = Mlp::from_bytes(shape, bytes.clone(), &device).unwrap().to_weights(shape);
    assert_eq!(back, weights);
    let wrong = MlpShape { width: 5, ..shape };
    assert!(Mlp::from_bytes(wrong, bytes.clone(), &device).is_err(), "a wrong shape is refused");
    assert!(Mlp::from_bytes(shape, bytes[..bytes.len() / 2].to_vec(), &device).is_err(), "a truncated file is refused");
}
