//! The driver: runs an experiment's stages over its sweep folder, resuming whatever is already there.
//!
//! - [`run_sweep`]: `ddlab sweep` from start to end (`sequence.rs`), telling its caller each step's
//!   outcome through [`SweepEvents`] and returning how it ended ([`SweepEnd`]).
//! - [`prepare_conditions`]: the dataset of every condition (split, subset, standardisation, noise);
//!   with the folder it makes the [`SweepContext`] every stage works from (shapes, run phases).
//! - [`train_sweep`]: carries out the training plan (`plan.rs`, pure and tested alone: triage,
//!   weight-reuse steps, resume alignment, packing) on the worker pool, each pack under its runs' locks.
//! - [`fit_sweep`]: the closed-form (known-answer) models instead: each run fitted whole, under its lock.
//! - [`shard_runs`]: the runs one task of a cluster job array trains (whole packs, balanced by cost).
//! - [`probe_sweep`]: the probes of every finished run, trained and at initialisation.
//! - [`analyze`], [`plot`], [`report`]: the verdict, the figures and report.html, each from the folder;
//!   [`analyze_plot_report`]: the three in one pass, each handing the next what it made in memory.
//!
//! The caller picks the device and handles signals: this crate takes a `Device` and a stop flag.

mod context;
mod error;
mod fit_runs;
mod memory;
mod outputs;
pub mod plan;
mod pool;
mod prepare;
mod probe_runs;
mod progress;
mod sequence;
mod shard;
mod study;
mod train_runs;

pub use context::{SweepContext, run_shape};
pub use error::{Result, SweepError};
pub use fit_runs::{FitData, fit_sweep};
pub use memory::{DeviceBudget, PackMemory, available_memory, check_training_memory, peak_training_memory, training_memory};
pub use outputs::{Analyzed, Reported, analyze, analyze_plot_report, plot, report};
pub use prepare::{prepare_conditions, write_noise_files};
pub use probe_runs::{Probed, collect_probes, probe_one_model, probe_sweep};
pub use progress::Mode;
pub use sequence::{SweepEnd, SweepEvents, SweepRequest, run_sweep};
pub use shard::{Shard, assign_shards, check_shardable, shard_from_slurm, shard_runs};
pub use study::{StudyWritten, claim_sweeps, write_study};
pub use train_runs::{TrainOptions, TrainOutcome, train_sweep};

/// A stored model of `shape` (the store reads the bytes, the model crate decodes them); a damaged file
/// is an error naming it.
pub(crate) fn load_model(
    sweep: &ddlab_store::SweepDir,
    shape: ddlab_model::MlpShape,
    path: &std::path::Path,
    device: &burn::tensor::Device,
) -> Result<ddlab_model::Mlp> {
    let bytes = sweep.read_bytes(path)?;
    ddlab_model::Mlp::from_bytes(shape, bytes, device).map_err(|e| SweepError::file(path, e))
}

/// A run's weights file (its network g, trained or initial) as host weights.
pub(crate) fn load_weights(
    ctx: &SweepContext,
    key: &ddlab_config::RunKey,
    path: &std::path::Path,
    device: &burn::tensor::Device,
) -> Result<ddlab_model::MlpWeights> {
    let shape = ctx.shape(key);
    Ok(load_model(&ctx.dir, shape, path, device)?.to_weights(shape))
}

/// What a run's weights file computes under its condition's intervention (docs/SCIENCE.md, Models, data
/// and training: interventions): the network with its readout scaled by alpha and, when centred, the
/// run's initial network (init.bpk) scaled alike, whose output the function subtracts.
pub(crate) struct RunFunction {
    pub network: ddlab_model::MlpWeights,
    pub initial: Option<ddlab_model::MlpWeights>,
}

impl RunFunction {
    pub(crate) fn load(
        ctx: &SweepContext,
        key: &ddlab_config::RunKey,
        path: &std::path::Path,
        device: &burn::tensor::Device,
    ) -> Result<Self> {
        let intervention = ctx.spec().condition_of(key).intervention();
        let alpha = intervention.output_scale;
        let network = load_weights(ctx, key, path, device)?.with_output_scale(alpha);
        let initial = match intervention.centred {
            false => None,
            true => Some(load_weights(ctx, key, &ctx.dir.init_weights_path(key), device)?.with_output_scale(alpha)),
        };
        Ok(RunFunction { network, initial })
    }

    /// f(x) on `x`, `[n, classes]`, row-major.
    pub(crate) fn outputs(&self, x: &burn::tensor::Tensor<2>) -> Vec<f32> {
        let device = x.device();
        let g = ddlab_model::Mlp::from_weights(&self.network, &device).forward(x.clone());
        let f = match &self.initial {
            Some(initial) => g - ddlab_model::Mlp::from_weights(initial, &device).forward(x.clone()),
            None => g,
        };
        ddlab_model::host_f32(f)
    }
}

/// A pack's name in messages and the progress display: `w16 x3` (three runs of width 16), `w1-16 x12`.
pub(crate) fn pack_label(keys: &[ddlab_config::RunKey]) -> String {
    let lo = keys.iter().map(|k| k.width).min().unwrap_or(0);
    let hi = keys.iter().map(|k| k.width).max().unwrap_or(0);
    if lo == hi { format!("w{lo} x{}", keys.len()) } else { format!("w{lo}-{hi} x{}", keys.len()) }
}

/// Workers to run at once by default: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
