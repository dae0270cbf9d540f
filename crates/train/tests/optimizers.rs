//! The loss gradients and the optimiser updates against values computed by hand (an independent check:
//! the packed-training tests compare ddlab with itself).

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::{Loss, Optimizer};
use ddlab_model::{StackLayer, StackParams};
use ddlab_train::{OptimState, loss_gradient};

fn tensor(values: &[f32], shape: [usize; 3]) -> Tensor<3> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Device::flex())
}

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// One layer holding the two parameters under test as its weight `[1, 1, 2]`; its bias (`b`) is a
/// parameter of its own.
fn layer(w: &[f32], b: f32) -> StackParams {
    StackParams { layers: vec![StackLayer { w: tensor(w, [1, 1, 2]), b: tensor(&[b], [1, 1, 1]) }] }
}

fn weight(p: &StackParams) -> Vec<f32> {
    values(p.layers[0].w.clone())
}

fn close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6 * w.abs().max(1.0), "got {got:?}, want {want:?}");
    }
}

/// One model, two classes, two examples: outputs [M=1, K=2, n=2].
#[test]
fn loss_gradients_are_the_textbook_ones() {
    // Outputs: example 0 -> (1, 2), example 1 -> (0, -1); targets: class 1, class 0.
    let out = || tensor(&[1.0, 0.0, 2.0, -1.0], [1, 2, 2]);
    let target = || tensor(&[0.0, 1.0, 1.0, 0.0], [1, 2, 2]);
    // Squared loss summed over classes, mean over n = 2: d/d out = 2 (out - target) / 2.
    close(&values(loss_gradient(out(), target(), Loss::Mse)), &[1.0, -1.0, 1.0, -1.0]);
    // Cross-entropy, mean over n: (softmax(out) - target) / 2.
    let s0 = 1.0 / (1.0 + (1.0f64).exp()); // softmax of (1, 2): class 0 gets 1 / (1 + e)
    let s1 = 1.0 / (1.0 + (-1.0f64).exp()); // softmax of (0, -1): class 0 gets 1 / (1 + e^-1)
    close(
        &values(loss_gradient(out(), target(), Loss::Ce)),
        &[s0 / 2.0, (s1 - 1.0) / 2.0, (1.0 - s0 - 1.0) / 2.0, (1.0 - s1) / 2.0],
    );
}

/// SGD with momentum, PyTorch's rule: v = mu v + g, p -= lr v.
#[test]
fn sgd_momentum_two_steps_by_hand() {
    let mut params = layer(&[1.0, -2.0], 3.0);
    let mut state = OptimState { kind: Optimizer::Sgd { momentum: 0.9 }, moments: vec![layer(&[0.0, 0.0], 0.0)], step: 0 };
    state.update(&mut params, layer(&[0.5, 1.0], 1.0), 0.1, None);
    // v = (0.5, 1.0); p = (1 - 0.05, -2 - 0.1); the bias: v = 1, b = 3 - 0.1
    close(&weight(&params), &[0.95, -2.1]);
    close(&values(params.layers[0].b.clone()), &[2.9]);
    state.update(&mut params, layer(&[-1.0, 2.0], 0.0), 0.1, None);
    // v = 0.9 (0.5, 1.0) + (-1, 2) = (-0.55, 2.9); p = (0.95 + 0.055, -2.1 - 0.29); bias: v = 0.9, b = 2.9 - 0.09
    close(&weight(&params), &[1.005, -2.39]);
    close(&values(params.layers[0].b.clone()), &[2.81]);
}

/// Adam, PyTorch's rule: bias-corrected moments, eps outside the square root.
#[test]
fn adam_two_steps_by_hand() {
    let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.01f64);
    let zeros = || layer(&[0.0, 0.0], 0.0);
    let mut params = layer(&[1.0, -2.0], 0.0);
    let mut state = OptimState { kind: Optimizer::Adam { beta1: b1, beta2: b2, eps }, moments: vec![zeros(), zeros()], step: 0 };
    let grads = [[0.5f64, -4.0], [1.0, 2.0]];
    let (mut p, mut m, mut v) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
    for (t, g) in grads.iter().enumerate() {
        state.update(&mut params, layer(&[g[0] as f32, g[1] as f32], 0.0), lr, None);
        let t = (t + 1) as i32;
        for i in 0..2 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let (m_hat, v_hat) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        close(&weight(&params), &p);
        if t == 1 {
            // The first step moves every parameter by lr against its gradient's sign, whatever its size.
            close(&weight(&params), &[0.99, -1.99]);
        }
    }
}
