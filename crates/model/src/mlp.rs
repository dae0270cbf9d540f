//! One MLP as a Burn module: what is saved to `init.bpk` / `model.bpk` and what the probes run.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::weights::{Layer, MlpShape, MlpWeights};

/// Builds an [`Mlp`] of a given shape. `init` uses Burn's initialiser and is meant as a target for
/// loading a file; ddlab's own initial weights come from [`MlpWeights::init`] via [`Mlp::from_weights`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_input: usize,
    pub width: usize,
    #[config(default = 1)]
    pub depth: usize,
    pub classes: usize,
}

impl MlpConfig {
    pub fn from_shape(shape: MlpShape) -> Self {
        MlpConfig { d_input: shape.input, width: shape.width, depth: shape.depth, classes: shape.classes }
    }

    pub fn shape(&self) -> MlpShape {
        MlpShape { input: self.d_input, width: self.width, depth: self.depth, classes: self.classes }
    }

    pub fn init(&self, device: &Device) -> Mlp {
        let layers = self.shape().layer_dims().into_iter().map(|(i, o)| LinearConfig::new(i, o).init(device)).collect();
        Mlp { layers }
    }
}

/// `depth` hidden ReLU layers and a linear readout.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
}

impl Mlp {
    pub fn from_weights(weights: &MlpWeights, device: &Device) -> Self {
        let layers = weights
            .layers
            .iter()
            .map(|l| Linear {
                weight: Param::from_tensor(Tensor::from_data(TensorData::new(l.w.clone(), [l.fan_in, l.fan_out]), device)),
                bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(l.b.clone(), [l.fan_out]), device))),
            })
            .collect();
        Mlp { layers }
    }

    pub fn to_weights(&self, shape: MlpShape) -> MlpWeights {
        let layers = self
            .layers
            .iter()
            .map(|linear| {
                let [fan_in, fan_out] = linear.weight.val().dims();
                let w = crate::host_f32(linear.weight.val());
                let b = match &linear.bias {
                    Some(b) => crate::host_f32(b.val()),
                    None => vec![0.0; fan_out],
                };
                Layer { fan_in, fan_out, w, b }
            })
            .collect();
        MlpWeights { shape, layers }
    }

    /// # Shapes
    /// - x: `[n, d_input]`
    /// - output: `[n, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let (last, hidden) = self.layers.split_last().expect("an MLP has a readout");
        let h = hidden.iter().fold(x, |h, layer| relu(layer.forward(h)));
        last.forward(h)
    }

    /// Post-ReLU activations of every hidden layer, and the output.
    ///
    /// # Shapes
    /// - x: `[n, d_input]`
    /// - hidden: `depth` tensors `[n, width]`; output `[n, classes]`
    pub fn forward_with_hidden(&self, x: Tensor<2>) -> (Vec<Tensor<2>>, Tensor<2>) {
        let (last, hidden_layers) = self.layers.split_last().expect("an MLP has a readout");
        let mut hidden = Vec::with_capacity(hidden_layers.len());
        let mut h = x;
        for layer in hidden_layers {
            h = relu(layer.forward(h));
            hidden.push(h.clone());
        }
        (hidden, last.forward(h))
    }

    /// The model as Burn burnpack bytes (what `init.bpk` and `model.bpk` hold).
    pub fn to_bytes(self) -> Result<Vec<u8>, crate::ModelError> {
        let bytes = self.into_record().into_bytes().map_err(|e| crate::ModelError::Encode(format!("{e:?}")))?;
        Ok(bytes.to_vec())
    }

    /// Reads burnpack bytes written by [`Mlp::to_bytes`] into a model of `shape`; a wrong shape or a
    /// damaged file is an error.
    pub fn from_bytes(shape: MlpShape, bytes: Vec<u8>, device: &Device) -> Result<Self, crate::ModelError> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| crate::ModelError::NotBurnpack(format!("{e:?}")))?;
        MlpConfig::from_shape(shape)
            .init(device)
            .try_load_record(record)
            .map_err(|e| crate::ModelError::WrongShape { shape, detail: format!("{e:?}") })
    }
}
