//! Sweep expansion: conditions x widths x seeds, each a run with a stable folder name.

use crate::spec::{Condition, Spec};

/// One model to train: a width and a seed in one condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunKey {
    pub condition: Condition,
    pub width: usize,
    pub seed: u64,
}

impl RunKey {
    /// Folder of the run inside `runs/`: `<condition>/w<width>-s<seed>`.
    pub fn rel_dir(&self) -> String {
        format!("{}/{}", self.condition.label(), self.name())
    }

    /// `w<width>-s<seed>`.
    pub fn name(&self) -> String {
        format!("w{}-s{}", self.width, self.seed)
    }
}

impl Spec {
    /// The training settings of a condition's runs: `train`, with the condition's own epoch budget when
    /// the experiment crosses budgets (`conditions.epochs`).
    pub fn train_for(&self, condition: &crate::Condition) -> crate::TrainSpec {
        let mut train = self.train.clone();
        if let Some(epochs) = condition.epochs {
            train.epochs = epochs;
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
        for &condition in &self.conditions {
            for &width in &self.model.widths {
                for &seed in &self.seeds {
                    runs.push(RunKey { condition, width, seed });
                }
            }
        }
        runs
    }
}
