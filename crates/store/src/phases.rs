//! Where each run of a sweep stood when the folder was read.

use std::collections::BTreeMap;

use ddlab_config::RunKey;

use crate::runs::{RunOutcome, RunRecord, RunSummary};
use crate::sweep::RunPhase;

/// A snapshot of run phases ([`crate::SweepDir::phases`]): one per decision, so that a stage decides from
/// one consistent view and reads each run record once, an unreadable one being an error naming it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Phases(BTreeMap<RunKey, RunPhase>);

impl FromIterator<(RunKey, RunPhase)> for Phases {
    fn from_iter<I: IntoIterator<Item = (RunKey, RunPhase)>>(iter: I) -> Self {
        Phases(iter.into_iter().collect())
    }
}

impl Phases {
    /// A run's phase; a run the snapshot did not read is missing.
    pub fn get(&self, key: &RunKey) -> &RunPhase {
        self.0.get(key).unwrap_or(&RunPhase::Missing)
    }

    /// The record of a finished run (done or diverged).
    pub fn record(&self, key: &RunKey) -> Option<&RunRecord> {
        match self.get(key) {
            RunPhase::Finished(record) => Some(record),
            _ => None,
        }
    }

    /// The record of a run that finished without diverging: a model to probe.
    pub fn done(&self, key: &RunKey) -> Option<&RunRecord> {
        self.record(key).filter(|r| r.summary.status == RunOutcome::Done)
    }

    /// Every finished run with its record, in sweep order.
    pub fn finished(&self) -> impl Iterator<Item = (&RunKey, &RunRecord)> {
        self.0.iter().filter_map(|(key, phase)| match phase {
            RunPhase::Finished(record) => Some((key, record)),
            _ => None,
        })
    }

    /// runs.csv's rows: every finished run's summary, in sweep order.
    pub fn summaries(&self) -> Vec<RunSummary> {
        self.finished().map(|(_, record)| record.summary.clone()).collect()
    }

    /// Every run with its phase, in sweep order.
    pub fn iter(&self) -> impl Iterator<Item = (&RunKey, &RunPhase)> {
        self.0.iter()
    }
}
