//! What the analysis is given, as plain values (the sweep reads them from its files): each
//! condition's final figures per run, probe values, per-epoch rows and snapshots, and the metrics the
//! verdict is about.

use std::collections::BTreeMap;

use ddlab_config::metrics::*;
use serde::{Deserialize, Serialize};

/// The ensemble metrics the verdict is about (`probe/metric` in probes.csv). The ambiguity and the
/// seed variance live in the space of the training loss (docs/SCIENCE.md, Probes, P1 and P5).
pub fn verdict_metrics(loss: LossSpace) -> Vec<MetricId> {
    let mut names = vec![DISAGREEMENT_M2, N_EFF, EFFECTIVE_RANK, PARTICIPATION_RATIO, LINEAR_MAPS, ACTIVATION_PR, CKA_SEEDS];
    names.push(match loss {
        LossSpace::Squared => AMBIGUITY_SQ_M2,
        LossSpace::CrossEntropy => AMBIGUITY_KL_M2,
    });
    names.push(seed_variance_metric(loss));
    names
}
/// The final figures of one run, as runs.csv holds them: a figure that does not exist (a diverged
/// run's) is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    pub width: usize,
    pub seed: u64,
    pub train_err: Option<f64>,
    pub train_loss: Option<f64>,
    pub test_err: Option<f64>,
    pub test_loss: Option<f64>,
    /// Why the run diverged (`None`: it did not). A diverged run, or one without all four figures, is
    /// left out of every curve and test.
    pub diverged: Option<String>,
}

/// One probe value. `seed` is `None` for seed-ensemble figures (one value per width); `value` is
/// `None` where the metric is undefined (competence at initialisation, say).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    pub width: usize,
    pub seed: Option<u64>,
    pub trained: bool,
    pub value: Option<f64>,
}

/// The training loss of a sweep: it decides the space (squared distances or the exact log-loss
/// decomposition) of the loss-sized metrics the verdict uses (docs/SCIENCE.md, Probes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossSpace {
    #[default]
    Squared,
    CrossEntropy,
}

impl std::fmt::Display for LossSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LossSpace::Squared => "squared",
            LossSpace::CrossEntropy => "cross_entropy",
        })
    }
}

/// Everything known about one condition.
#[derive(Clone, Debug, Default)]
pub struct ConditionInput {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    /// Picks the verdict metrics (see [`verdict_metrics`]).
    pub loss: LossSpace,
    pub runs: Vec<RunFigures>,
    /// Keyed by `probe/metric`. The seed-ensemble rows `seed_ensemble/ensemble_err_k{k}`
    /// (and, optionally, `seed_ensemble/kw_err_diff_k{k}`, `seed_ensemble/kw_disagreement_k{k}`) feed H5.
    pub metrics: BTreeMap<String, Vec<MetricValue>>,
    /// Per-epoch figures of every run (metrics.csv), for the epoch-wise view. May be empty.
    pub epochs: Vec<EpochFigures>,
    /// Probe values during training, keyed by `probe/metric`: the `snapshot` rows, plus `trained` at
    /// the final epoch and `init` at epoch 0 (the control). May be empty.
    pub snapshots: BTreeMap<String, Vec<SnapshotValue>>,
    /// The closed-form expected test error (risk) per width, where the model has one (the linear model
    /// on gaussian_linear; `None` where it is infinite). Empty: no known answer.
    pub theory: BTreeMap<usize, Option<f64>>,
    /// Real-valued targets: the error is a risk (a mean squared error), and the peak test runs on its
    /// logarithm (see [`analyze`]).
    pub regression: bool,
    /// Parameters of the network at each width (runs.csv `params`): H4 reports the seed variance's decay
    /// per parameter beside its decay per width. May be empty.
    pub params: BTreeMap<usize, usize>,
    /// The setting this condition replicates (its label without the data draw) and its data draw
    /// (`conditions.data_seed`): conditions of one setting with draws are summarised together
    /// ([`crate::ReplicatedSetting`]). Empty / None: not part of a replicated setting.
    pub setting: String,
    pub draw: Option<u64>,
    /// The setting without its intervention (docs/SCIENCE.md, Models, data and training: interventions)
    /// and the intervention's name (`plain` for none): conditions sharing a base setting and a draw and
    /// differing in intervention are one replicate of the decision between the accounts. Empty: no
    /// intervention is known (the condition is not part of the decision).
    pub base_setting: String,
    pub intervention: String,
}

/// The internal measures of the decision between the accounts (docs/SCIENCE.md, Statistics, "Deciding
/// between the accounts": one per probe family measured inside one network), in the loss's space.
pub fn decision_measures(loss: LossSpace) -> Vec<MetricId> {
    vec![
        N_EFF,
        EFFECTIVE_RANK,
        match loss {
            LossSpace::Squared => AMBIGUITY_SQ_M2,
            LossSpace::CrossEntropy => AMBIGUITY_KL_M2,
        },
    ]
}
/// The seed-variance metric of a loss: the seeds' disagreement in the space of the training loss (P5).
pub fn seed_variance_metric(loss: LossSpace) -> MetricId {
    match loss {
        LossSpace::Squared => VARIANCE_SQ,
        LossSpace::CrossEntropy => VARIANCE_KL,
    }
}

/// The seed variance without each seed in turn (P5's leave-one-out rows), in the space of the loss.
pub fn seed_variance_without(loss: LossSpace) -> MetricId {
    match loss {
        LossSpace::Squared => VARIANCE_SQ_WITHOUT,
        LossSpace::CrossEntropy => VARIANCE_KL_WITHOUT,
    }
}

/// One row of a run's metrics.csv. Figures may be NaN (a diverging run): such rows are skipped and counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochFigures {
    pub width: usize,
    pub seed: u64,
    pub epoch: usize,
    pub train_err: f64,
    pub test_err: f64,
    pub test_loss: f64,
}

/// A probe value during training (probes.csv rows with phase `snapshot`, plus `trained` at the final
/// epoch and `init` at epoch 0). `None` where the metric is undefined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SnapshotValue {
    pub width: usize,
    pub seed: u64,
    pub epoch: usize,
    pub value: Option<f64>,
}
