//! A run's resumable state on the host, and what its checkpoint holds: a JSON header (epoch, optimiser
//! step, shape, metrics so far, status, pack) and the f32 values (weights, then each optimiser moment),
//! in the checksummed frame the store defines ([`ddlab_store::frame_checkpoint`]).

use ddlab_model::{Layer, MlpShape, MlpWeights};
use ddlab_store::{MetricsRow, frame_checkpoint, unframe_checkpoint};
use serde::{Deserialize, Serialize};

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Still training (a checkpoint taken along the way).
    Running,
    Done,
    /// The training loss became NaN or infinite.
    Diverged {
        reason: String,
    },
}

/// Everything a run needs to continue exactly where it stopped. The batch order is a function of
/// (seed, epoch), so no random-generator state is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct RunState {
    pub seed: u64,
    /// Epochs completed.
    pub epoch: usize,
    pub weights: MlpWeights,
    /// Optimiser moments shaped like the weights (SGD: 1, Adam: 2; empty before the first step).
    pub moments: Vec<MlpWeights>,
    pub optim_step: u64,
    pub metrics: Vec<MetricsRow>,
    /// Wall-clock seconds spent training so far.
    pub seconds: f64,
    pub status: RunStatus,
    /// Share of the flipped training labels the final model fits (set when the run is done).
    pub noisy_fit: Option<f64>,
    /// The runs this one was packed with, so that a resumed run is packed the same way: packing changes
    /// floating-point rounding, which training amplifies.
    pub pack: PackId,
}

/// A pack's identity across restarts: its runs' names (`Spec::run_name`), in pack order. Stored
/// in every checkpoint of the pack (a JSON list of names); empty for a run not yet packed.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PackId(Vec<String>);

impl PackId {
    /// The pack of these runs (of `spec`), in this order.
    pub fn of(spec: &ddlab_config::Spec, keys: &[ddlab_config::RunKey]) -> Self {
        PackId(keys.iter().map(|key| spec.run_name(key)).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many runs the pack had.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// A run's (of `spec`) place in the pack (`None`: not one of its runs).
    pub fn position(&self, spec: &ddlab_config::Spec, key: &ddlab_config::RunKey) -> Option<usize> {
        let name = spec.run_name(key);
        self.0.iter().position(|p| *p == name)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    seed: u64,
    epoch: usize,
    shape: MlpShape,
    moments: usize,
    optim_step: u64,
    metrics: Vec<MetricsRow>,
    seconds: f64,
    #[serde(flatten)]
    status: RunStatus,
    noisy_fit: Option<f64>,
    pack: PackId,
}

impl RunState {
    /// A run at epoch 0 with its initial weights.
    pub fn fresh(seed: u64, weights: MlpWeights) -> Self {
        RunState {
            seed,
            epoch: 0,
            weights,
            moments: Vec::new(),
            optim_step: 0,
            metrics: Vec::new(),
            seconds: 0.0,
            status: RunStatus::Running,
            noisy_fit: None,
            pack: PackId::default(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            seed: self.seed,
            epoch: self.epoch,
            shape: self.weights.shape,
            moments: self.moments.len(),
            optim_step: self.optim_step,
            metrics: self.metrics.clone(),
            seconds: self.seconds,
            status: self.status.clone(),
            noisy_fit: self.noisy_fit,
            pack: self.pack.clone(),
        };
        let header = serde_json::to_vec(&header).expect("header serialises");
        let arrays: Vec<Vec<f32>> = std::iter::once(&self.weights).chain(&self.moments).map(MlpWeights::flat).collect();
        let count = arrays.iter().map(Vec::len).sum();
        frame_checkpoint(&header, arrays.iter().flatten(), count)
    }

    /// Parses and verifies a checkpoint; any damage is an error, never a silently wrong state.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::TrainError> {
        Self::parse(bytes).map_err(crate::TrainError::Checkpoint)
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let (header, values) = unframe_checkpoint(bytes)?;
        let header: Header = serde_json::from_slice(header).map_err(|_| "unreadable header".to_string())?;
        let per_array = header.shape.params();
        if values.len() != per_array * (1 + header.moments) {
            return Err(format!("holds {} values, expected {}", values.len(), per_array * (1 + header.moments)));
        }
        let arrays: Vec<MlpWeights> = values.chunks_exact(per_array).map(|chunk| unflatten(header.shape, chunk)).collect();
        let mut arrays = arrays.into_iter();
        Ok(RunState {
            seed: header.seed,
            epoch: header.epoch,
            weights: arrays.next().unwrap(),
            moments: arrays.collect(),
            optim_step: header.optim_step,
            metrics: header.metrics,
            seconds: header.seconds,
            status: header.status,
            noisy_fit: header.noisy_fit,
            pack: header.pack,
        })
    }
}

/// The inverse of [`MlpWeights::flat`].
fn unflatten(shape: MlpShape, values: &[f32]) -> MlpWeights {
    let mut offset = 0;
    let layers = shape
        .layer_dims()
        .into_iter()
        .map(|(fan_in, fan_out)| {
            let w = values[offset..offset + fan_in * fan_out].to_vec();
            offset += fan_in * fan_out;
            let b = values[offset..offset + fan_out].to_vec();
            offset += fan_out;
            Layer { fan_in, fan_out, w, b }
        })
        .collect();
    MlpWeights { shape, layers }
}
