//! Carrying out the training plan (`plan.rs`): read what the plan needs from the folder (run phases,
//! checkpoints), make each fresh run's initial state, train the packs on the worker pool, each under its
//! runs' locks, and write each run's results.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use ddlab_config::{RunKey, Spec};
use ddlab_model::{Mlp, MlpWeights};
use ddlab_store::{MetricsRow, Phases, RunOutcome, RunPhase, RunRecord, RunSummary, SweepDir};
use ddlab_train::{DeviceData, GroupEnd, Hooks, Observer, PackId, Packing, RunState, RunStatus, train_group};

use crate::SweepError;
use crate::context::SweepContext;
use crate::plan::{
    Checkpoints, Pack, Packer, SourceState, Triage, check_sources, plan_step, reuse_source, reuse_steps, triage, with_sources,
};
use crate::pool::{Workers, for_each};
use crate::progress::{GroupProgress, Mode, Progress};

/// How to train a sweep.
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    /// Worker threads, each training one pack at a time in a rayon pool of its share of the cores.
    pub jobs: usize,
    pub packing: Packing,
    /// Device memory a pack may use, for the GPU plan ([`Packing::Wide`]); None: no limit.
    pub device_memory: Option<crate::memory::DeviceBudget>,
    /// Train the runs that failed or diverged earlier again.
    pub retry_failed: bool,
}

/// What [`train_sweep`] (or [`crate::fit_sweep`]) did.
#[derive(Clone, Default, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Runs whose results were written now (diverged ones included).
    pub trained: usize,
    pub failed: usize,
    /// Runs skipped because another process holds their lock (or trains the run they start from).
    pub busy: usize,
    pub interrupted: bool,
}

impl TrainOutcome {
    pub(crate) fn add(&mut self, other: &TrainOutcome) {
        self.trained += other.trained;
        self.failed += other.failed;
        self.busy += other.busy;
        self.interrupted |= other.interrupted;
    }
}

/// With `retry_failed`, makes the failed and diverged runs of `runs` trainable again; then reads where
/// every run stands and sorts `runs` by it, printing the runs that stay failed. `verb` names what
/// `--retry-failed` would do again ("trains", "fits").
/// `needed`: the runs whose phases are read (`runs`, and for training the runs they start from).
pub(crate) fn start(
    ctx: &SweepContext,
    runs: &[RunKey],
    needed: &[RunKey],
    retry_failed: bool,
    verb: &str,
    mode: Mode,
) -> crate::Result<(Triage, Phases, Progress)> {
    if retry_failed {
        for key in runs {
            ctx.dir.reset_failed(key)?;
        }
    }
    let phases = ctx.dir.phases_of(needed)?;
    let triage = triage(runs, &phases);
    let progress = Progress::new(mode, runs.len(), triage.done);
    for (key, reason) in &triage.failed {
        progress.line(&format!("{}: failed earlier ({reason}); --retry-failed {verb} it again", ctx.spec().run_name(key)));
    }
    Ok((triage, phases, progress))
}

/// How a run ended: done or diverged (and why), after how many epochs and seconds.
pub(crate) struct Ending {
    pub status: RunOutcome,
    pub reason: Option<String>,
    pub epochs: usize,
    pub seconds: f64,
}

/// A run's (of `spec`) runs.csv row. `figures` is its last evaluation (None: a run without figures, such
/// as a diverged one, whose outputs are not numbers); a figure that is not finite is stored as missing.
pub(crate) fn run_summary(
    spec: &Spec,
    key: &RunKey,
    (depth, params): (usize, usize),
    figures: Option<&MetricsRow>,
    noisy_fit: Option<f64>,
    ending: Ending,
) -> RunSummary {
    let figure = |pick: fn(&MetricsRow) -> f64| figures.map(pick).and_then(RunSummary::figure);
    let condition = spec.condition_of(key);
    RunSummary {
        condition: condition.label(),
        n_train: condition.n_train,
        label_noise: condition.label_noise,
        width: key.width,
        depth,
        seed: key.seed,
        params,
        epochs: ending.epochs,
        train_err: figure(|m| m.train_err),
        train_loss: figure(|m| m.train_loss),
        test_err: figure(|m| m.test_err),
        test_loss: figure(|m| m.test_loss),
        noisy_fit: noisy_fit.and_then(RunSummary::figure),
        seconds: ending.seconds,
        status: ending.status,
        reason: ending.reason,
    }
}

/// Trains every unfinished run of `runs` (a shard's, or all of the sweep's).
pub fn train_sweep(
    ctx: &SweepContext,
    device: &Device,
    runs: &[RunKey],
    options: TrainOptions,
    mode: Mode,
    stop: &AtomicBool,
) -> crate::Result<TrainOutcome> {
    let spec = ctx.spec();
    let shape = |key: &RunKey| ctx.shape(key);
    let needed = with_sources(spec, &shape, runs);
    let (Triage { todo, mut done, failed }, mut phases, progress) =
        start(ctx, runs, &needed, options.retry_failed, "trains", mode)?;
    let mut outcome = TrainOutcome { failed: failed.len(), ..Default::default() };
    let device_data: Vec<DeviceData> = ctx.prepared.iter().map(|p| DeviceData::new(p, device)).collect();
    let fits = crate::memory::device_fits(spec, &ctx.prepared, options.device_memory);
    let packer = Packer { packing: options.packing, fits: &fits };
    let steps = reuse_steps(spec, &shape, &todo, runs, &phases)?;
    let several = steps.len() > 1;
    for (index, step) in steps.into_iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if index > 0 {
            // This step's sources trained in the step before.
            phases = ctx.dir.phases_of(&needed)?;
        }
        let mut ready = Vec::new();
        for (key, state) in check_sources(spec, &shape, &step, &phases) {
            match state {
                SourceState::Ready => ready.push(key),
                SourceState::Waits(source) => {
                    // Not failed: its source is still in training (another process holds it), so this run
                    // waits for a later `ddlab sweep`.
                    let (key, source) = (spec.run_name(&key), spec.run_name(&source));
                    progress.line(&format!("{key}: waits for {source} (model.weight_reuse), not finished yet"));
                    outcome.busy += 1;
                }
                SourceState::Fails(reason) => {
                    progress.line(&format!("{}: failed: {reason}", spec.run_name(&key)));
                    ctx.dir.fail_run(&key, &reason)?;
                    outcome.failed += 1;
                    progress.run_finished(1);
                }
            }
        }
        let plan = plan_step(spec, &shape, read_checkpoints(&ctx.dir, &ready, &progress), &ready, &packer)
            .map_err(|(key, why)| SweepError::file(ctx.dir.run_dir(&key), why))?;
        for warning in &plan.warnings {
            progress.warn(warning);
        }
        let groups = plan.packs.into_iter().map(|pack| starting_states(ctx, device, pack)).collect::<crate::Result<Vec<_>>>()?;
        if !ready.is_empty() {
            let packs = groups.iter().filter(|g| g.train).count();
            let stage = if several { format!("weight reuse, width step {}: ", index + 1) } else { String::new() };
            progress.line(&format!("{stage}{} runs to train in {packs} packs ({} finished already)", ready.len(), done));
        }
        let workers = Workers { jobs: options.jobs, own_cores: true };
        let results =
            for_each(groups, workers, Some(stop), |group| run_group(ctx, device, &device_data, group, &progress, stop))?;
        for result in results.iter().flatten() {
            outcome.add(result);
            done += result.trained;
        }
    }
    progress.finish();
    outcome.interrupted |= stop.load(Ordering::Relaxed);
    Ok(outcome)
}

/// Each run's checkpoints (the newest readable one and the one before it); a damaged one is reported
/// and skipped.
fn read_checkpoints(dir: &SweepDir, keys: &[RunKey], progress: &Progress) -> BTreeMap<RunKey, Checkpoints> {
    keys.iter()
        .map(|key| {
            let (current, previous) = dir.read_checkpoints(key, RunState::from_bytes, |w| progress.warn(&w));
            (*key, Checkpoints { current, previous })
        })
        .collect()
}

/// A pack's runs with the states they start from, ready for a worker.
struct Group {
    runs: Vec<(RunKey, RunState, Option<usize>)>,
    /// False: the runs finished training already and only their results are left to write.
    train: bool,
}

/// The states a planned pack starts from: its checkpoints, or each run's initial weights.
fn starting_states(ctx: &SweepContext, device: &Device, pack: Pack) -> crate::Result<Group> {
    let runs = pack
        .runs
        .into_iter()
        .map(|run| {
            let state = match run.resume {
                Some(state) => state,
                None => fresh_state(ctx, device, &run.key)?,
            };
            Ok((run.key, state, run.seen))
        })
        .collect::<crate::Result<_>>()?;
    Ok(Group { runs, train: !pack.finished })
}

/// A run from its initial weights (scaled by its condition's parameterisation), writing init.bpk (the
/// probes' null control) the first time. Under `model.weight_reuse` a run below the threshold starts
/// from its source's trained weights, grown.
fn fresh_state(ctx: &SweepContext, device: &Device, key: &RunKey) -> crate::Result<RunState> {
    let (spec, sweep) = (ctx.spec(), &ctx.dir);
    let shape = ctx.shape(key);
    let init = match reuse_source(spec, shape, key) {
        None => MlpWeights::init_parameterised(
            shape,
            spec.model.init,
            spec.condition_of(key).parameterisation,
            spec.model.base_width,
            key.seed,
        ),
        Some(source) => {
            let source_shape = ctx.shape(&source);
            let trained = crate::load_model(sweep, source_shape, &sweep.model_path(&source), device)?;
            trained.to_weights(source_shape).grown(shape, key.seed)
        }
    };
    let path = sweep.init_weights_path(key);
    if !path.exists() {
        let bytes = Mlp::from_weights(&init, device).to_bytes()?;
        sweep.write_weights(&path, &bytes)?;
    }
    Ok(RunState::fresh(key.seed, init))
}

/// Locks a group's runs (all or none), checks that nobody advanced them meanwhile, then trains or
/// finishes them.
fn run_group(
    ctx: &SweepContext,
    device: &Device,
    device_data: &[DeviceData],
    group: Group,
    progress: &Progress,
    stop: &AtomicBool,
) -> TrainOutcome {
    let sweep = &ctx.dir;
    let mut result = TrainOutcome::default();
    let mut locks = Vec::new();
    for (key, _, seen) in &group.runs {
        let fresh_enough = || -> Result<bool, ddlab_store::StoreError> {
            if matches!(sweep.phase(key)?, RunPhase::Finished(_) | RunPhase::Failed(_)) {
                return Ok(false);
            }
            let now = sweep.read_checkpoints(key, RunState::from_bytes, |_| {}).0.map(|s| s.epoch);
            Ok(now == *seen)
        };
        let locked = match sweep.try_lock(key) {
            Ok(Some(lock)) => fresh_enough().map(|fresh| fresh.then_some(lock)),
            other => other,
        };
        match locked {
            Ok(Some(lock)) => locks.push(lock),
            Ok(_) => {
                // Held or advanced by another process: leave the whole pack to it (a partial pack would
                // round differently).
                result.busy += group.runs.len();
                return result;
            }
            Err(e) => {
                // The run's folder cannot be read or locked: a real error, not another process's work.
                progress.line(&format!("error: {e}"));
                result.failed += group.runs.len();
                return result;
            }
        }
    }
    let keys: Vec<RunKey> = group.runs.iter().map(|(key, _, _)| *key).collect();
    for key in &keys {
        sweep.remove_stale_temporaries(key);
    }
    let spec = ctx.spec();
    let pack = PackId::of(spec, &keys);
    let mut states: Vec<RunState> =
        group.runs.into_iter().map(|(_, state, _)| RunState { pack: pack.clone(), ..state }).collect();
    if group.train {
        let train = spec.train_for(spec.condition_of(&keys[0]));
        let bar = progress.group(&crate::pack_label(&keys), states[0].epoch, train.epochs);
        let mut observer = SweepObserver { sweep, device, keys: &keys, bar: &bar, stop };
        let hooks = Hooks { snapshot_every: ctx.spec().probe.every };
        // A centred network subtracts its initial function: each run's init.bpk, read back whether the run
        // starts or resumes, so that both compute it from the same values.
        let initial = match train.intervention.centred {
            false => Vec::new(),
            true => match keys.iter().map(|key| crate::load_weights(ctx, key, &sweep.init_weights_path(key), device)).collect() {
                Ok(initial) => initial,
                Err(e) => return fail_group(sweep, &keys, &format!("{e:#}"), progress, result),
            },
        };
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_group(&train, hooks, &device_data[keys[0].index], states, &initial, &mut observer)
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
                        progress.line(&format!("{}: diverged: {reason}", spec.run_name(key)));
                    }
                    _ => {
                        if let Some(last) = state.metrics.last() {
                            progress.line(&format!(
                                "{}: done, train_err {:.3}, test_err {:.3}",
                                spec.run_name(key),
                                last.train_err,
                                last.test_err
                            ));
                        }
                    }
                }
            }
            Err(e) => {
                result.failed += 1;
                progress.line(&format!("{}: cannot write results: {e:#}", spec.run_name(key)));
                let _ = sweep.fail_run(key, &format!("{e:#}"));
            }
        }
        progress.run_finished(1);
    }
    drop(locks);
    result
}

fn fail_group(sweep: &SweepDir, keys: &[RunKey], reason: &str, progress: &Progress, mut result: TrainOutcome) -> TrainOutcome {
    for key in keys {
        progress.line(&format!("{}: failed: {reason}", sweep.spec.run_name(key)));
        let _ = sweep.fail_run(key, reason);
        result.failed += 1;
    }
    progress.run_finished(keys.len());
    result
}

/// Writes a finished run: model.bpk, metrics.csv, run.json, then DONE.
fn finish_run(sweep: &SweepDir, device: &Device, key: &RunKey, state: &RunState) -> crate::Result<()> {
    let bytes = Mlp::from_weights(&state.weights, device).to_bytes()?;
    sweep.write_weights(&sweep.model_path(key), &bytes)?;
    sweep.write_metrics(key, &state.metrics)?;
    // A diverged run has no final figures: its outputs are not numbers, so neither its losses nor its
    // errors (an argmax of NaNs) exist. They are missing values, and its reason says why.
    let last = state.metrics.last();
    let seconds = state.seconds;
    let (ending, figures) = match &state.status {
        RunStatus::Diverged { reason } => {
            let epochs = last.map_or(0, |l| l.epoch);
            (Ending { status: RunOutcome::Diverged, reason: Some(reason.clone()), epochs, seconds }, None)
        }
        _ => (Ending { status: RunOutcome::Done, reason: None, epochs: state.epoch, seconds }, last),
    };
    let shape = state.weights.shape;
    let summary = run_summary(&sweep.spec, key, (shape.depth, shape.params()), figures, state.noisy_fit, ending);
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
        self.sweep.write_weights(&path, &bytes).map_err(|e| e.to_string())
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
