//! A finished run's summary: one row of runs.csv, kept as run.json in the run's folder.

use serde::{Deserialize, Serialize};

/// One row of runs.csv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub width: usize,
    pub depth: usize,
    pub seed: u64,
    /// Trainable parameters of the model.
    pub params: usize,
    /// Epochs trained (fewer than the budget when the run diverged).
    pub epochs: usize,
    pub train_err: f64,
    pub train_loss: f64,
    pub test_err: f64,
    pub test_loss: f64,
    /// Share of the flipped training labels the model predicts as given (empty without label noise).
    pub noisy_fit: Option<f64>,
    /// Wall-clock seconds of training (a packed run reports its pack's time).
    pub seconds: f64,
    /// `done` or `diverged`.
    pub status: String,
}

/// What run.json holds: the summary and, for a failed run, why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub summary: RunSummary,
    pub reason: Option<String>,
}
