//! SGD with momentum and Adam, element-wise on packed parameter tensors.
//!
//! Written here rather than taken from `burn::optim` because ddlab checkpoints each run on its own:
//! the optimiser state of a packed group must be sliced per model, and Burn's optimiser records are
//! keyed by parameter id with no per-model view. The update rules are PyTorch's (SGD: dampening 0,
//! no Nesterov; Adam: bias-corrected moments, eps outside the square root).

use burn::tensor::Tensor;
use ddlab_config::Optimizer;
use ddlab_model::{StackParams, fused};

/// Optimiser state for packed parameters: one moment list per moment kind (SGD: velocity;
/// Adam: first and second moments), each shaped like the parameters.
pub struct OptimState {
    pub kind: Optimizer,
    pub moments: Vec<StackParams>,
    /// Updates applied so far (Adam's bias correction needs it).
    pub step: u64,
}

impl OptimState {
    /// Number of moment arrays the optimiser keeps per parameter.
    pub fn moment_count(kind: Optimizer) -> usize {
        match kind {
            Optimizer::Sgd { .. } => 1,
            Optimizer::Adam { .. } => 2,
        }
    }

    /// Applies one update to `params` in place. `rates`, when given, multiplies each tensor's step model
    /// by model (tensors `[M, 1, 1]` in the form of the parameters: a parameterisation's per-layer
    /// factors); without it every step is the plain one.
    pub fn update(&mut self, params: &mut StackParams, grads: StackParams, lr: f64, rates: Option<&StackParams>) {
        self.step += 1;
        let mut rates = rates.map(|r| r.tensors());
        let scaled = |step: Tensor<3>, lr: f64, rate: Option<&Tensor<3>>| match rate {
            Some(rate) => step.mul_scalar(lr) * rate.clone(),
            None => step.mul_scalar(lr),
        };
        // Each tensor in one fused pass where flex allows it (ddlab_model::fused: the same numbers);
        // otherwise the unfused ops.
        match self.kind {
            Optimizer::Sgd { momentum } => {
                for ((p, g), v) in params.tensors_mut().zip(grads.into_tensors()).zip(self.moments[0].tensors_mut()) {
                    let rate = rates.as_mut().map(|r| r.next().expect("a rate per parameter tensor"));
                    if fused::sgd(p, &g, v, momentum, lr, rate) {
                        continue;
                    }
                    let velocity = if momentum > 0.0 { v.clone().mul_scalar(momentum) + g } else { g };
                    *p = p.clone() - scaled(velocity.clone(), lr, rate);
                    *v = velocity;
                }
            }
            Optimizer::Adam { beta1, beta2, eps } => {
                let t = self.step as i32;
                let bias1 = 1.0 - beta1.powi(t);
                let bias2 = 1.0 - beta2.powi(t);
                let step = fused::AdamStep { beta1, beta2, eps, bias1, bias2, lr };
                let (first, second) = self.moments.split_at_mut(1);
                for (((p, g), m), v) in
                    params.tensors_mut().zip(grads.into_tensors()).zip(first[0].tensors_mut()).zip(second[0].tensors_mut())
                {
                    let rate = rates.as_mut().map(|r| r.next().expect("a rate per parameter tensor"));
                    if fused::adam(p, &g, m, v, step, rate) {
                        continue;
                    }
                    *m = m.clone().mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1);
                    *v = v.clone().mul_scalar(beta2) + (g.clone() * g).mul_scalar(1.0 - beta2);
                    let denom = v.clone().div_scalar(bias2).sqrt().add_scalar(eps);
                    *p = p.clone() - scaled(m.clone() / denom, lr / bias1, rate);
                }
            }
        }
    }
}

/// The learning rate at `epoch` (1-based) under an optional step decay.
pub fn lr_at(base: f64, decay: Option<ddlab_config::LrDecay>, epoch: usize) -> f64 {
    match decay {
        Some(d) => base * d.factor.powi(((epoch - 1) / d.every) as i32),
        None => base,
    }
}
