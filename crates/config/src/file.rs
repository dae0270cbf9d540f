//! The experiment file as written: every key optional, every value spanned so that a bad value can be
//! reported with its line. Unknown keys are rejected by serde (`deny_unknown_fields`), which toml reports
//! with the line of the offending key.

use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

use crate::spec::{FileFormat, Init, Loss, Standardize};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExperimentFile {
    pub name: Option<Spanned<String>>,
    pub seeds: Option<Spanned<Vec<u64>>>,
    pub data_seed: Option<u64>,
    #[serde(default)]
    pub data: DataTable,
    #[serde(default)]
    pub model: ModelTable,
    #[serde(default)]
    pub train: TrainTable,
    pub conditions: Option<ConditionsTable>,
    #[serde(default)]
    pub probe: ProbeTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataTable {
    pub dataset: Option<Spanned<String>>,
    pub format: Option<FileFormat>,
    pub train: Option<Spanned<PathBuf>>,
    pub train_labels: Option<Spanned<PathBuf>>,
    pub test: Option<Spanned<PathBuf>>,
    pub test_labels: Option<Spanned<PathBuf>>,
    pub n_train: Option<Spanned<i64>>,
    pub n_test: Option<Spanned<i64>>,
    pub label_noise: Option<Spanned<f64>>,
    pub standardize: Option<Spanned<Standardize>>,
    pub pool: Option<Spanned<i64>>,
    pub dim: Option<Spanned<i64>>,
    pub classes: Option<Spanned<i64>>,
    pub teacher_width: Option<Spanned<i64>>,
    pub separation: Option<Spanned<f64>>,
    pub signal: Option<Spanned<f64>>,
    pub noise_variance: Option<Spanned<f64>>,
    pub generator_seed: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelTable {
    pub kind: Option<Spanned<String>>,
    pub ridge: Option<Spanned<f64>>,
    pub depth: Option<Spanned<i64>>,
    pub widths: Option<Spanned<WidthsValue>>,
    pub init: Option<Spanned<Init>>,
    pub weight_reuse: Option<Spanned<bool>>,
    pub output_scale: Option<Spanned<f64>>,
    pub centred: Option<Spanned<bool>>,
    pub parameterisation: Option<Spanned<String>>,
    pub base_width: Option<Spanned<i64>>,
}

/// `widths = [1, 2, 4]` or `widths = { from = 1, to = 1024, count = 19 }` (geometric, rounded).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a list of widths, or a table { from, to, count }")]
pub(crate) enum WidthsValue {
    List(Vec<i64>),
    Range(WidthRange),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WidthRange {
    pub from: i64,
    pub to: i64,
    pub count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainTable {
    pub loss: Option<Spanned<Loss>>,
    pub optimizer: Option<Spanned<String>>,
    pub lr: Option<Spanned<f64>>,
    pub momentum: Option<Spanned<f64>>,
    pub beta1: Option<Spanned<f64>>,
    pub beta2: Option<Spanned<f64>>,
    pub eps: Option<Spanned<f64>>,
    pub lr_decay_every: Option<Spanned<i64>>,
    pub lr_decay_factor: Option<Spanned<f64>>,
    pub epochs: Option<Spanned<i64>>,
    pub batch_size: Option<Spanned<BatchValue>>,
    pub eval_every: Option<Spanned<i64>>,
    pub checkpoint_every: Option<Spanned<i64>>,
}

/// `batch_size = 128` or `batch_size = "full"`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a positive integer or \"full\"")]
pub(crate) enum BatchValue {
    Size(i64),
    Word(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionsTable {
    pub n_train: Option<Spanned<Vec<i64>>>,
    pub label_noise: Option<Spanned<Vec<f64>>>,
    pub epochs: Option<Spanned<Vec<i64>>>,
    pub data_seed: Option<Spanned<Vec<i64>>>,
    pub output_scale: Option<Spanned<Vec<f64>>>,
    pub centred: Option<Spanned<Vec<bool>>>,
    pub parameterisation: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeTable {
    pub probe_set: Option<Spanned<i64>>,
    pub draws: Option<Spanned<i64>>,
    pub q_grid: Option<Spanned<Vec<f64>>>,
    pub every: Option<Spanned<i64>>,
}
