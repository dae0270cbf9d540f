//! A finished run's summary: one row of runs.csv, kept as run.json in the run's folder.

use serde::{Deserialize, Serialize};

/// How a finished run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Trained for the whole budget.
    Done,
    /// Stopped early because its loss stopped being a finite number; `reason` says why.
    Diverged,
}

/// One row of runs.csv. A figure that does not exist (the loss of a diverged run) is `None`: an empty
/// cell in runs.csv and `null` in run.json, never NaN, so that every reader gets it back.
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
    pub train_err: Option<f64>,
    pub train_loss: Option<f64>,
    pub test_err: Option<f64>,
    pub test_loss: Option<f64>,
    /// Share of the flipped training labels the model predicts as given (empty without label noise).
    pub noisy_fit: Option<f64>,
    /// Wall-clock seconds of training (a packed run reports its pack's time).
    pub seconds: f64,
    pub status: RunOutcome,
    /// Why a diverged run stopped (empty for a run that is done).
    #[serde(default)]
    pub reason: Option<String>,
}

impl RunSummary {
    /// `Some(x)` for a finite figure, `None` for NaN or an infinity: what a summary stores.
    pub fn figure(value: f64) -> Option<f64> {
        value.is_finite().then_some(value)
    }
}

/// What run.json holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub summary: RunSummary,
}
