//! Training the unfinished runs of a sweep: plan the work (resume alignment, packing), then train it on
//! worker threads, each group under its runs' locks, and write each run's results.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use ddlab_config::RunKey;
use ddlab_data::Prepared;
use ddlab_model::{Mlp, MlpShape, MlpWeights};
use ddlab_store::{RunOutcome, RunPhase, RunRecord, RunSummary, SweepDir, write_atomic, write_csv_atomic};
use ddlab_train::{
    DeviceData, GroupEnd, Hooks, MetricsRow, Observer, PackId, Packing, RunState, RunStatus, moments_match, plan_groups,
    train_group,
};

use crate::progress::{GroupProgress, Mode, Progress};
use crate::{SweepError, default_jobs};

/// How to train a sweep.
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    /// Worker threads, each training one group at a time in a rayon pool of its share of the cores.
    pub jobs: usize,
    pub packing: Packing,
    /// Device memory a pack may use, for the GPU plan ([`Packing::Wide`]); None: no limit.
    pub device_memory: Option<crate::memory::DeviceBudget>,
    /// Train the runs that failed or diverged earlier again.
    pub retry_failed: bool,
}

/// What [`train_sweep`] did.
#[derive(Default, Debug)]
pub struct TrainOutcome {
    /// Runs whose results were written now (diverged ones included).
    pub trained: usize,
    pub failed: usize,
    /// Runs skipped because another process holds their lock.
    pub busy: usize,
    pub interrupted: bool,
}

/// A sweep's runs sorted by what is left to do with them.
pub(crate) struct Triage {
    /// Started or never started: to train (or fit).
    pub todo: Vec<RunKey>,
    /// Finished already.
    pub done: usize,
    /// One line per run that failed earlier and stays failed.
    pub failed_earlier: Vec<String>,
}

/// Sorts `runs` by phase; with `retry_failed` the failed ones are reset first and count as to do.
/// `verb` names what `--retry-failed` would do again ("trains", "fits").
pub(crate) fn triage(sweep: &SweepDir, runs: &[RunKey], retry_failed: bool, verb: &str) -> crate::Result<Triage> {
    let mut triage = Triage { todo: Vec::new(), done: 0, failed_earlier: Vec::new() };
    for key in runs {
        if retry_failed {
            sweep.reset_failed(key)?;
        }
        match sweep.phase(key)? {
            RunPhase::Finished(_) => triage.done += 1,
            RunPhase::Failed(reason) => triage
                .failed_earlier
                .push(format!("{}: failed earlier ({reason}); --retry-failed {verb} it again", key.rel_dir())),
            RunPhase::Started | RunPhase::Missing => triage.todo.push(*key),
        }
    }
    Ok(triage)
}

/// A run's runs.csv row from its last evaluation (None: no figures, such as a diverged run's).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_summary(
    key: &RunKey,
    (depth, params): (usize, usize),
    epochs: usize,
    last: Option<&MetricsRow>,
    noisy_fit: Option<f64>,
    seconds: f64,
    status: RunOutcome,
    reason: Option<String>,
) -> RunSummary {
    let figure = |pick: fn(&MetricsRow) -> f64| last.map(pick).and_then(RunSummary::figure);
    RunSummary {
        condition: key.condition.label(),
        n_train: key.condition.n_train,
        label_noise: key.condition.label_noise,
        width: key.width,
        depth,
        seed: key.seed,
        params,
        epochs,
        train_err: figure(|m| m.train_err),
        train_loss: figure(|m| m.train_loss),
        test_err: figure(|m| m.test_err),
        test_loss: figure(|m| m.test_loss),
        noisy_fit: noisy_fit.and_then(RunSummary::figure),
        seconds,
        status,
        reason,
    }
}

/// A run to train (or to finish) and the state it starts from.
struct Pending {
    key: RunKey,
    state: RunState,
    /// Epoch of the run's newest checkpoint when the plan was made (None: no checkpoint), to notice a
    /// run another process advanced meanwhile.
    seen: Option<usize>,
}

/// What a worker does with a group.
enum Work {
    /// Train the runs together, packed in this order.
    Train(Vec<Pending>),
    /// The runs finished training (their checkpoints say so): write their results.
    Finish(Vec<Pending>),
}

impl Work {
    fn runs(&self) -> &[Pending] {
        match self {
            Work::Train(r) | Work::Finish(r) => r,
        }
    }
}

/// Trains every unfinished run of `runs` (a shard's, or all of the sweep's).
pub fn train_sweep(
    sweep: &SweepDir,
    prepared: &[Prepared],
    device: &Device,
    runs: &[RunKey],
    options: TrainOptions,
    mode: Mode,
    stop: &AtomicBool,
) -> crate::Result<TrainOutcome> {
    let Triage { todo: candidates, mut done, failed_earlier } = triage(sweep, runs, options.retry_failed, "trains")?;
    let mut outcome = TrainOutcome { failed: failed_earlier.len(), ..Default::default() };
    let progress = Progress::new(mode, runs.len(), done);
    for line in &failed_earlier {
        progress.line(line);
    }
    let device_data: Vec<DeviceData> = prepared.iter().map(|p| DeviceData::new(p, device)).collect();
    let waves = reuse_waves(sweep, prepared, &candidates, runs)?;
    let several = waves.len() > 1;
    for (index, wave) in waves.into_iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let wave = drop_runs_whose_source_failed(sweep, prepared, wave, &progress, &mut outcome)?;
        let work = plan_work(sweep, device, prepared, &wave, options.packing, options.device_memory, &progress)?;
        if !wave.is_empty() {
            let packs = work.iter().filter(|w| matches!(w, Work::Train(_))).count();
            let stage = if several { format!("weight reuse, width step {}: ", index + 1) } else { String::new() };
            progress.line(&format!("{stage}{} runs to train in {packs} packs ({} finished already)", wave.len(), done));
        }
        let result = run_queue(sweep, device, &device_data, work, options.jobs, &progress, stop)?;
        outcome.trained += result.trained;
        outcome.failed += result.failed;
        outcome.busy += result.busy;
        outcome.interrupted |= result.interrupted;
        done += result.trained;
    }
    progress.finish();
    outcome.interrupted |= stop.load(Ordering::Relaxed);
    Ok(outcome)
}

/// Trains the queued work on `jobs` worker threads and adds up what they did.
fn run_queue(
    sweep: &SweepDir,
    device: &Device,
    device_data: &[DeviceData],
    work: Vec<Work>,
    jobs: usize,
    progress: &Progress,
    stop: &AtomicBool,
) -> crate::Result<GroupResult> {
    let queue = Mutex::new(work.into_iter().collect::<std::collections::VecDeque<_>>());
    let totals = Mutex::new(GroupResult::default());
    // Each worker runs inside a rayon pool of its own, with its share of the cores: Burn's flex backend
    // parallelises large ops with rayon on the current pool, and with one pool shared by all workers a
    // worker waiting for a sub-task that another worker had stolen spun idle (measured: the same sweep
    // took 7 to 10 s from run to run). One pool per worker keeps them independent.
    let jobs = jobs.max(1);
    let threads_per_worker = (default_jobs() / jobs).max(1);
    let worker = || {
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Some(work) = queue.lock().unwrap().pop_front() else { break };
            let result = run_work(sweep, device, device_data, work, progress, stop);
            let mut t = totals.lock().unwrap();
            t.trained += result.trained;
            t.failed += result.failed;
            t.busy += result.busy;
            t.interrupted |= result.interrupted;
        }
    };
    let pools = (0..jobs)
        .map(|_| rayon::ThreadPoolBuilder::new().num_threads(threads_per_worker).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SweepError::Other(format!("cannot start the worker threads: {e}")))?;
    std::thread::scope(|scope| {
        for pool in &pools {
            scope.spawn(|| pool.install(worker));
        }
    });
    Ok(totals.into_inner().unwrap())
}

/// The run whose trained weights `key` starts from under `model.weight_reuse`: the next smaller width
/// of the sweep (same condition and seed) when `key`'s network is below the interpolation threshold,
/// params < n_train x classes (docs/SCIENCE.md, Models, data and training). None: a fresh initialisation.
fn reuse_source(sweep: &SweepDir, shape: MlpShape, key: &RunKey) -> Option<RunKey> {
    let spec = &sweep.spec;
    if !spec.model.weight_reuse || shape.params() >= key.condition.n_train * shape.classes {
        return None;
    }
    let smaller = spec.model.widths.iter().copied().filter(|&w| w < key.width).max()?;
    Some(RunKey { width: smaller, ..*key })
}

/// The candidates in the order weight reuse needs: wave k holds the runs k steps down a reuse chain
/// (wave 0: every run that starts from a fresh initialisation). One wave without weight reuse. A run
/// whose source is neither finished nor trained by this process (another shard's) is an error.
fn reuse_waves(
    sweep: &SweepDir,
    prepared: &[Prepared],
    candidates: &[RunKey],
    runs: &[RunKey],
) -> crate::Result<Vec<Vec<RunKey>>> {
    let mut waves: Vec<Vec<RunKey>> = vec![Vec::new()];
    for key in candidates {
        let mut depth = 0;
        let mut at = *key;
        while let Some(source) = reuse_source(sweep, shape_of(sweep, prepared, &at), &at) {
            if !candidates.contains(&source) {
                if !runs.contains(&source) && !matches!(sweep.phase(&source)?, RunPhase::Finished(_) | RunPhase::Failed(_)) {
                    return Err(SweepError::Other(format!(
                        "{} starts from the trained weights of {} (model.weight_reuse), which this process does not train and which has not finished: train a weight-reuse sweep without --shard, or finish the other shards first",
                        at.rel_dir(),
                        source.rel_dir()
                    )));
                }
                break;
            }
            depth += 1;
            at = source;
        }
        if waves.len() <= depth {
            waves.resize(depth + 1, Vec::new());
        }
        waves[depth].push(*key);
    }
    Ok(waves)
}

/// Marks failed the runs whose reuse source ended without weights (failed or diverged: nothing to start
/// from), leaves for later those whose source is not finished (held by another process), and returns
/// the others.
fn drop_runs_whose_source_failed(
    sweep: &SweepDir,
    prepared: &[Prepared],
    wave: Vec<RunKey>,
    progress: &Progress,
    outcome: &mut TrainOutcome,
) -> crate::Result<Vec<RunKey>> {
    let mut kept = Vec::new();
    for key in wave {
        let Some(source) = reuse_source(sweep, shape_of(sweep, prepared, &key), &key) else {
            kept.push(key);
            continue;
        };
        let problem = match sweep.phase(&source)? {
            RunPhase::Finished(record) if record.summary.status == RunOutcome::Done => None,
            RunPhase::Finished(record) => Some(format!("diverged ({})", record.summary.reason.unwrap_or_default())),
            RunPhase::Failed(reason) => Some(format!("failed ({reason})")),
            RunPhase::Started | RunPhase::Missing => {
                // Not failed: its source is still in training (another process holds it), so this run
                // waits for a later `ddlab sweep`.
                progress.line(&format!(
                    "{}: waits for {} (model.weight_reuse), not finished yet",
                    key.rel_dir(),
                    source.rel_dir()
                ));
                outcome.busy += 1;
                continue;
            }
        };
        match problem {
            None => kept.push(key),
            Some(problem) => {
                let reason =
                    format!("starts from the trained weights of {} (model.weight_reuse), which {problem}", source.rel_dir());
                progress.line(&format!("{}: failed: {reason}", key.rel_dir()));
                sweep.fail_run(&key, &reason)?;
                outcome.failed += 1;
                progress.run_finished(1);
            }
        }
    }
    Ok(kept)
}

fn shape_of(sweep: &SweepDir, prepared: &[Prepared], key: &RunKey) -> MlpShape {
    let data = &prepared[key.index];
    MlpShape { input: data.train.dim, width: key.width, depth: sweep.spec.model.depth, classes: data.classes }
}

/// A run from its initial weights, writing init.bpk (the probes' null control) the first time. Under
/// `model.weight_reuse` a run below the threshold starts from its source's trained weights, grown.
fn fresh_state(sweep: &SweepDir, device: &Device, key: &RunKey, shape: MlpShape) -> crate::Result<RunState> {
    let init = match reuse_source(sweep, shape, key) {
        None => MlpWeights::init(shape, sweep.spec.model.init, key.seed),
        Some(source) => {
            let source_shape = MlpShape { width: source.width, ..shape };
            let trained = crate::load_model(sweep, source_shape, &sweep.model_path(&source), device)?;
            trained.to_weights(source_shape).grown(shape, key.seed)
        }
    };
    let path = sweep.init_weights_path(key);
    if !path.exists() {
        let bytes = Mlp::from_weights(&init, device).to_bytes()?;
        write_atomic(&path, &bytes)?;
    }
    Ok(RunState::fresh(key.seed, init))
}

/// Groups the unfinished runs into work. Runs with checkpoints go back into the pack they trained in,
/// at a common epoch (a run checkpointed one round ahead of its pack steps back to its previous
/// checkpoint), so that a resumed sweep computes exactly what an uninterrupted one does; runs without
/// one are packed by the scheduler, whose plan of a set of runs does not depend on which other packs
/// already ran.
fn plan_work(
    sweep: &SweepDir,
    device: &Device,
    prepared: &[Prepared],
    candidates: &[RunKey],
    packing: Packing,
    device_memory: Option<crate::memory::DeviceBudget>,
    progress: &Progress,
) -> crate::Result<Vec<Work>> {
    let spec = &sweep.spec;
    let warn = |w: String| progress.warn(&w);
    // Per pack: each run with its current and previous checkpoint.
    type Checkpointed = (RunKey, Option<RunState>, Option<RunState>);
    let mut by_pack: std::collections::BTreeMap<PackId, Vec<Checkpointed>> = Default::default();
    let mut fresh = Vec::new();
    for key in candidates {
        let (current, previous) = sweep.read_checkpoints(key, RunState::from_bytes, warn);
        let shape = shape_of(sweep, prepared, key);
        for state in current.iter().chain(&previous) {
            if state.weights.shape != shape || !moments_match(spec.train.optimizer, state) {
                return Err(SweepError::file(sweep.run_dir(key), "checkpoint does not match the spec (shape or optimiser)"));
            }
        }
        match &current {
            Some(state) if !state.pack.is_empty() => {
                by_pack.entry(state.pack.clone()).or_default().push((*key, current, previous))
            }
            _ => fresh.push(*key),
        }
    }
    let mut work = Vec::new();
    for (pack, mut members) in by_pack {
        members.sort_by_key(|(key, _, _)| pack.position(key));
        if members.len() < pack.len() {
            warn(format!(
                "{} of the {} runs packed with {} are finished or failed; the others resume in a smaller pack, which rounds differently",
                pack.len() - members.len(),
                pack.len(),
                members[0].0.rel_dir()
            ));
        }
        let target = members.iter().map(|(_, c, _)| c.as_ref().unwrap().epoch).min().unwrap();
        let mut runs = Vec::new();
        for (key, current, previous) in members.iter() {
            let current = current.as_ref().unwrap();
            let state =
                if current.epoch == target { Some(current.clone()) } else { previous.clone().filter(|p| p.epoch == target) };
            runs.push((*key, current.epoch, state));
        }
        let aligned = runs.iter().all(|(_, _, s)| s.is_some());
        let mut pending = Vec::new();
        for (key, seen, state) in runs {
            let shape = shape_of(sweep, prepared, &key);
            let state = match state.filter(|_| aligned) {
                Some(s) => s,
                None => fresh_state(sweep, device, &key, shape)?,
            };
            pending.push(Pending { key, state, seen: Some(seen) });
        }
        if pending.iter().all(|p| p.state.status != RunStatus::Running) {
            work.push(Work::Finish(pending));
        } else {
            work.push(Work::Train(pending));
        }
    }
    let mut fresh_pending = Vec::new();
    for key in fresh {
        let shape = shape_of(sweep, prepared, &key);
        let seen = sweep.read_checkpoints(&key, RunState::from_bytes, |_| {}).0.map(|s| s.epoch);
        fresh_pending.push(Pending { key, state: fresh_state(sweep, device, &key, shape)?, seen });
    }
    let keys: Vec<RunKey> = fresh_pending.iter().map(|p| p.key).collect();
    let planned = crate::memory::planned_runs(&keys);
    let fits = crate::memory::device_fits(spec, prepared, &keys, device_memory);
    let mut slots: Vec<Option<Pending>> = fresh_pending.into_iter().map(Some).collect();
    let mut trained: Vec<Work> = work.into_iter().collect();
    for group in plan_groups(&planned, packing, &fits) {
        trained.push(Work::Train(group.iter().map(|&i| slots[i].take().expect("each run in one group")).collect()));
    }
    // Finishing first (cheap), then the largest packs first so that two workers end together.
    trained.sort_by_key(|w| match w {
        Work::Finish(_) => (0, 0),
        Work::Train(runs) => (1, usize::MAX - runs.len() * runs.iter().map(|p| p.key.width).max().unwrap_or(0)),
    });
    Ok(trained)
}

#[derive(Default)]
struct GroupResult {
    trained: usize,
    failed: usize,
    busy: usize,
    interrupted: bool,
}

/// Locks a group's runs (all or none), checks that nobody advanced them meanwhile, then trains or
/// finishes them.
fn run_work(
    sweep: &SweepDir,
    device: &Device,
    device_data: &[DeviceData],
    work: Work,
    progress: &Progress,
    stop: &AtomicBool,
) -> GroupResult {
    let mut result = GroupResult::default();
    let mut locks = Vec::new();
    for run in work.runs() {
        let fresh_enough = || -> Result<bool, ddlab_store::StoreError> {
            if matches!(sweep.phase(&run.key)?, RunPhase::Finished(_) | RunPhase::Failed(_)) {
                return Ok(false);
            }
            let now = sweep.read_checkpoints(&run.key, RunState::from_bytes, |_| {}).0.map(|s| s.epoch);
            Ok(now == run.seen)
        };
        let locked = match sweep.try_lock(&run.key) {
            Ok(Some(lock)) => fresh_enough().map(|fresh| fresh.then_some(lock)),
            other => other,
        };
        match locked {
            Ok(Some(lock)) => locks.push(lock),
            Ok(_) => {
                // Held or advanced by another process: leave the whole pack to it (a partial pack would
                // round differently).
                result.busy += work.runs().len();
                return result;
            }
            Err(e) => {
                // The run's folder cannot be read or locked: a real error, not another process's work.
                progress.line(&format!("error: {e}"));
                result.failed += work.runs().len();
                return result;
            }
        }
    }
    for run in work.runs() {
        sweep.remove_stale_temporaries(&run.key);
    }
    let (runs, train) = match work {
        Work::Train(runs) => (runs, true),
        Work::Finish(runs) => (runs, false),
    };
    let keys: Vec<RunKey> = runs.iter().map(|r| r.key).collect();
    let pack = PackId::of(&keys);
    let mut states: Vec<RunState> = runs.into_iter().map(|r| RunState { pack: pack.clone(), ..r.state }).collect();
    if train {
        let condition = keys[0].index;
        let train = sweep.spec.train_for(&keys[0].condition);
        let bar = progress.group(&crate::pack_label(&keys), states[0].epoch, train.epochs);
        let mut observer = SweepObserver { sweep, device, keys: &keys, bar: &bar, stop };
        let hooks = Hooks { snapshot_every: sweep.spec.probe.every };
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_group(&train, hooks, &device_data[condition], states, &mut observer)
        }));
        drop(bar);
        states = match trained {
            Ok(Ok((states, GroupEnd::Finished))) => states,
            Ok(Ok((_, GroupEnd::Interrupted))) => {
                result.interrupted = true;
                return result;
            }
            Ok(Err(e)) => return fail_group(sweep, &keys, &e.to_string(), progress, result),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                return fail_group(sweep, &keys, &format!("training panicked: {message}"), progress, result);
            }
        };
        // The final states first, as checkpoints, then each run's results: a crash in between leaves
        // every run of the pack resumable at the same epoch, or finished.
        for (key, state) in keys.iter().zip(&states) {
            if let Err(e) = sweep.write_checkpoint(key, &state.to_bytes()) {
                return fail_group(sweep, &keys, &e.to_string(), progress, result);
            }
        }
    }
    for (key, state) in keys.iter().zip(&states) {
        match finish_run(sweep, device, key, state) {
            Ok(()) => {
                result.trained += 1;
                match &state.status {
                    RunStatus::Diverged { reason } => {
                        result.failed += 1;
                        progress.line(&format!("{}: diverged: {reason}", key.rel_dir()));
                    }
                    _ => {
                        if let Some(last) = state.metrics.last() {
                            progress.line(&format!(
                                "{}: done, train_err {:.3}, test_err {:.3}",
                                key.rel_dir(),
                                last.train_err,
                                last.test_err
                            ));
                        }
                    }
                }
            }
            Err(e) => {
                result.failed += 1;
                progress.line(&format!("{}: cannot write results: {e:#}", key.rel_dir()));
                let _ = sweep.fail_run(key, &format!("{e:#}"));
            }
        }
        progress.run_finished(1);
    }
    drop(locks);
    result
}

fn fail_group(sweep: &SweepDir, keys: &[RunKey], reason: &str, progress: &Progress, mut result: GroupResult) -> GroupResult {
    for key in keys {
        progress.line(&format!("{}: failed: {reason}", key.rel_dir()));
        let _ = sweep.fail_run(key, reason);
        result.failed += 1;
    }
    progress.run_finished(keys.len());
    result
}

/// `w8-16 x6` style label of a group.
/// Writes a finished run: model.bpk, metrics.csv, run.json, then DONE.
fn finish_run(sweep: &SweepDir, device: &Device, key: &RunKey, state: &RunState) -> crate::Result<()> {
    let bytes = Mlp::from_weights(&state.weights, device).to_bytes()?;
    write_atomic(&sweep.model_path(key), &bytes)?;
    write_csv_atomic(&sweep.metrics_path(key), &state.metrics)?;
    // A diverged run has no final figures: its outputs are not numbers, so neither its losses nor its
    // errors (an argmax of NaNs) exist. They are missing values, and its reason says why.
    let last = state.metrics.last();
    let (status, reason, epochs, figures) = match &state.status {
        RunStatus::Diverged { reason } => (RunOutcome::Diverged, Some(reason.clone()), last.map_or(0, |l| l.epoch), None),
        _ => (RunOutcome::Done, None, state.epoch, last),
    };
    let shape = state.weights.shape;
    let summary =
        run_summary(key, (shape.depth, shape.params()), epochs, figures, state.noisy_fit, state.seconds, status, reason);
    sweep.finish_run(key, &RunRecord { summary })?;
    Ok(())
}

/// Connects the training loop to the sweep folder and the progress display.
struct SweepObserver<'a> {
    sweep: &'a SweepDir,
    device: &'a Device,
    keys: &'a [RunKey],
    bar: &'a GroupProgress<'a>,
    stop: &'a AtomicBool,
}

impl Observer for SweepObserver<'_> {
    fn evaluated(&mut self, run: usize, row: &MetricsRow) {
        // Show the widest model of the group: the one whose curve moves last.
        if run + 1 == self.keys.len() {
            let key = &self.keys[run];
            self.bar.evaluated(&format!("w{} s{}", key.width, key.seed), row.train_err, row.test_err);
        }
    }

    fn epoch_done(&mut self, epoch: usize) {
        self.bar.epoch_done(epoch);
    }

    fn checkpoint(&mut self, run: usize, state: &RunState) -> Result<(), String> {
        self.sweep.write_checkpoint(&self.keys[run], &state.to_bytes()).map_err(|e| e.to_string())
    }

    fn snapshot(&mut self, run: usize, epoch: usize, weights: &MlpWeights) -> Result<(), String> {
        let path = self.sweep.snapshot_path(&self.keys[run], epoch);
        let bytes = Mlp::from_weights(weights, self.device).to_bytes().map_err(|e| e.to_string())?;
        write_atomic(&path, &bytes).map_err(|e| e.to_string())
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
