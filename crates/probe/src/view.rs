//! What the probes see of one model on the probe set, computed once: the heavy products run on the
//! Burn device, everything after on the host in f64. Nothing here holds a `width x width` matrix
//! (docs/SCIENCE.md, Probes, "Cost at any width"): the largest things kept are the `n x width`
//! activations and patterns and a few `n x n` Grams.

use burn::tensor::{Tensor, TensorData};
use ddlab_model::{Mlp, MlpWeights, host_f32};

use crate::diversity::DUPLICATE_COSINE;
use crate::unit_gram::{ProbeLimits, UnitGram, unit_gram};

/// One model observed on the probe set.
pub struct ModelView {
    /// Probe inputs.
    pub n: usize,
    /// Units of the last hidden layer.
    pub width: usize,
    pub classes: usize,
    /// Last hidden layer's activations a(x), `n x width`, row-major.
    pub hidden: Vec<f32>,
    /// Active/inactive pattern of every hidden unit of every layer, `n x (depth * width)`, row-major.
    pub patterns: Vec<bool>,
    /// Outputs f(x), `n x classes`.
    pub output: Vec<f32>,
    /// The readout transposed, V^T, `width x classes` (Burn's own layout; f = V a + c), so that a unit's
    /// readout column is contiguous.
    pub readout_t: Vec<f32>,
    /// c(x), the part of f no unit carries, `n x classes`: the readout bias c on every input, minus the
    /// initial function g(x; theta_0) for a centred network (docs/SCIENCE.md, interventions).
    pub offset: Vec<f32>,
    /// ||a_i||^2 over the probe set: the diagonal of A^T A (0 exactly for a dead unit).
    pub hidden_sq_norms: Vec<f64>,
    /// The unit Gram (A^T A) o (V^T V), summarised (P3).
    pub unit_gram: UnitGram,
    /// Gram of the input-output Jacobians over the probe set, `n x n`.
    pub jacobian_gram: Vec<f64>,
    /// A A^T: the last hidden layer's representation Gram over inputs, `n x n` (for CKA).
    pub hidden_outer: Vec<f64>,
    /// Ac Ac^T with Ac = A minus its column means: the dual of the activation covariance (P6).
    pub centred_outer: Vec<f64>,
}

/// What the probes across models (seed ensemble, CKA) need of one model: small enough to keep for every
/// seed of a width while the next width is observed.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossView {
    pub n: usize,
    pub classes: usize,
    /// Outputs f(x), `n x classes`.
    pub output: Vec<f32>,
    /// A A^T, `n x n`.
    pub hidden_outer: Vec<f64>,
}

/// Host values of a tensor as f64.
pub(crate) fn host_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    host_f32(t).into_iter().map(f64::from).collect()
}

impl ModelView {
    /// Runs the model on `x` (`[n, d]`, on the model's device) with the default [`ProbeLimits`].
    pub fn observe(weights: &MlpWeights, x: &Tensor<2>) -> Self {
        Self::observe_with(weights, x, &ProbeLimits::default(), 0)
    }

    /// Observes the function f = g(theta) - g(theta_0) of a centred network (`initial`: theta_0), or the
    /// network itself without one: the units and the patterns are the network's, the initial function
    /// is subtracted from the output and enters the offset (docs/SCIENCE.md, interventions). An output
    /// scale is already in the weights ([`MlpWeights::with_output_scale`]).
    pub fn observe_function(
        weights: &MlpWeights,
        initial: Option<&MlpWeights>,
        x: &Tensor<2>,
        limits: &ProbeLimits,
        seed: u64,
    ) -> Self {
        let mut view = Self::observe_with(weights, x, limits, seed);
        if let Some(initial) = initial {
            let g0 = host_f32(Mlp::from_weights(initial, &x.device()).forward(x.clone()));
            for ((f, c), g0) in view.output.iter_mut().zip(view.offset.iter_mut()).zip(g0) {
                *f -= g0;
                *c -= g0;
            }
        }
        view
    }

    /// Runs the model on `x` and computes every shared product within `limits`; `seed` drives the
    /// Lanczos estimate where one is needed.
    pub fn observe_with(weights: &MlpWeights, x: &Tensor<2>, limits: &ProbeLimits, seed: u64) -> Self {
        let device = x.device();
        let mlp = Mlp::from_weights(weights, &device);
        let [n, _] = x.dims();
        let shape = weights.shape;
        let (hidden_layers, output) = mlp.forward_with_hidden(x.clone());
        let last = hidden_layers.last().expect("an MLP has a hidden layer").clone();
        let readout = weights.layers.last().expect("an MLP has a readout");
        let v_t = Tensor::<2>::from_data(TensorData::new(readout.w.clone(), [readout.fan_in, readout.fan_out]), &device);
        let hidden_sq_norms = host_f64(last.clone().powi_scalar(2).sum_dim(0));
        let unit_gram = unit_gram(&last, &v_t, &hidden_sq_norms, DUPLICATE_COSINE, limits, seed);
        let hidden_outer = host_f64(last.clone().matmul(last.clone().transpose()));
        let centred = last.clone() - last.clone().mean_dim(0);
        let centred_outer = host_f64(centred.clone().matmul(centred.transpose()));
        let masks: Vec<Tensor<2>> = hidden_layers.iter().map(|h| h.clone().greater_elem(0.0).float()).collect();
        let jacobian_gram = jacobian_gram(weights, &masks, limits.block_values);
        let patterns = masks.iter().map(|m| host_f32(m.clone())).fold(vec![Vec::new(); n], |mut rows, layer| {
            for (i, row) in rows.iter_mut().enumerate() {
                row.extend(layer[i * shape.width..(i + 1) * shape.width].iter().map(|&v| v > 0.5));
            }
            rows
        });
        ModelView {
            n,
            width: shape.width,
            classes: shape.classes,
            hidden: host_f32(last),
            patterns: patterns.concat(),
            output: host_f32(output),
            readout_t: readout.w.clone(),
            offset: readout.b.repeat(n),
            hidden_sq_norms,
            unit_gram,
            jacobian_gram,
            hidden_outer,
            centred_outer,
        }
    }

    /// Unit i's activation on input x.
    pub fn a(&self, x: usize, i: usize) -> f32 {
        self.hidden[x * self.width + i]
    }

    /// V[k, i].
    pub fn v(&self, k: usize, i: usize) -> f32 {
        self.readout_t[i * self.classes + k]
    }

    /// c(x) for input x, `classes` values.
    pub fn offset_row(&self, x: usize) -> &[f32] {
        &self.offset[x * self.classes..(x + 1) * self.classes]
    }

    /// What the cross-model probes keep of this model.
    pub fn cross(&self) -> CrossView {
        CrossView { n: self.n, classes: self.classes, output: self.output.clone(), hidden_outer: self.hidden_outer.clone() }
    }
}

/// The Jacobian Gram by whichever exact route costs fewer operations: for one hidden layer the kernel
/// identity (a `width x width` kernel, cheap for narrow nets), else the Jacobians written out in chunks of
/// inputs (linear in the width).
fn jacobian_gram(weights: &MlpWeights, masks: &[Tensor<2>], block_values: usize) -> Vec<f64> {
    let shape = weights.shape;
    let [n, _] = masks[0].dims();
    let (w, d, k) = (shape.width, shape.input, shape.classes);
    let kernel_cost = w * w * (k + d) + n * w * w + n * n * w;
    let explicit_cost = n * k * w * d + n * n * k * d;
    if shape.depth == 1 && w * w <= block_values && kernel_cost <= explicit_cost {
        jacobian_gram_depth1(weights, &masks[0])
    } else {
        jacobian_gram_explicit(weights, masks, block_values)
    }
}

/// <J(x), J(x')> = s(x)^T [(V^T V) o (W W^T)] s(x') for one hidden layer (W: hidden x input), so the
/// Jacobians J(x) = V diag(s(x)) W are never formed.
pub(crate) fn jacobian_gram_depth1(weights: &MlpWeights, mask: &Tensor<2>) -> Vec<f64> {
    let device = mask.device();
    let (first, readout) = (&weights.layers[0], &weights.layers[1]);
    // Burn layout: first.w is input x hidden (= W^T), readout.w is hidden x classes (= V^T).
    let w_t = Tensor::<2>::from_data(TensorData::new(first.w.clone(), [first.fan_in, first.fan_out]), &device);
    let v_t = Tensor::<2>::from_data(TensorData::new(readout.w.clone(), [readout.fan_in, readout.fan_out]), &device);
    let vv = v_t.clone().matmul(v_t.transpose());
    let ww = w_t.clone().transpose().matmul(w_t);
    let kernel = vv * ww;
    host_f64(mask.clone().matmul(kernel).matmul(mask.clone().transpose()))
}

/// The Jacobians written out, for any depth: J(x) = V D_L W_L ... D_1 W_1 with D_l = diag(s_l(x)),
/// computed for a chunk of inputs at a time as `[chunk, classes, units]` products (at most
/// `block_values` values), then the Gram of their rows.
pub(crate) fn jacobian_gram_explicit(weights: &MlpWeights, masks: &[Tensor<2>], block_values: usize) -> Vec<f64> {
    let device = masks[0].device();
    let [n, _] = masks[0].dims();
    let layers = &weights.layers;
    let readout = layers.last().unwrap();
    let (k, units) = (readout.fan_out, readout.fan_in);
    let chunk = (block_values / (k * units).max(1)).clamp(1, n.max(1));
    // V, classes x units.
    let v = Tensor::<2>::from_data(TensorData::new(readout.w.clone(), [readout.fan_in, readout.fan_out]), &device).transpose();
    let w_ts: Vec<Tensor<2>> = layers[..layers.len() - 1]
        .iter()
        .map(|layer| Tensor::<2>::from_data(TensorData::new(layer.w.clone(), [layer.fan_in, layer.fan_out]), &device))
        .collect();
    let mut rows = Vec::new();
    for c0 in (0..n).step_by(chunk) {
        let c = chunk.min(n - c0);
        let mut jac: Tensor<3> = v.clone().unsqueeze_dim::<3>(0).repeat_dim(0, c);
        for l in (0..w_ts.len()).rev() {
            jac = jac * masks[l].clone().narrow(0, c0, c).unsqueeze_dim(1);
            let [_, _, width] = jac.dims();
            let fan_in = layers[l].fan_in;
            jac = jac.reshape([c * k, width]).matmul(w_ts[l].clone().transpose()).reshape([c, k, fan_in]);
        }
        let [_, _, d] = jac.dims();
        rows.push(jac.reshape([c, k * d]));
    }
    let flat = Tensor::cat(rows, 0);
    host_f64(flat.clone().matmul(flat.transpose()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use ddlab_config::Init;
    use ddlab_model::MlpShape;

    /// The two exact routes to the depth-1 Jacobian Gram give the same matrix (1e-6 of its largest entry),
    /// whatever the chunk of inputs.
    #[test]
    fn kernel_and_explicit_jacobian_grams_agree() {
        let (n, d, k, width) = (13, 5, 4, 33);
        let weights = MlpWeights::init(MlpShape { input: d, width, depth: 1, classes: k }, Init::KaimingUniform, 3);
        let values: Vec<f32> = (0..n * d).map(|i| ((i * 37 % 23) as f32 / 11.5) - 1.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [n, d]), &Device::flex());
        let (hidden, _) = Mlp::from_weights(&weights, &x.device()).forward_with_hidden(x);
        let mask = hidden[0].clone().greater_elem(0.0).float();
        let kernel = jacobian_gram_depth1(&weights, &mask);
        let scale = kernel.iter().fold(0f64, |m, v| m.max(v.abs()));
        for block in [k * width, 5 * k * width, 1 << 22] {
            let explicit = jacobian_gram_explicit(&weights, std::slice::from_ref(&mask), block);
            let worst = kernel.iter().zip(&explicit).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-6 * scale, "block {block}: {worst} of {scale}");
        }
    }
}
