//! Shared helpers of the probe tests: generated inputs, tiny trained nets, hand-built nets.
#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::Init;
use ddlab_model::{Layer, MlpShape, MlpWeights};

/// Deterministic inputs uniform in [-1, 1).
pub fn inputs(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n * d)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

pub fn tensor(values: Vec<f32>, n: usize, d: usize) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, d]), &Device::flex())
}

/// Labels with no relation to the inputs.
pub fn labels(n: usize, k: u32) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 7 + i / 3) % k).collect()
}

/// Labels a net can learn: the class of the largest of k fixed linear projections of x.
pub fn teacher_labels(x: &[f32], d: usize, k: usize) -> Vec<u32> {
    x.chunks(d)
        .map(|row| {
            let score = |c: usize| row.iter().enumerate().map(|(j, &v)| v * (((c * 3 + j * 5) % 7) as f32 - 3.0)).sum::<f32>();
            (0..k).max_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap() as u32
        })
        .collect()
}

/// A net trained a few hundred steps of plain gradient descent on squared loss against `y`, so that
/// its readout is not random (the identities must hold on trained nets).
pub fn train(width: usize, seed: u64, x: &Tensor<2>, y: &[u32], k: usize, steps: usize) -> MlpWeights {
    use ddlab_model::{StackInput, StackLayout};
    let [n, d] = x.dims();
    let shape = MlpShape { input: d, width, depth: 1, classes: k };
    let device = Device::flex();
    let onehot: Vec<f32> = (0..k as u32).flat_map(|j| y.iter().map(move |&c| if j == c { 1.0 } else { 0.0 })).collect();
    let target = Tensor::<3>::from_data(TensorData::new(onehot, [1, k, n]), &device);
    let layout = StackLayout::new(vec![shape]);
    let mut params = layout.pack(&[MlpWeights::init(shape, Init::KaimingUniform, seed)], &device);
    for _ in 0..steps {
        let (out, tape) = layout.forward_train(&params, StackInput::Shared(x.clone()));
        let grads = layout.backward(&params, tape, (out - target.clone()).mul_scalar(2.0 / n as f64));
        for (p, g) in params.tensors_mut().zip(grads.into_tensors()) {
            *p = p.clone() - g.mul_scalar(0.05);
        }
    }
    layout.unpack(&params).remove(0)
}

/// The historical fixture: 60 inputs in 4 dimensions, 3 unlearnable classes, 300 steps.
pub fn trained(width: usize, seed: u64) -> (MlpWeights, Tensor<2>, Vec<u32>) {
    let (n, d, k) = (60, 4, 3);
    let x = tensor(inputs(n, d, seed), n, d);
    let y = labels(n, k as u32);
    (train(width, seed, &x, &y, k, 300), x, y)
}

/// M exact copies of each unit of `small` (readout divided by M): the same function, width M h, unit
/// `copy * h + unit`.
pub fn copies(small: &MlpWeights, m: usize) -> MlpWeights {
    let h0 = small.shape.width;
    let h = h0 * m;
    let (first, readout) = (&small.layers[0], &small.layers[1]);
    let mut w = vec![0.0; first.fan_in * h];
    let mut b = vec![0.0; h];
    let mut v = vec![0.0; h * readout.fan_out];
    for copy in 0..m {
        for unit in 0..h0 {
            let j = copy * h0 + unit;
            for i in 0..first.fan_in {
                w[i * h + j] = first.w[i * h0 + unit];
            }
            b[j] = first.b[unit];
            for c in 0..readout.fan_out {
                v[j * readout.fan_out + c] = readout.w[unit * readout.fan_out + c] / m as f32;
            }
        }
    }
    MlpWeights {
        shape: MlpShape { width: h, ..small.shape },
        layers: vec![
            Layer { fan_in: first.fan_in, fan_out: h, w, b },
            Layer { fan_in: h, fan_out: readout.fan_out, w: v, b: readout.b.clone() },
        ],
    }
}

/// A hand-built one-unit net on 2-d inputs for the two classes "x0 > 0" (1) and "x0 <= 0" (0):
/// a = relu(4 x0), f = (0.5 - a, a - 0.5). It errs only for 0 < x0 <= 1/8, so it is clearly better
/// than chance; [`step_labels`] gives its task.
pub fn one_unit_net() -> MlpWeights {
    MlpWeights {
        shape: MlpShape { input: 2, width: 1, depth: 1, classes: 2 },
        layers: vec![
            Layer { fan_in: 2, fan_out: 1, w: vec![4.0, 0.0], b: vec![0.0] },
            Layer { fan_in: 1, fan_out: 2, w: vec![-1.0, 1.0], b: vec![0.5, -0.5] },
        ],
    }
}

/// Labels of the task of [`one_unit_net`]: 1 where x0 > 0.
pub fn step_labels(x: &[f32]) -> Vec<u32> {
    x.chunks(2).map(|r| (r[0] > 0.0) as u32).collect()
}

/// The figure named `name` among a probe's metrics.
pub fn get<'a>(metrics: &'a [ddlab_probe::Metric], name: &str) -> &'a ddlab_probe::Value {
    &metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no metric {name}")).value
}
