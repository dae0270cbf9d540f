//! The training plan: what is left to train, in which weight-reuse steps, packs and order, and from which
//! state, decided from what the caller read of the sweep folder (a snapshot of run phases, each
//! candidate's checkpoints) without touching the disk, so that it is tested alone
//! (crates/sweep/tests/training_plan.rs). `train_runs.rs` reads the folder and carries the plan out.

use std::collections::BTreeMap;

use ddlab_config::{RunKey, Spec};
use ddlab_model::MlpShape;
use ddlab_store::{Phases, RunOutcome, RunPhase};
use ddlab_train::{PackId, Packing, PendingRun, RunState, RunStatus, moments_match, plan_groups};

/// A sweep's runs sorted by what is left to do with them.
#[derive(Debug, Default, PartialEq)]
pub struct Triage {
    /// Started or never started: to train (or fit).
    pub todo: Vec<RunKey>,
    /// Finished already (done or diverged).
    pub done: usize,
    /// The runs that failed earlier and stay failed, with the reason.
    pub failed: Vec<(RunKey, String)>,
}

/// Sorts `runs` by their phase in `phases`.
pub fn triage(runs: &[RunKey], phases: &Phases) -> Triage {
    let mut triage = Triage::default();
    for key in runs {
        match phases.get(key) {
            RunPhase::Finished(_) => triage.done += 1,
            RunPhase::Failed(reason) => triage.failed.push((*key, reason.clone())),
            RunPhase::Started | RunPhase::Missing => triage.todo.push(*key),
        }
    }
    triage
}

/// The run whose trained weights `key` starts from under `model.weight_reuse`: the next smaller width
/// of the sweep (same condition and seed) when `key`'s network (`shape`) is below the interpolation
/// threshold, params < n_train x classes (docs/SCIENCE.md, Models, data and training). None: a fresh
/// initialisation.
pub fn reuse_source(spec: &Spec, shape: MlpShape, key: &RunKey) -> Option<RunKey> {
    if !spec.model.weight_reuse || shape.params() >= spec.condition_of(key).n_train * shape.classes {
        return None;
    }
    let smaller = spec.model.widths.iter().copied().filter(|&w| w < key.width).max()?;
    Some(spec.run_key(key.index, smaller, key.seed))
}

/// The candidates in the order weight reuse needs: step k holds the runs k steps down a reuse chain
/// (step 0: every run that starts from a fresh initialisation); one step without weight reuse. A run
/// whose source is neither a candidate, nor one of `runs` (this process's), nor finished or failed
/// (another shard's, still to train) is an error: this process could never start it.
pub fn reuse_steps(
    spec: &Spec,
    shape: &dyn Fn(&RunKey) -> MlpShape,
    candidates: &[RunKey],
    runs: &[RunKey],
    phases: &Phases,
) -> crate::Result<Vec<Vec<RunKey>>> {
    let mut steps: Vec<Vec<RunKey>> = vec![Vec::new()];
    for key in candidates {
        let mut depth = 0;
        let mut at = *key;
        while let Some(source) = reuse_source(spec, shape(&at), &at) {
            if !candidates.contains(&source) {
                if !runs.contains(&source) && !matches!(phases.get(&source), RunPhase::Finished(_) | RunPhase::Failed(_)) {
                    return Err(crate::SweepError::Other(format!(
                        "{} starts from the trained weights of {} (model.weight_reuse), which this process does not train and which has not finished: train a weight-reuse sweep without --shard, or finish the other shards first",
                        spec.run_name(&at),
                        spec.run_name(&source)
                    )));
                }
                break;
            }
            depth += 1;
            at = source;
        }
        if steps.len() <= depth {
            steps.resize(depth + 1, Vec::new());
        }
        steps[depth].push(*key);
    }
    Ok(steps)
}

/// `runs` and every run their weight-reuse chains start from, in sweep order: the runs whose phases a
/// process training `runs` needs.
pub fn with_sources(spec: &Spec, shape: &dyn Fn(&RunKey) -> MlpShape, runs: &[RunKey]) -> Vec<RunKey> {
    let mut needed = std::collections::BTreeSet::new();
    for key in runs {
        let mut at = *key;
        needed.insert(at);
        while let Some(source) = reuse_source(spec, shape(&at), &at) {
            needed.insert(source);
            at = source;
        }
    }
    needed.into_iter().collect()
}

/// What a run of a weight-reuse step can start from, by its source's phase.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceState {
    /// A fresh run, or one whose source finished without diverging.
    Ready,
    /// Its source (given) is not finished yet (another process trains it): left for a later sweep.
    Waits(RunKey),
    /// Its source ended without weights (failed or diverged): nothing to start from; why.
    Fails(String),
}

/// Each run of one step with what its weight-reuse source left (`phases` read after the step before),
/// in the step's order.
pub fn check_sources(
    spec: &Spec,
    shape: &dyn Fn(&RunKey) -> MlpShape,
    step: &[RunKey],
    phases: &Phases,
) -> Vec<(RunKey, SourceState)> {
    step.iter()
        .map(|key| {
            let Some(source) = reuse_source(spec, shape(key), key) else { return (*key, SourceState::Ready) };
            let problem = match phases.get(&source) {
                RunPhase::Finished(record) if record.summary.status == RunOutcome::Done => return (*key, SourceState::Ready),
                RunPhase::Finished(record) => format!("diverged ({})", record.summary.reason.clone().unwrap_or_default()),
                RunPhase::Failed(reason) => format!("failed ({reason})"),
                RunPhase::Started | RunPhase::Missing => return (*key, SourceState::Waits(source)),
            };
            let why =
                format!("starts from the trained weights of {} (model.weight_reuse), which {problem}", spec.run_name(&source));
            (*key, SourceState::Fails(why))
        })
        .collect()
}

/// A run's newest checkpoint and the one before it, as read (a damaged one is absent).
#[derive(Clone, Debug, Default)]
pub struct Checkpoints {
    pub current: Option<RunState>,
    pub previous: Option<RunState>,
}

/// A run in a pack, and where it starts.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    pub key: RunKey,
    /// The checkpointed state it resumes from; None: from its initial weights (or its weight-reuse
    /// source's), made when the plan is carried out.
    pub resume: Option<RunState>,
    /// Epoch of its newest checkpoint when the plan was made (None: none), to notice a run another
    /// process advanced meanwhile.
    pub seen: Option<usize>,
}

/// Runs that train together, packed in this order.
#[derive(Clone, Debug)]
pub struct Pack {
    pub runs: Vec<PlannedRun>,
    /// Every run's checkpoint says it finished training: only its results are left to write.
    pub finished: bool,
}

impl Pack {
    pub fn keys(&self) -> Vec<RunKey> {
        self.runs.iter().map(|r| r.key).collect()
    }
}

/// The packs of one step, in the order to train them, and what a person should know about them.
#[derive(Debug, Default)]
pub struct StepPlan {
    pub packs: Vec<Pack>,
    pub warnings: Vec<String>,
}

/// How the scheduler packs fresh runs.
pub struct Packer<'a> {
    pub packing: Packing,
    /// Whether a group of runs fits the device's memory (always, on a CPU).
    pub fits: &'a dyn Fn(&[RunKey]) -> bool,
}

/// Packs one step's ready runs. Runs with checkpoints go back into the pack they trained in, at a
/// common epoch (a run checkpointed one round ahead of its pack steps back to its previous checkpoint),
/// so that a resumed sweep computes exactly what an uninterrupted one does; a pack that cannot be
/// aligned starts again from its initial weights. Runs without a checkpoint are packed by the
/// scheduler, whose plan of a set of runs does not depend on which other packs already ran. Finishing
/// packs come first (cheap), then the largest first so that workers end together. A checkpoint of
/// another shape or optimiser is an error naming its run.
pub fn plan_step(
    spec: &Spec,
    shape: &dyn Fn(&RunKey) -> MlpShape,
    mut checkpoints: BTreeMap<RunKey, Checkpoints>,
    ready: &[RunKey],
    packer: &Packer,
) -> Result<StepPlan, (RunKey, String)> {
    let mut plan = StepPlan::default();
    let mut by_pack: BTreeMap<PackId, Vec<(RunKey, Checkpoints)>> = BTreeMap::new();
    let mut fresh = Vec::new();
    for key in ready {
        let found = checkpoints.remove(key).unwrap_or_default();
        for state in found.current.iter().chain(&found.previous) {
            if state.weights.shape != shape(key) || !moments_match(spec.train.optimizer, state) {
                return Err((*key, "checkpoint does not match the spec (shape or optimiser)".into()));
            }
        }
        match &found.current {
            Some(state) if !state.pack.is_empty() => by_pack.entry(state.pack.clone()).or_default().push((*key, found)),
            _ => fresh.push(PlannedRun { key: *key, resume: None, seen: found.current.as_ref().map(|s| s.epoch) }),
        }
    }
    for (pack, mut members) in by_pack {
        members.sort_by_key(|(key, _)| pack.position(spec, key));
        if members.len() < pack.len() {
            plan.warnings.push(format!(
                "{} of the {} runs packed with {} are finished or failed; the others resume in a smaller pack, which rounds differently",
                pack.len() - members.len(),
                pack.len(),
                spec.run_name(&members[0].0)
            ));
        }
        let epoch = |c: &Checkpoints| c.current.as_ref().expect("a packed run has a checkpoint").epoch;
        let target = members.iter().map(|(_, c)| epoch(c)).min().expect("a pack has members");
        let at_target: Vec<Option<RunState>> = members
            .iter()
            .map(|(_, c)| if epoch(c) == target { c.current.clone() } else { c.previous.clone().filter(|p| p.epoch == target) })
            .collect();
        let aligned = at_target.iter().all(Option::is_some);
        let runs: Vec<PlannedRun> = members
            .iter()
            .zip(at_target)
            .map(|((key, c), state)| PlannedRun { key: *key, resume: state.filter(|_| aligned), seen: Some(epoch(c)) })
            .collect();
        let finished = runs.iter().all(|r| r.resume.as_ref().is_some_and(|s| s.status != RunStatus::Running));
        plan.packs.push(Pack { runs, finished });
    }
    let keys: Vec<RunKey> = fresh.iter().map(|r| r.key).collect();
    let pending = scheduled(&keys);
    let fits = |group: &[usize]| (packer.fits)(&group.iter().map(|&i| keys[i]).collect::<Vec<_>>());
    let mut slots: Vec<Option<PlannedRun>> = fresh.into_iter().map(Some).collect();
    for group in plan_groups(&pending, packer.packing, &fits) {
        let runs = group.iter().map(|&i| slots[i].take().expect("each run in one group")).collect();
        plan.packs.push(Pack { runs, finished: false });
    }
    plan.packs.sort_by_key(|p| {
        if p.finished { (0, 0) } else { (1, usize::MAX - p.runs.len() * p.runs.iter().map(|r| r.key.width).max().unwrap_or(0)) }
    });
    Ok(plan)
}

/// What the scheduler knows of each run: its condition's index and its width.
pub fn scheduled(keys: &[RunKey]) -> Vec<PendingRun> {
    keys.iter().map(|key| PendingRun { key: (key.index, 0), width: key.width }).collect()
}
