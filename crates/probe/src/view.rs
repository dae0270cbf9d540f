//! What the probes see of one model on the probe set, computed once: the heavy products run on the
//! Burn device, everything after on the host in f64.

use burn::tensor::{Tensor, TensorData};
use ddlab_model::{Mlp, MlpWeights, host_f32};

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
    /// Readout V, `classes x width` (f = V a + c).
    pub readout: Vec<f32>,
    pub readout_bias: Vec<f32>,
    /// A^T A over the probe set, `width x width`.
    pub hidden_gram: Vec<f64>,
    /// Column means of A.
    pub hidden_mean: Vec<f64>,
    /// Gram of the input-output Jacobians over the probe set, `n x n`.
    pub jacobian_gram: Vec<f64>,
    /// A A^T: the last hidden layer's representation Gram over inputs, `n x n` (for CKA).
    pub hidden_outer: Vec<f64>,
}

/// Host values of a tensor as f64.
fn host_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    host_f32(t).into_iter().map(f64::from).collect()
}

impl ModelView {
    /// Runs the model on `x` (`[n, d]`, on the model's device) and computes every shared product.
    pub fn observe(weights: &MlpWeights, x: &Tensor<2>) -> Self {
        let device = x.device();
        let mlp = Mlp::from_weights(weights, &device);
        let [n, _] = x.dims();
        let shape = weights.shape;
        let (hidden_layers, output) = mlp.forward_with_hidden(x.clone());
        let last = hidden_layers.last().expect("an MLP has a hidden layer").clone();
        let hidden_gram = host_f64(last.clone().transpose().matmul(last.clone()));
        let hidden_mean = host_f64(last.clone().mean_dim(0));
        let hidden_outer = host_f64(last.clone().matmul(last.clone().transpose()));
        let masks: Vec<Tensor<2>> = hidden_layers.iter().map(|h| h.clone().greater_elem(0.0).float()).collect();
        let jacobian_gram =
            if shape.depth == 1 { jacobian_gram_depth1(weights, &masks[0]) } else { jacobian_gram_explicit(weights, &masks) };
        let patterns = masks.iter().map(|m| host_f32(m.clone())).fold(vec![Vec::new(); n], |mut rows, layer| {
            for (i, row) in rows.iter_mut().enumerate() {
                row.extend(layer[i * shape.width..(i + 1) * shape.width].iter().map(|&v| v > 0.5));
            }
            rows
        });
        let (readout, readout_bias) = weights.readout();
        ModelView {
            n,
            width: shape.width,
            classes: shape.classes,
            hidden: host_f32(last),
            patterns: patterns.concat(),
            output: host_f32(output),
            readout,
            readout_bias,
            hidden_gram,
            hidden_mean,
            jacobian_gram,
            hidden_outer,
        }
    }

    /// Unit i's activation on input x.
    pub fn a(&self, x: usize, i: usize) -> f32 {
        self.hidden[x * self.width + i]
    }

    /// V[k, i].
    pub fn v(&self, k: usize, i: usize) -> f32 {
        self.readout[k * self.width + i]
    }
}

/// <J(x), J(x')> = s(x)^T [(V^T V) o (W W^T)] s(x') for one hidden layer (W: hidden x input), so the
/// Jacobians J(x) = V diag(s(x)) W are never formed.
fn jacobian_gram_depth1(weights: &MlpWeights, mask: &Tensor<2>) -> Vec<f64> {
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
/// computed for all inputs at once as `[n, classes, units]` products, then their Gram.
fn jacobian_gram_explicit(weights: &MlpWeights, masks: &[Tensor<2>]) -> Vec<f64> {
    let device = masks[0].device();
    let [n, _] = masks[0].dims();
    let layers = &weights.layers;
    let readout = layers.last().unwrap();
    let k = readout.fan_out;
    // Start from V (classes x units), one copy per input.
    let v = Tensor::<2>::from_data(TensorData::new(readout.w.clone(), [readout.fan_in, readout.fan_out]), &device).transpose();
    let mut jac: Tensor<3> = v.unsqueeze_dim::<3>(0).repeat_dim(0, n);
    for l in (0..layers.len() - 1).rev() {
        let layer = &layers[l];
        jac = jac * masks[l].clone().unsqueeze_dim(1);
        let w_t = Tensor::<2>::from_data(TensorData::new(layer.w.clone(), [layer.fan_in, layer.fan_out]), &device);
        let [_, _, units] = jac.dims();
        jac = jac.reshape([n * k, units]).matmul(w_t.transpose()).reshape([n, k, layer.fan_in]);
    }
    let [_, _, d] = jac.dims();
    let flat = jac.reshape([n, k * d]);
    host_f64(flat.clone().matmul(flat.transpose()))
}
