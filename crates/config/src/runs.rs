//! Sweep expansion: conditions x widths x seeds, each a run with a stable folder name.

use crate::spec::Spec;

/// One model to train: a width and a seed in one condition, `index` being the condition's place in the
/// spec's `conditions` (its settings: [`Spec::condition_of`]). Keys (of one spec) compare, order and hash
/// by (index, width, seed), the order of [`Spec::runs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunKey {
    pub index: usize,
    pub width: usize,
    pub seed: u64,
}

impl RunKey {
    /// `w<width>-s<seed>`.
    pub fn name(&self) -> String {
        format!("w{}-s{}", self.width, self.seed)
    }
}

impl Spec {
    /// The training settings of a condition's runs: `train`, with the condition's own epoch budget when
    /// the experiment crosses budgets (`conditions.epochs`) and its intervention (with the base width
    /// when its parameterisation needs one).
    pub fn train_for(&self, condition: &crate::Condition) -> crate::TrainSpec {
        let mut train = self.train.clone();
        if let Some(epochs) = condition.epochs {
            train.epochs = epochs;
        }
        train.intervention = condition.intervention();
        if !condition.parameterisation.is_standard() {
            train.intervention.base_width = self.model.base_width;
        }
        train
    }

    /// The data seed of a condition: its own draw (`conditions.data_seed`), else the spec's `data_seed`.
    pub fn data_seed_for(&self, condition: &crate::Condition) -> u64 {
        condition.data_seed.unwrap_or(self.data_seed)
    }

    /// Every run of the sweep, ordered by condition, then width, then seed.
    pub fn runs(&self) -> Vec<RunKey> {
        let mut runs = Vec::new();
        for index in 0..self.conditions.len() {
            for &width in &self.model.widths {
                for &seed in &self.seeds {
                    runs.push(self.run_key(index, width, seed));
                }
            }
        }
        runs
    }

    /// The run of condition `index` (its place in `conditions`) at `width` and `seed`.
    pub fn run_key(&self, index: usize, width: usize, seed: u64) -> RunKey {
        RunKey { index, width, seed }
    }

    /// The condition a run belongs to.
    pub fn condition_of(&self, key: &RunKey) -> &crate::Condition {
        &self.conditions[key.index]
    }

    /// A run's name, and its folder inside `runs/`: `<condition>/w<width>-s<seed>`. It is the run's
    /// identity across restarts (checkpoints record their pack by it).
    pub fn run_name(&self, key: &RunKey) -> String {
        format!("{}/{}", self.condition_of(key).label(), key.name())
    }
}
