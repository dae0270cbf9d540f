//! # ddlab-model
//!
//! The MLP in three forms, each for one job:
//! - [`MlpWeights`]: host-side values, the canonical form (seeded initialisation, checkpoints, probes'
//!   closed forms). Initial weights come from ddlab's own seeded stream, never from Burn's lazy
//!   initialisers, so they are reproducible and identical whether a model trains alone or packed.
//! - [`Mlp`]: one model as a Burn module (`init.bpk`, `model.bpk`, probe forward passes).
//! - [`StackLayout`]: M models packed along a leading axis for training (docs/SCIENCE.md, Models, data and training: packing).
//!
//! [`init_factors`] and [`rate_factors`] are the parameterisations' table (docs/SCIENCE.md, Models, data
//! and training: parameterisations), in effective weights.

mod error;
pub mod fused;
mod mlp;
mod parameterisation;
mod stack;
mod weights;

pub use error::ModelError;
pub use mlp::{Mlp, MlpConfig};
pub use parameterisation::{LayerFactors, init_factors, rate_factors};
pub use stack::{StackInput, StackLayer, StackLayout, StackParams, Tape};
pub use weights::{Layer, MlpShape, MlpWeights};

use burn::tensor::Tensor;

/// A float tensor's values on the host, as f32.
pub fn host_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("float tensor converts to f32")
}
