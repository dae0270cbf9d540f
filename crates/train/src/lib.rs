//! # ddlab-train
//!
//! Trains packed groups of MLPs on a Burn device and hands every evaluation, checkpoint and snapshot to
//! an [`Observer`]; it writes nothing itself (the store and the CLI decide where things go).
//!
//! ## Loop
//! [`train_group`]: forward, loss gradient (of the sum of the models' mean losses), backward, optimiser
//! step, then hooks. The backward pass is the packed MLP's own ([`ddlab_model::StackLayout::backward`],
//! checked against Burn's autodiff in tests); the optimisers ([`OptimState`]) are element-wise and keep per-model-sliceable state, so every run can be
//! checkpointed, resumed and saved on its own whatever group it trained in.
//!
//! ## Closed form
//! [`fit_closed_form`]: the known-answer models (`linear`, `random_features`), fitted as minimum-norm
//! least squares through an SVD with a stated cutoff, no loop.
//!
//! ## Determinism
//! Initial weights come from the replicate seed ([`ddlab_model::MlpWeights::init`]); epoch e's batch
//! order from (seed, e) ([`batch_order`]). A resumed run therefore sees the same batches as an
//! uninterrupted one.

mod checkpoint;
mod closed_form;
mod device_data;
mod error;
mod group;
mod optim;
mod schedule;

pub use checkpoint::{PackId, RunState, RunStatus};
pub use closed_form::{ClosedFormFit, Scores, argmax, cutoff, fit_closed_form, least_squares, score_classes, score_values};
pub use device_data::{DeviceData, DeviceSet, index_tensor};
pub use error::TrainError;
pub use group::{GroupEnd, Hooks, Observer, batch_order, loss_gradient, moments_match, per_example_loss, train_group};
pub use optim::{OptimState, lr_at};
pub use schedule::{Packing, PendingRun, pack_cost, plan_groups};
