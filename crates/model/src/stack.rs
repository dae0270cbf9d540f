//! Packed models: M MLPs of one depth trained as one network (docs/SCIENCE.md, Models, data and training: packing).
//!
//! Every layer's parameters are stacked along a leading model axis, in feature-major form: weights
//! `[M, fan_out, fan_in]` (each model's W, so that a layer is `W a + b`), biases `[M, fan_out, 1]`;
//! activations are `[M, units, n]`. Models of different widths are zero-padded to the widest. A padded
//! unit has zero incoming weights, bias and outgoing weights, so its pre-activation is 0, ReLU gives 0
//! and its gradient is exactly 0 (ReLU'(0) = 0); with SGD or Adam (no weight decay) it stays 0 forever
//! and the real units train exactly as they would alone. The models' parameters are disjoint and the
//! loss is the sum of the models' losses, so each model's gradient is its own.
//!
//! ## Why feature-major, why a hand-written backward pass
//! Activations `[M, units, n]` make a training step's matmuls faster than `[M, n, units]` on flex, and
//! Burn's autodiff spent more on the backward of a batched readout than the rest of the step: both
//! measured in docs/PERFORMANCE.md. [`StackLayout::backward`] is the textbook backward pass of a
//! ReLU MLP, written with Burn tensor ops and checked against Burn's autodiff in this crate's tests.

use burn::tensor::{Device, Tensor, TensorData};

use crate::fused;
use crate::weights::{Layer, MlpShape, MlpWeights};

/// The input of a packed forward pass (cloning shares the tensors).
#[derive(Clone)]
pub enum StackInput {
    /// One batch shared by every model (full batch, or models that share a batch order): `[n, d]`.
    Shared(Tensor<2>),
    /// A batch per model: `[M, n, d]`.
    PerModel(Tensor<3>),
}

/// One packed layer: the models' weights `[M, fan_out, fan_in]` and biases `[M, fan_out, 1]`.
#[derive(Clone, Debug)]
pub struct StackLayer {
    pub w: Tensor<3>,
    pub b: Tensor<3>,
}

/// The packed parameters of a stack, input layer first, readout last. Gradients and optimiser moments
/// have the same form.
#[derive(Clone, Debug)]
pub struct StackParams {
    pub layers: Vec<StackLayer>,
}

impl StackParams {
    /// Every tensor, layer by layer, weights before biases (for element-wise updates).
    pub fn tensors(&self) -> impl Iterator<Item = &Tensor<3>> {
        self.layers.iter().flat_map(|l| [&l.w, &l.b])
    }

    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut Tensor<3>> {
        self.layers.iter_mut().flat_map(|l| [&mut l.w, &mut l.b])
    }

    pub fn into_tensors(self) -> impl Iterator<Item = Tensor<3>> {
        self.layers.into_iter().flat_map(|l| [l.w, l.b])
    }

    /// The same form with `f` applied to every tensor.
    pub fn map(&self, f: impl Fn(&Tensor<3>) -> Tensor<3>) -> StackParams {
        StackParams { layers: self.layers.iter().map(|l| StackLayer { w: f(&l.w), b: f(&l.b) }).collect() }
    }
}

/// What the forward pass keeps for the backward pass: the input and every hidden activation
/// (`[M, width, n]`).
pub struct Tape {
    input: StackInput,
    activations: Vec<Tensor<3>>,
}

/// The layout of a stack: the real shapes and the padded width.
#[derive(Clone, Debug, PartialEq)]
pub struct StackLayout {
    pub shapes: Vec<MlpShape>,
    pub padded_width: usize,
}

impl StackLayout {
    /// Models must agree on input, depth and classes; widths may differ.
    pub fn new(shapes: Vec<MlpShape>) -> Self {
        assert!(!shapes.is_empty(), "a stack holds at least one model");
        let first = shapes[0];
        assert!(
            shapes.iter().all(|s| s.input == first.input && s.depth == first.depth && s.classes == first.classes),
            "stacked models must share input, depth and classes"
        );
        let padded_width = shapes.iter().map(|s| s.width).max().unwrap();
        StackLayout { shapes, padded_width }
    }

    pub fn models(&self) -> usize {
        self.shapes.len()
    }

    /// Padded `(fan_in, fan_out)` of every layer.
    fn padded_dims(&self) -> Vec<(usize, usize)> {
        MlpShape { width: self.padded_width, ..self.shapes[0] }.layer_dims()
    }

    /// Packs per-model arrays shaped like [`MlpWeights`] (weights, or optimiser moments) into stacked
    /// layers, zero-padded to the widest model.
    pub fn pack(&self, models: &[MlpWeights], device: &Device) -> StackParams {
        assert_eq!(models.len(), self.models());
        let m = self.models();
        let mut layers = Vec::new();
        for (l, (pin, pout)) in self.padded_dims().into_iter().enumerate() {
            let mut w = vec![0f32; m * pout * pin];
            let mut b = vec![0f32; m * pout];
            for (j, model) in models.iter().enumerate() {
                assert_eq!(model.shape, self.shapes[j], "weights do not match the stack layout");
                let layer = &model.layers[l];
                for i in 0..layer.fan_in {
                    for o in 0..layer.fan_out {
                        w[j * pout * pin + o * pin + i] = layer.w[i * layer.fan_out + o];
                    }
                }
                b[j * pout..j * pout + layer.fan_out].copy_from_slice(&layer.b);
            }
            layers.push(StackLayer {
                w: Tensor::from_data(TensorData::new(w, [m, pout, pin]), device),
                b: Tensor::from_data(TensorData::new(b, [m, pout, 1]), device),
            });
        }
        StackParams { layers }
    }

    /// The inverse of [`pack`](Self::pack): strips the padding.
    pub fn unpack(&self, params: &StackParams) -> Vec<MlpWeights> {
        let host: Vec<(Vec<f32>, Vec<f32>)> =
            params.layers.iter().map(|l| (crate::host_f32(l.w.clone()), crate::host_f32(l.b.clone()))).collect();
        let dims = self.padded_dims();
        self.shapes
            .iter()
            .enumerate()
            .map(|(j, shape)| {
                let layers = shape
                    .layer_dims()
                    .into_iter()
                    .enumerate()
                    .map(|(l, (fan_in, fan_out))| {
                        let (pin, pout) = dims[l];
                        let (w_all, b_all) = &host[l];
                        let mut w = vec![0f32; fan_in * fan_out];
                        for i in 0..fan_in {
                            for o in 0..fan_out {
                                w[i * fan_out + o] = w_all[j * pout * pin + o * pin + i];
                            }
                        }
                        Layer { fan_in, fan_out, w, b: b_all[j * pout..j * pout + fan_out].to_vec() }
                    })
                    .collect();
                MlpWeights { shape: *shape, layers }
            })
            .collect()
    }

    /// The forward pass that keeps what [`backward`](Self::backward) needs.
    ///
    /// # Shapes
    /// - output: `[M, classes, n]`
    pub fn forward_train(&self, params: &StackParams, input: StackInput) -> (Tensor<3>, Tape) {
        let (readout, hidden) = params.layers.split_last().expect("a stack has a readout");
        // A shared input is broadcast over the model axis: one matmul [M, width, d] x [1, d, n], the
        // right side a transposed view of x (flex's matmul reads strides; transposing the 2-d x first
        // and then adding the axis copied x on every step).
        let first = match &input {
            StackInput::Shared(x) => hidden[0].w.clone().matmul(x.clone().unsqueeze_dim::<3>(0).swap_dims(1, 2)),
            StackInput::PerModel(x) => hidden[0].w.clone().matmul(x.clone().swap_dims(1, 2)),
        };
        let mut activations = vec![fused::bias_relu(first, &hidden[0].b)];
        for layer in &hidden[1..] {
            let previous = activations.last().expect("one activation per hidden layer").clone();
            activations.push(fused::bias_relu(layer.w.clone().matmul(previous), &layer.b));
        }
        let last = activations.last().expect("one activation per hidden layer").clone();
        let out = readout.w.clone().matmul(last) + readout.b.clone();
        (out, Tape { input, activations })
    }

    /// Gradients of a loss with respect to every parameter, given d loss / d output (`[M, classes, n]`).
    pub fn backward(&self, params: &StackParams, tape: Tape, grad_out: Tensor<3>) -> StackParams {
        let count = params.layers.len();
        let mut grads: Vec<Option<StackLayer>> = vec![None; count];
        let mut delta = grad_out;
        // Layer l > 0 reads hidden activation l - 1; layer 0 reads the input.
        for l in (1..count).rev() {
            let input = tape.activations[l - 1].clone();
            let w = delta.clone().matmul(input.clone().swap_dims(1, 2));
            let b = delta.clone().sum_dim(2);
            grads[l] = Some(StackLayer { w, b });
            let back = params.layers[l].w.clone().swap_dims(1, 2).matmul(delta);
            // ReLU: the gradient passes where the unit was active (its output > 0). A multiply by the
            // 0/1 mask rather than `mask_fill`: flex's in-place mask_fill branches per element, which is
            // slow on real (unpredictable) activation patterns (measured: docs/PERFORMANCE.md); fused
            // into one pass over `back`.
            delta = fused::relu_mask(back, &input);
        }
        let b = delta.clone().sum_dim(2);
        let w = match tape.input {
            StackInput::Shared(x) => delta.matmul(x.unsqueeze_dim::<3>(0)),
            StackInput::PerModel(x) => delta.matmul(x),
        };
        grads[0] = Some(StackLayer { w, b });
        StackParams { layers: grads.into_iter().map(|g| g.expect("every gradient computed")).collect() }
    }

    /// The packed forward pass.
    ///
    /// # Shapes
    /// - output: `[M, classes, n]`
    pub fn forward(&self, params: &StackParams, input: StackInput) -> Tensor<3> {
        self.forward_train(params, input).0
    }
}
