//! probes.csv rows, in long form.

use serde::{Deserialize, Serialize};

/// When a model was probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The initial weights: the null control.
    Init,
    /// The final trained weights.
    Trained,
    /// Weights saved at a probe-schedule epoch.
    Snapshot,
}

/// One metric of one probe of one model (or, with `seed` empty, of the seed ensemble of one width).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeRow {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub width: usize,
    pub seed: Option<u64>,
    pub phase: Phase,
    pub epoch: usize,
    pub probe: String,
    pub metric: String,
    pub value: f64,
}

/// A metric before it is placed: `(probe, metric, value)`.
pub type Metric = (&'static str, String, f64);
