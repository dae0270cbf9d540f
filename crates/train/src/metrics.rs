//! One evaluation of one run: a row of its metrics.csv.

use serde::{Deserialize, Serialize};

/// Losses are the training loss (squared loss on one-hot targets or cross-entropy, mean over
/// examples); errors are the share of misclassified examples. Train metrics use the training labels
/// as given (noisy ones included); test labels are clean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_err: f64,
    pub test_loss: f64,
    pub test_err: f64,
    /// Wall-clock seconds of training up to this evaluation.
    pub seconds: f64,
}
