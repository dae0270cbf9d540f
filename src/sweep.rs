//! `ddlab sweep`: resolve everything, then train what is not finished, in packed groups on worker
//! threads, then hand over to probe, analyse, plot and report.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use burn::tensor::Device;
use ddlab_config::{RunKey, Spec, load_spec};
use ddlab_data::{Prepared, load_pools, prepare, split};
use ddlab_model::{Mlp, MlpShape, MlpWeights};
use ddlab_store::{RunPhase, RunRecord, RunSummary, SweepDir, write_atomic, write_csv_atomic};
use ddlab_train::{
    DeviceData, GroupEnd, Hooks, MetricsRow, Observer, Packing, PendingRun, RunOutcome, RunState, RunStatus, moments_match,
    plan_groups, train_group,
};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::SweepArgs;
use crate::progress::{Mode, Progress};
use crate::{backend, data_dir, default_experiment};

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Parse and resolve: nothing touches the disk until the spec and the data are known to be good.
    let file = args.experiment.clone().unwrap_or_else(default_experiment);
    let spec = load_spec(&file)?;
    let device = backend::device(args.device.backend)?;
    let prepared = prepare_conditions(&spec)?;
    let mode = Mode::detect(args.quiet);

    // Act.
    let sweep = SweepDir::create(&args.runs_dir, &spec)?;
    write_noise_files(&sweep, &prepared)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot install the signal handler")?;
    }
    let options = TrainOptions {
        jobs: args.device.jobs.unwrap_or_else(default_jobs),
        packing: if args.no_pack { Packing::Separate } else { Packing::default() },
        retry_failed: args.retry_failed,
    };
    if mode != Mode::Quiet {
        println!("sweep {} ({} runs) on {}", sweep.root.display(), spec.runs().len(), backend::name(args.device.backend));
    }
    let outcome = train_sweep(&sweep, &prepared, &device, options, mode, &stop)?;
    let finished = sweep.write_runs_csv()?;
    if outcome.interrupted {
        eprintln!("interrupted: every run in progress was checkpointed; run the same command again to resume");
        return Ok(ExitCode::from(130));
    }
    if mode != Mode::Quiet {
        println!(
            "{finished} runs finished ({} trained now, {} failed, {} held by another process); runs.csv written",
            outcome.trained, outcome.failed, outcome.busy
        );
    }
    if args.no_probe {
        return Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    crate::probe_cmd::probe_sweep(&sweep, &device, options.jobs, args.quiet)?;
    crate::report_cmd::analyze(&sweep.root, args.quiet)?;
    crate::report_cmd::plot(&sweep.root, args.quiet)?;
    let report = crate::report_cmd::report(&sweep.root, args.quiet)?;
    println!("report: {}", report.display());

    Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Loads the dataset and prepares every condition (split, subset, standardisation, noise).
pub fn prepare_conditions(spec: &Spec) -> anyhow::Result<Vec<Prepared>> {
    let pools = load_pools(&spec.data.dataset, &data_dir()).context("loading the dataset")?;
    let split = split(pools, spec.data.n_test, spec.data_seed)?;
    spec.conditions
        .iter()
        .map(|c| {
            prepare(&split, *c, spec.data.standardize, spec.data_seed)
                .with_context(|| format!("preparing condition {}", c.label()))
        })
        .collect()
}

#[derive(Serialize)]
struct NoiseRow {
    index: usize,
    original: u32,
    noisy: u32,
}

/// data/<condition>/noise.csv: which training labels were flipped, from what to what.
fn write_noise_files(sweep: &SweepDir, prepared: &[Prepared]) -> anyhow::Result<()> {
    for (condition, data) in sweep.spec.conditions.iter().zip(prepared) {
        let rows: Vec<NoiseRow> = data
            .flipped
            .iter()
            .map(|&i| NoiseRow { index: i, original: data.clean_train_labels[i], noisy: data.train.y[i] })
            .collect();
        let path = sweep.condition_data_dir(condition).join("noise.csv");
        if rows.is_empty() {
            // csv writes no header for zero rows; keep the file self-describing.
            write_atomic(&path, b"index,original,noisy\n")?;
        } else {
            write_csv_atomic(&path, &rows)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    pub jobs: usize,
    pub packing: Packing,
    pub retry_failed: bool,
}

#[derive(Default, Debug)]
pub struct TrainOutcome {
    pub trained: usize,
    pub failed: usize,
    /// Runs skipped because another process holds their lock.
    pub busy: usize,
    pub interrupted: bool,
}

/// A run to train and where it starts from.
struct Pending {
    key: RunKey,
    condition: usize,
    shape: MlpShape,
    state: RunState,
}

/// Trains every unfinished run of the sweep.
pub fn train_sweep(
    sweep: &SweepDir,
    prepared: &[Prepared],
    device: &Device,
    options: TrainOptions,
    mode: Mode,
    stop: &AtomicBool,
) -> anyhow::Result<TrainOutcome> {
    let spec = &sweep.spec;
    let all = spec.runs();
    let mut pending = Vec::new();
    let mut done = 0;
    let mut outcome = TrainOutcome::default();
    for key in &all {
        if options.retry_failed {
            sweep.reset_failed(key)?;
        }
        match sweep.phase(key)? {
            RunPhase::Finished(_) => done += 1,
            RunPhase::Failed(reason) => {
                outcome.failed += 1;
                if mode != Mode::Quiet {
                    eprintln!("{}: failed earlier ({reason}); --retry-failed trains it again", key.rel_dir());
                }
            }
            RunPhase::Started | RunPhase::Missing => pending.push(load_pending(sweep, prepared, key)?),
        }
    }
    let progress = Progress::new(mode, all.len(), done);
    if !pending.is_empty() {
        progress.line(&format!("{} runs to train ({} finished already)", pending.len(), done));
    }
    let planned: Vec<PendingRun> =
        pending.iter().map(|p| PendingRun { key: (p.condition, p.state.epoch), width: p.shape.width }).collect();
    let groups = plan_groups(&planned, options.packing);
    let device_data: Vec<DeviceData> = prepared.iter().map(|p| DeviceData::new(p, device)).collect();

    let queue = Mutex::new(groups.into_iter().collect::<std::collections::VecDeque<_>>());
    let pending = Mutex::new(pending.into_iter().map(Some).collect::<Vec<_>>());
    let totals = Mutex::new(outcome);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(group) = queue.lock().unwrap().pop_front() else { break };
                    let runs: Vec<Pending> = group.iter().filter_map(|&i| pending.lock().unwrap()[i].take()).collect();
                    let result = train_one_group(sweep, &device_data, runs, &progress, stop);
                    let mut t = totals.lock().unwrap();
                    t.trained += result.trained;
                    t.failed += result.failed;
                    t.busy += result.busy;
                    t.interrupted |= result.interrupted;
                }
            });
        }
    });
    progress.finish();
    let mut outcome = totals.into_inner().unwrap();
    outcome.interrupted |= stop.load(Ordering::Relaxed);
    Ok(outcome)
}

/// Reads a started run's newest good checkpoint, or initialises a fresh run (writing init.bpk).
fn load_pending(sweep: &SweepDir, prepared: &[Prepared], key: &RunKey) -> anyhow::Result<Pending> {
    let spec = &sweep.spec;
    let condition = spec.conditions.iter().position(|c| *c == key.condition).expect("run of this spec");
    let data = &prepared[condition];
    let shape = MlpShape { input: data.train.dim, width: key.width, depth: spec.model.depth, classes: data.classes };
    let state = sweep.read_checkpoint(key, RunState::from_bytes, |w| eprintln!("warning: {w}"));
    let state = match state {
        Some(s) if s.weights.shape == shape && moments_match(spec.train.optimizer, &s) => s,
        Some(_) => anyhow::bail!("{}: checkpoint does not match the spec (shape or optimiser)", sweep.run_dir(key).display()),
        None => {
            let init = MlpWeights::init(shape, spec.model.init, key.seed);
            let path = sweep.run_dir(key).join("init.bpk");
            if !path.exists() {
                let bytes = Mlp::from_weights(&init, &Device::flex()).to_bytes().map_err(anyhow::Error::msg)?;
                write_atomic(&path, &bytes)?;
            }
            RunState::fresh(key.seed, init)
        }
    };
    Ok(Pending { key: *key, condition, shape, state })
}

#[derive(Default)]
struct GroupResult {
    trained: usize,
    failed: usize,
    busy: usize,
    interrupted: bool,
}

/// Locks a group's runs, trains them together and writes each run's results.
fn train_one_group(
    sweep: &SweepDir,
    device_data: &[DeviceData],
    runs: Vec<Pending>,
    progress: &Progress,
    stop: &AtomicBool,
) -> GroupResult {
    let mut result = GroupResult::default();
    // Lock, then re-read: another process may have finished or advanced a run since the plan was made.
    let mut locked = Vec::new();
    for run in runs {
        match sweep.try_lock(&run.key) {
            Ok(Some(lock)) => match sweep.phase(&run.key) {
                Ok(RunPhase::Finished(_)) => {}
                Ok(_) => {
                    let now = sweep.read_checkpoint(&run.key, RunState::from_bytes, |_| {}).map_or(0, |s| s.epoch);
                    if now == run.state.epoch {
                        locked.push((run, lock));
                    } else {
                        // Another process trained it further meanwhile; the next invocation resumes it.
                        result.busy += 1;
                    }
                }
                Err(e) => {
                    progress.line(&format!("error: {e}"));
                    result.failed += 1;
                }
            },
            Ok(None) => result.busy += 1,
            Err(e) => {
                progress.line(&format!("error: {e}"));
                result.failed += 1;
            }
        }
    }
    if locked.is_empty() {
        return result;
    }
    let condition = locked[0].0.condition;
    let data = &device_data[condition];
    let spec = &sweep.spec;
    let keys: Vec<RunKey> = locked.iter().map(|(r, _)| r.key).collect();
    let label = group_label(&keys);
    let epochs_left = spec.train.epochs - locked[0].0.state.epoch;
    let bar = progress.group_bar(&label, epochs_left);
    let states: Vec<RunState> = locked.iter().map(|(r, _)| r.state.clone()).collect();
    let mut observer =
        SweepObserver { sweep, keys: &keys, bar: &bar, progress, stop, last_row: None, start_epoch: locked[0].0.state.epoch };
    let hooks = Hooks { snapshot_every: spec.probe.every };
    let trained =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| train_group(&spec.train, hooks, data, states, &mut observer)));
    bar.finish_and_clear();
    let outcomes = match trained {
        Ok(Ok((outcomes, GroupEnd::Finished))) => outcomes,
        Ok(Ok((_, GroupEnd::Interrupted))) => {
            result.interrupted = true;
            return result;
        }
        Ok(Err(e)) => return fail_group(sweep, &keys, &e, progress, result),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            return fail_group(sweep, &keys, &format!("training panicked: {message}"), progress, result);
        }
    };
    for (key, outcome) in keys.iter().zip(outcomes) {
        match finish_run(sweep, key, &outcome) {
            Ok(()) => {
                result.trained += 1;
                if let RunStatus::Diverged { reason } = &outcome.state.status {
                    result.failed += 1;
                    progress.line(&format!("{}: diverged: {reason}", key.rel_dir()));
                } else if let Some(last) = outcome.state.metrics.last() {
                    progress.line(&format!(
                        "{}: done, train_err {:.3}, test_err {:.3}",
                        key.rel_dir(),
                        last.train_err,
                        last.test_err
                    ));
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
    drop(locked);
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
fn group_label(keys: &[RunKey]) -> String {
    let lo = keys.iter().map(|k| k.width).min().unwrap_or(0);
    let hi = keys.iter().map(|k| k.width).max().unwrap_or(0);
    if lo == hi { format!("w{lo} x{}", keys.len()) } else { format!("w{lo}-{hi} x{}", keys.len()) }
}

/// Writes a finished run: model.bpk, metrics.csv, run.json, then DONE.
fn finish_run(sweep: &SweepDir, key: &RunKey, outcome: &RunOutcome) -> anyhow::Result<()> {
    let dir = sweep.run_dir(key);
    let state = &outcome.state;
    let bytes = Mlp::from_weights(&state.weights, &Device::flex()).to_bytes().map_err(anyhow::Error::msg)?;
    write_atomic(&dir.join("model.bpk"), &bytes)?;
    write_csv_atomic(&dir.join("metrics.csv"), &state.metrics)?;
    let last = state.metrics.last().cloned().unwrap_or(MetricsRow {
        epoch: 0,
        train_loss: f64::NAN,
        train_err: f64::NAN,
        test_loss: f64::NAN,
        test_err: f64::NAN,
        seconds: 0.0,
    });
    let (status, reason) = match &state.status {
        RunStatus::Diverged { reason } => ("diverged", Some(reason.clone())),
        _ => ("done", None),
    };
    let summary = RunSummary {
        condition: key.condition.label(),
        n_train: key.condition.n_train,
        label_noise: key.condition.label_noise,
        width: key.width,
        depth: state.weights.shape.depth,
        seed: key.seed,
        params: state.weights.shape.params(),
        epochs: state.epoch,
        train_err: last.train_err,
        train_loss: last.train_loss,
        test_err: last.test_err,
        test_loss: last.test_loss,
        noisy_fit: outcome.noisy_fit.is_finite().then_some(outcome.noisy_fit),
        seconds: state.seconds,
        status: status.to_string(),
    };
    sweep.finish_run(key, &RunRecord { summary, reason })?;
    Ok(())
}

/// Connects the training loop to the sweep folder and the progress display.
struct SweepObserver<'a> {
    sweep: &'a SweepDir,
    keys: &'a [RunKey],
    bar: &'a ProgressBar,
    progress: &'a Progress,
    stop: &'a AtomicBool,
    last_row: Option<(usize, MetricsRow)>,
    start_epoch: usize,
}

impl Observer for SweepObserver<'_> {
    fn evaluated(&mut self, run: usize, row: &MetricsRow) {
        // Show the widest model of the group: the one whose curve moves last.
        if run + 1 == self.keys.len() {
            self.last_row = Some((run, row.clone()));
            let key = &self.keys[run];
            self.bar.set_message(format!(
                "w{} s{}: train_err {:.3} test_err {:.3}",
                key.width, key.seed, row.train_err, row.test_err
            ));
        }
    }

    fn epoch_done(&mut self, epoch: usize) {
        self.bar.set_position((epoch - self.start_epoch) as u64);
        self.progress.heartbeat(|| {
            let len = self.bar.length().unwrap_or(0);
            format!(
                "{}: epoch {} of {}; {}",
                self.bar.prefix(),
                self.bar.position() as usize + self.start_epoch,
                len as usize + self.start_epoch,
                self.bar.message()
            )
        });
    }

    fn checkpoint(&mut self, run: usize, state: &RunState) -> Result<(), String> {
        self.sweep.write_checkpoint(&self.keys[run], &state.to_bytes()).map_err(|e| e.to_string())
    }

    fn snapshot(&mut self, run: usize, epoch: usize, weights: &MlpWeights) -> Result<(), String> {
        let path = self.sweep.run_dir(&self.keys[run]).join("snapshots").join(format!("e{epoch}.bpk"));
        let bytes = Mlp::from_weights(weights, &Device::flex()).to_bytes()?;
        write_atomic(&path, &bytes).map_err(|e| e.to_string())
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
