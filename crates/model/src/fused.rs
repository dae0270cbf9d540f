//! Fused element-wise kernels on flex's f32 buffers: one pass over memory where Burn's tensor ops take
//! several, each with its own allocation (docs/PERFORMANCE.md, "Where a training step's time goes").
//!
//! Every kernel computes exactly what the unfused Burn ops compute, operation for operation in f32 (flex
//! casts a scalar to f32 before it applies it), so results are bit for bit the same; the tests below
//! compare each kernel with its unfused path. A kernel works in place on a tensor that is on flex, f32,
//! contiguous and not shared; otherwise it hands the tensors back untouched and the caller runs the
//! unfused ops (ndarray, a GPU, a shared buffer): the same numbers, only slower.

use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind, Flex};
use burn::tensor::{DType, Device, Tensor};

/// A tensor taken apart: its flex primitive (a plain f32 tensor on flex), or the tensor itself.
enum Taken<const D: usize> {
    Flex(FlexTensor),
    Other(Tensor<D>),
}

impl<const D: usize> Taken<D> {
    fn flex(&self) -> Option<&FlexTensor> {
        match self {
            Taken::Flex(f) => Some(f),
            Taken::Other(_) => None,
        }
    }

    fn flex_mut(&mut self) -> Option<&mut FlexTensor> {
        match self {
            Taken::Flex(f) => Some(f),
            Taken::Other(_) => None,
        }
    }

    /// The tensor again, as it was given or as written.
    fn into_tensor(self) -> Tensor<D> {
        match self {
            Taken::Flex(f) => Tensor::from_primitive::<Flex>(f),
            Taken::Other(t) => t,
        }
    }
}

/// Whether a tensor lives on flex (checked before anything is taken apart, so that other backends pay
/// nothing for the kernels).
fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    t.device() == Device::flex()
}

fn take<const D: usize>(t: Tensor<D>) -> Taken<D> {
    match t.into_dispatch() {
        DispatchTensor {
            kind: DispatchTensorKind::Flex(BackendTensor::Float(f)),
            autodiff: DispatchAutodiffContext::Disabled,
        } if f.dtype() == DType::F32 => Taken::Flex(f),
        other => Taken::Other(Tensor::from_dispatch(other)),
    }
}

/// Whether `f` can be written in place: contiguous from offset 0 and not shared.
fn writable(f: &FlexTensor) -> bool {
    f.is_unique() && matches!(f.layout().contiguous_offsets(), Some((0, _)))
}

fn slice(f: &FlexTensor) -> Option<&[f32]> {
    f.as_slice::<f32>()
}

fn slice_mut(f: &mut FlexTensor) -> &mut [f32] {
    let (_, end) = f.layout().contiguous_offsets().expect("checked writable");
    &mut f.try_storage_mut::<f32>().expect("checked writable")[..end]
}

/// `relu(z + b)` with `z` `[M, units, n]` and `b` `[M, units, 1]`: the forward pass's bias and ReLU in one
/// pass over `z` (flex's ReLU: NaN propagates, everything not above 0 becomes +0).
pub fn bias_relu(z: Tensor<3>, b: &Tensor<3>) -> Tensor<3> {
    let [m, units, n] = z.dims();
    if n == 0 || b.dims() != [m, units, 1] || !on_flex(&z) {
        return burn::tensor::activation::relu(z + b.clone());
    }
    let (mut z, b) = (take(z), take(b.clone()));
    match (z.flex_mut(), b.flex().and_then(slice)) {
        (Some(out), Some(bias)) if writable(out) => {
            for (row, bias) in slice_mut(out).chunks_exact_mut(n).zip(bias) {
                for x in row {
                    let y = *x + bias;
                    *x = if y.is_nan() || y > 0.0 { y } else { 0.0 };
                }
            }
            z.into_tensor()
        }
        _ => burn::tensor::activation::relu(z.into_tensor() + b.into_tensor()),
    }
}

/// `back * (activation > 0 as 0/1)`: the ReLU's backward pass in one pass over `back` (the same multiply
/// as the unfused ops, so a negative gradient at an inactive unit gives -0 there too).
pub fn relu_mask(back: Tensor<3>, activation: &Tensor<3>) -> Tensor<3> {
    let unfused = |back: Tensor<3>, activation: Tensor<3>| back * activation.greater_elem(0.0).float();
    if back.dims() != activation.dims() || !on_flex(&back) {
        return unfused(back, activation.clone());
    }
    let (mut back, a) = (take(back), take(activation.clone()));
    match (back.flex_mut(), a.flex().and_then(slice)) {
        (Some(out), Some(a)) if writable(out) => {
            for (g, a) in slice_mut(out).iter_mut().zip(a) {
                *g *= if *a > 0.0 { 1.0 } else { 0.0 };
            }
            back.into_tensor()
        }
        _ => unfused(back.into_tensor(), a.into_tensor()),
    }
}

/// The cross-entropy gradient `(softmax(out, 1) - target) / n` of `out` and `target` `[M, classes, n]`, in
/// place over `out`. Flex's softmax along axis 1 copies `out` into `[M, n, classes]` rows first, and the
/// subtraction (strided) and the division are two more passes with their allocations. Column by column this
/// computes what flex's row kernel computes: the max (a value any order finds; a NaN makes the column NaN
/// either way), e = exp(x - max) summed in class order from 0, e * (1 / sum), then minus the target and
/// divided by n as an f32.
pub fn softmax_minus_target(out: Tensor<3>, target: &Tensor<3>) -> Tensor<3> {
    let [_, classes, n] = out.dims();
    let unfused = |out: Tensor<3>, target: Tensor<3>| (burn::tensor::activation::softmax(out, 1) - target).div_scalar(n as f64);
    if n == 0 || classes == 0 || target.dims() != out.dims() || !on_flex(&out) {
        return unfused(out, target.clone());
    }
    let (mut out, t) = (take(out), take(target.clone()));
    match (out.flex_mut(), t.flex().and_then(slice)) {
        (Some(o), Some(t)) if writable(o) => {
            let n_f32 = n as f64 as f32;
            let (mut max, mut sum) = (vec![0f32; n], vec![0f32; n]);
            for (o, t) in slice_mut(o).chunks_exact_mut(classes * n).zip(t.chunks_exact(classes * n)) {
                max.fill(f32::NEG_INFINITY);
                sum.fill(0.0);
                for row in o.chunks_exact(n) {
                    for (m, x) in max.iter_mut().zip(row) {
                        if *x > *m {
                            *m = *x;
                        }
                    }
                }
                for row in o.chunks_exact_mut(n) {
                    for ((x, m), s) in row.iter_mut().zip(&max).zip(sum.iter_mut()) {
                        *x = (*x - m).exp();
                        *s += *x;
                    }
                }
                for s in sum.iter_mut() {
                    *s = 1.0 / *s;
                }
                for (row, t) in o.chunks_exact_mut(n).zip(t.chunks_exact(n)) {
                    for ((x, inv), t) in row.iter_mut().zip(&sum).zip(t) {
                        *x = (*x * inv - t) / n_f32;
                    }
                }
            }
            out.into_tensor()
        }
        _ => unfused(out.into_tensor(), t.into_tensor()),
    }
}

/// The squared loss's gradient `(out - target) (2 / n)` of `out` and `target` `[M, outputs, n]`, in place
/// over `out`: one pass instead of two (the factor cast to f32 as flex casts it).
pub fn difference_times_two_over_n(out: Tensor<3>, target: &Tensor<3>) -> Tensor<3> {
    let n = out.dims()[2];
    let factor = 2.0 / n as f64;
    let unfused = |out: Tensor<3>, target: Tensor<3>| (out - target).mul_scalar(factor);
    if target.dims() != out.dims() || !on_flex(&out) {
        return unfused(out, target.clone());
    }
    let (mut out, t) = (take(out), take(target.clone()));
    match (out.flex_mut(), t.flex().and_then(slice)) {
        (Some(o), Some(t)) if writable(o) => {
            let factor = factor as f32;
            for (x, t) in slice_mut(o).iter_mut().zip(t) {
                *x = (*x - t) * factor;
            }
            out.into_tensor()
        }
        _ => unfused(out.into_tensor(), t.into_tensor()),
    }
}

/// Adam's constants for one step, as the unfused ops apply them (f64 scalars cast to f32 by flex).
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// 1 - beta1^t and 1 - beta2^t.
    pub bias1: f64,
    pub bias2: f64,
    pub lr: f64,
}

/// One Adam step of one parameter tensor in place (crate `ddlab-train`'s `OptimState::update`):
/// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g g; p -= ((m / (sqrt(v / bias2) + eps)) (lr /
/// bias1)) rate, `rate` per model (`[M, 1, 1]`) when given. Returns false, touching nothing, when the
/// tensors cannot be written in place on flex; the caller then runs the unfused ops.
pub fn adam(
    p: &mut Tensor<3>,
    g: &Tensor<3>,
    m: &mut Tensor<3>,
    v: &mut Tensor<3>,
    s: AdamStep,
    rate: Option<&Tensor<3>>,
) -> bool {
    let (b1, c1) = (s.beta1 as f32, (1.0 - s.beta1) as f32);
    let (b2, c2) = (s.beta2 as f32, (1.0 - s.beta2) as f32);
    let (bias2, eps, lr) = (s.bias2 as f32, s.eps as f32, (s.lr / s.bias1) as f32);
    in_place(p, g, [m, v], rate, |p, g, [m, v], rate| {
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = *m * b1 + *g * c1;
            *v = *v * b2 + (*g * *g) * c2;
            let step = (*m / ((*v / bias2).sqrt() + eps)) * lr;
            *p -= match rate {
                Some(r) => step * r,
                None => step,
            };
        }
    })
}

/// One SGD-with-momentum step of one parameter tensor in place: velocity = momentum velocity + g (g alone
/// without momentum); p -= (velocity lr) rate. Returns false, touching nothing, as [`adam`] does.
pub fn sgd(p: &mut Tensor<3>, g: &Tensor<3>, velocity: &mut Tensor<3>, momentum: f64, lr: f64, rate: Option<&Tensor<3>>) -> bool {
    let (momentum_f32, lr) = (momentum as f32, lr as f32);
    in_place(p, g, [velocity], rate, |p, g, [v], rate| {
        for ((p, g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
            *v = if momentum > 0.0 { *v * momentum_f32 + *g } else { *g };
            let step = *v * lr;
            *p -= match rate {
                Some(r) => step * r,
                None => step,
            };
        }
    })
}

/// Runs `update(p, g, moments, rate)` model by model over a parameter tensor `[M, ..]`, its gradient and
/// its moments (all the same shape; `p` and the moments written in place), `rate` the model's factor
/// from `[M, 1, 1]`. False, with every tensor as it was, when one cannot be used in place.
fn in_place<const K: usize>(
    p: &mut Tensor<3>,
    g: &Tensor<3>,
    moments: [&mut Tensor<3>; K],
    rate: Option<&Tensor<3>>,
    update: impl Fn(&mut [f32], &[f32], [&mut [f32]; K], Option<f32>),
) -> bool {
    let dims = p.dims();
    let models = dims[0];
    if dims.iter().product::<usize>() == 0
        || !on_flex(p)
        || g.dims() != dims
        || moments.iter().any(|m| m.dims() != dims)
        || rate.is_some_and(|r| r.dims() != [models, 1, 1])
    {
        return false;
    }
    let device = p.device();
    let empty = || Tensor::<3>::empty([0, 0, 0], &device);
    // Take p and the moments out (each put back below, written or not).
    let mut moments = moments;
    let mut done = false;
    let mut taken: Vec<Taken<3>> = vec![take(std::mem::replace(p, empty()))];
    taken.extend(moments.iter_mut().map(|m| take(std::mem::replace(*m, empty()))));
    let g = take(g.clone());
    let rate = rate.map(|r| take(r.clone()));
    let g_values = g.flex().and_then(slice);
    let rates = match &rate {
        Some(r) => r.flex().and_then(slice).map(Some),
        None => Some(None),
    };
    if let (Some(g), Some(rates), true) = (g_values, rates, taken.iter().all(|t| t.flex().is_some_and(writable))) {
        let per_model = g.len() / models;
        let mut slices: Vec<std::slice::ChunksExactMut<'_, f32>> =
            taken.iter_mut().filter_map(Taken::flex_mut).map(|f| slice_mut(f).chunks_exact_mut(per_model)).collect();
        for (model, g) in g.chunks_exact(per_model).enumerate() {
            let mut chunks = slices.iter_mut().map(|s| s.next().expect("one chunk per model"));
            let p = chunks.next().expect("p");
            let ms: [&mut [f32]; K] = std::array::from_fn(|_| chunks.next().expect("K moments"));
            update(p, g, ms, rates.map(|r| r[model]));
        }
        done = true;
    }
    let mut restored = taken.into_iter().map(Taken::into_tensor);
    *p = restored.next().expect("p");
    for m in moments {
        *m = restored.next().expect("a moment");
    }
    done
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A `[m, a, b]` tensor of values from `values` (a fresh buffer each call, so not shared).
    fn tensor(device: &Device, dims: [usize; 3], values: &[f32]) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values.to_vec(), dims), device)
    }

    /// Values around 0 with exact zeros, negative zeros and a NaN among them: the cases where ReLU and
    /// its mask must agree bit for bit with the unfused ops.
    fn values(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match i % 17 {
                3 => 0.0,
                5 => -0.0,
                11 if i % 3 == 0 => f32::NAN,
                _ => rng.random_range(-1.0..1.0),
            })
            .collect()
    }

    fn bits(t: Tensor<3>) -> Vec<u32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
    }

    /// Bits, with every NaN as one pattern: a column holding a NaN is NaN in both paths, its payload
    /// depending on which operand carried it.
    fn bits_or_nan(t: Tensor<3>) -> Vec<u32> {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| if v.is_nan() { f32::NAN.to_bits() } else { v.to_bits() })
            .collect()
    }

    #[test]
    fn the_loss_gradients_equal_the_unfused_ops_bit_for_bit() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // 3 models, 10 classes, 37 examples: logits up to +-60 (exp overflows without the max), ties,
        // zeros of both signs, and a NaN in one column.
        let dims = [3, 10, 37];
        let len = 3 * 10 * 37;
        let mut out: Vec<f32> = (0..len).map(|_| rng.random_range(-60.0..60.0)).collect();
        out[5] = 0.0;
        out[5 + 37] = -0.0;
        out[8] = 1.5;
        out[8 + 37] = 1.5;
        out[400] = f32::NAN;
        let target: Vec<f32> = (0..len).map(|i| if (i / 37) % 10 == i % 37 % 10 { 1.0 } else { 0.0 }).collect();
        let n = dims[2] as f64;
        let unfused_ce =
            (burn::tensor::activation::softmax(tensor(&device, dims, &out), 1) - tensor(&device, dims, &target)).div_scalar(n);
        let fused_ce = softmax_minus_target(tensor(&device, dims, &out), &tensor(&device, dims, &target));
        let (expected, got) = (bits_or_nan(unfused_ce), bits_or_nan(fused_ce));
        assert_eq!(got.iter().filter(|b| **b == f32::NAN.to_bits()).count(), 10, "the NaN's column, and only it");
        assert_eq!(got, expected, "cross-entropy gradient");
        let unfused_mse = (tensor(&device, dims, &out) - tensor(&device, dims, &target)).mul_scalar(2.0 / n);
        let fused_mse = difference_times_two_over_n(tensor(&device, dims, &out), &tensor(&device, dims, &target));
        assert_eq!(bits_or_nan(fused_mse), bits_or_nan(unfused_mse), "squared-loss gradient");
        // A shared `out` takes the unfused ops, and is not written.
        let shared = tensor(&device, dims, &out);
        let keep = shared.clone();
        let _ = softmax_minus_target(shared, &tensor(&device, dims, &target));
        assert_eq!(bits_or_nan(keep), bits_or_nan(tensor(&device, dims, &out)), "a shared output is left as it was");
    }

    #[test]
    fn bias_relu_and_the_mask_equal_the_unfused_ops_bit_for_bit() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let dims = [3, 5, 7];
        let z = values(&mut rng, 105);
        let b = values(&mut rng, 15);
        let fused = bias_relu(tensor(&device, dims, &z), &tensor(&device, [3, 5, 1], &b));
        let unfused = burn::tensor::activation::relu(tensor(&device, dims, &z) + tensor(&device, [3, 5, 1], &b));
        assert_eq!(bits(fused), bits(unfused));

        // Shifted against each other, so that zeros of the activation meet non-zero gradients.
        let mut back = values(&mut rng, 105);
        back.rotate_left(1);
        let activation = values(&mut rng, 105);
        let a = tensor(&device, dims, &activation);
        let fused = relu_mask(tensor(&device, dims, &back), &a);
        let unfused = tensor(&device, dims, &back) * a.clone().greater_elem(0.0).float();
        assert_eq!(bits(fused), bits(unfused));
    }

    /// The unfused Adam and SGD steps, as `ddlab-train`'s optimiser wrote them before the kernels.
    fn unfused_adam(
        p: Tensor<3>,
        g: Tensor<3>,
        m: Tensor<3>,
        v: Tensor<3>,
        s: AdamStep,
        rate: Option<&Tensor<3>>,
    ) -> [Tensor<3>; 3] {
        let m = m.mul_scalar(s.beta1) + g.clone().mul_scalar(1.0 - s.beta1);
        let v = v.mul_scalar(s.beta2) + (g.clone() * g).mul_scalar(1.0 - s.beta2);
        let denom = v.clone().div_scalar(s.bias2).sqrt().add_scalar(s.eps);
        let step = (m.clone() / denom).mul_scalar(s.lr / s.bias1);
        let step = match rate {
            Some(r) => step * r.clone(),
            None => step,
        };
        [p - step, m, v]
    }

    fn unfused_sgd(p: Tensor<3>, g: Tensor<3>, v: Tensor<3>, momentum: f64, lr: f64, rate: Option<&Tensor<3>>) -> [Tensor<3>; 2] {
        let velocity = if momentum > 0.0 { v.mul_scalar(momentum) + g } else { g };
        let step = velocity.clone().mul_scalar(lr);
        let step = match rate {
            Some(r) => step * r.clone(),
            None => step,
        };
        [p - step, velocity]
    }

    #[test]
    fn adam_and_sgd_steps_equal_the_unfused_ops_bit_for_bit_with_and_without_rates() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let dims = [3, 4, 6];
        let n = 72;
        let rates = [0.5f32, 1.0, 4.0];
        for with_rates in [false, true] {
            let rate = with_rates.then(|| tensor(&device, [3, 1, 1], &rates));
            let (p0, g0, m0, v0): (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) = (
                (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
                (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
                (0..n).map(|_| rng.random_range(-0.1..0.1)).collect(),
                (0..n).map(|_| rng.random_range(0.0..0.01)).collect(),
            );
            let s = AdamStep {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                bias1: 1.0 - 0.9f64.powi(3),
                bias2: 1.0 - 0.999f64.powi(3),
                lr: 0.003,
            };
            let (mut p, mut m, mut v) = (tensor(&device, dims, &p0), tensor(&device, dims, &m0), tensor(&device, dims, &v0));
            assert!(adam(&mut p, &tensor(&device, dims, &g0), &mut m, &mut v, s, rate.as_ref()), "not fused on flex");
            let [pu, mu, vu] = unfused_adam(
                tensor(&device, dims, &p0),
                tensor(&device, dims, &g0),
                tensor(&device, dims, &m0),
                tensor(&device, dims, &v0),
                s,
                rate.as_ref(),
            );
            assert_eq!((bits(p), bits(m), bits(v)), (bits(pu), bits(mu), bits(vu)), "adam, rates {with_rates}");

            for momentum in [0.0, 0.9] {
                let (mut p, mut v) = (tensor(&device, dims, &p0), tensor(&device, dims, &m0));
                assert!(sgd(&mut p, &tensor(&device, dims, &g0), &mut v, momentum, 0.05, rate.as_ref()));
                let [pu, vu] = unfused_sgd(
                    tensor(&device, dims, &p0),
                    tensor(&device, dims, &g0),
                    tensor(&device, dims, &m0),
                    momentum,
                    0.05,
                    rate.as_ref(),
                );
                assert_eq!((bits(p), bits(v)), (bits(pu), bits(vu)), "sgd momentum {momentum}, rates {with_rates}");
            }
        }
    }

    /// A shared parameter buffer (another handle holds it), tensors without elements or a backend other
    /// than flex: nothing is touched and the caller is told to run the unfused ops.
    #[test]
    fn a_shared_tensor_or_another_backend_is_left_untouched() {
        let device = Device::flex();
        let dims = [2, 2, 2];
        let ones = [1.0f32; 8];
        let mut p = tensor(&device, dims, &ones);
        let other_handle = p.clone();
        let mut v = tensor(&device, dims, &ones);
        assert!(!sgd(&mut p, &tensor(&device, dims, &ones), &mut v, 0.9, 0.1, None));
        assert_eq!(bits(p), bits(other_handle));
        assert_eq!(bits(v), bits(tensor(&device, dims, &ones)));

        // Tensors without elements (a layer of width 0, an empty batch): the unfused ops, no panic.
        let none = [0f32; 0];
        let (mut p, mut v) = (tensor(&device, [2, 0, 3], &none), tensor(&device, [2, 0, 3], &none));
        assert!(!sgd(&mut p, &tensor(&device, [2, 0, 3], &none), &mut v, 0.9, 0.1, None));
        assert_eq!((p.dims(), v.dims()), ([2, 0, 3], [2, 0, 3]));
        assert_eq!(bias_relu(tensor(&device, [2, 3, 0], &none), &tensor(&device, [2, 3, 1], &[1.0; 6])).dims(), [2, 3, 0]);

        #[allow(deprecated)]
        let nd = Device::ndarray();
        let (mut p, mut v) = (tensor(&nd, dims, &ones), tensor(&nd, dims, &ones));
        assert!(!sgd(&mut p, &tensor(&nd, dims, &ones), &mut v, 0.9, 0.1, None));
        assert_eq!(bits(p), bits(tensor(&nd, dims, &ones)));
        // The forward kernels fall back to the unfused ops on ndarray, with the same numbers.
        let z = [-1.0f32, 2.0, -0.0, 0.5, 3.0, -2.0, 0.0, 1.0];
        let b = [0.5f32, -0.5, 0.25, 1.0];
        assert_eq!(
            bits(bias_relu(tensor(&nd, dims, &z), &tensor(&nd, [2, 2, 1], &b))),
            bits(bias_relu(tensor(&device, dims, &z), &tensor(&device, [2, 2, 1], &b)))
        );
    }
}
