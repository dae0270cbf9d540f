//! Sweep expansion: conditions x widths x seeds, each a run with a stable folder name.

use crate::spec::{Condition, Spec};

/// One model to train: a width and a seed in one condition. `index` is the condition's place in the
/// spec's `conditions`, so that every stage finds the condition's data and settings without searching;
/// keys (of one spec) compare, order and hash by (index, width, seed), the order of [`Spec::runs`].
#[derive(Clone, Copy, Debug)]
pub struct RunKey {
    pub condition: Condition,
    pub index: usize,
    pub width: usize,
    pub seed: u64,
}

impl PartialEq for RunKey {
    fn eq(&self, other: &Self) -> bool {
        self.order() == other.order()
    }
}

impl Eq for RunKey {}

impl PartialOrd for RunKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RunKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl std::hash::Hash for RunKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.order().hash(state);
    }
}

impl RunKey {
    fn order(&self) -> (usize, usize, u64) {
        (self.index, self.width, self.seed)
    }

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
        RunKey { condition: self.conditions[index], index, width, seed }
    }
}
