//! `ddlab sweep` from start to end: check what can be checked before touching the disk (the shard
//! rule, then the data, prepared, and the training memory), create the folder, train (a shard's runs, or all of them; or nothing, for
//! the finish job), write runs.csv, then probe, analyse, plot and report. Each step's outcome goes to the
//! caller's [`SweepEvents`] (the binary prints them) and the way the sweep ended is returned (the binary
//! picks the exit status from it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use ddlab_config::Spec;
use ddlab_store::{Phases, RunOutcome, RunPhase, SweepDir};

use crate::context::SweepContext;
use crate::{FitData, Mode, Probed, Reported, Shard, SweepError, TrainOptions, TrainOutcome};

/// What `ddlab sweep` was asked to do.
pub struct SweepRequest {
    /// The experiment file, for messages.
    pub experiment: PathBuf,
    pub spec: Spec,
    /// Where the shipped datasets are.
    pub data_dir: PathBuf,
    /// Where sweep folders live.
    pub runs_dir: PathBuf,
    /// Train this shard's runs only (`--shard`, or a Slurm array task); the finish job does the rest.
    pub shard: Option<Shard>,
    /// Train nothing: runs.csv, then probes, analysis, figures and report of what is finished
    /// (`--finish`, a Slurm array's finish job).
    pub finish_only: bool,
    /// Probe, analyse, plot and report after training (not with `--no-probe`).
    pub probe: bool,
    pub options: TrainOptions,
    /// Refuse a sweep whose training needs more memory than the system has (not with `--force`).
    pub check_memory: bool,
    pub mode: Mode,
}

/// What a sweep tells its caller along the way.
pub trait SweepEvents {
    /// A remark for people (the binary prints it on stderr).
    fn note(&self, text: &str);
    /// The folder is ready and training starts: its runs in all, and this process's share of a shard.
    fn started(&self, root: &Path, runs: usize, shard: Option<(Shard, usize)>);
    /// Runs the training (or fitting) of this process's runs; the binary's signal handling wraps it.
    fn training(&self, train: &mut dyn FnMut() -> crate::Result<TrainOutcome>) -> crate::Result<TrainOutcome>;
    /// runs.csv is written: `finished` runs in it; `outcome`: what this process trained.
    fn trained(&self, finished: usize, outcome: &TrainOutcome);
    /// The finish job's runs.csv is written: `finished` of `total` runs; `unfinished` says why each
    /// other run is not.
    fn finishing(&self, finished: usize, total: usize, unfinished: &[String]);
    fn probed(&self, probed: &Probed);
    fn reported(&self, reported: &Reported);
}

/// How a sweep ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepEnd {
    /// Stopped by a signal: every run in progress was checkpointed; the same command resumes.
    Interrupted,
    /// A shard trained its runs (`outcome`); the finish job writes runs.csv and reports.
    Shard { shard: Shard, outcome: TrainOutcome },
    /// A shard with no runs to train (the sweep has fewer packs than shards).
    EmptyShard(Shard),
    /// Trained, and runs.csv written; not probed (`--no-probe`).
    Trained(TrainOutcome),
    /// Trained what this process could; another process still trains `outcome.busy` runs and reports
    /// when it is done.
    OthersTraining(TrainOutcome),
    /// Probed, analysed, plotted and reported; `unfinished` runs are not finished (failed, or not yet
    /// trained: the finish job) and `diverged` runs finished diverged, now or in an earlier process.
    Reported { outcome: TrainOutcome, unfinished: usize, diverged: usize },
}

impl SweepEnd {
    /// Some runs failed, diverged or are not finished: the sweep did what it could (exit status 2).
    pub fn incomplete(&self) -> bool {
        match self {
            SweepEnd::Interrupted | SweepEnd::EmptyShard(_) | SweepEnd::OthersTraining(_) => false,
            SweepEnd::Shard { outcome, .. } | SweepEnd::Trained(outcome) => outcome.failed > 0,
            SweepEnd::Reported { outcome, unfinished, diverged } => outcome.failed > 0 || *unfinished > 0 || *diverged > 0,
        }
    }
}

/// Runs the sweep `request` describes on `device`; `stop` is set by a signal.
pub fn run_sweep(request: SweepRequest, device: &Device, events: &dyn SweepEvents, stop: &AtomicBool) -> crate::Result<SweepEnd> {
    let SweepRequest { experiment, spec, data_dir, runs_dir, shard, finish_only, probe, options, check_memory, mode } = request;
    let in_file = |e: String| SweepError::Other(format!("{}: {e}", experiment.display()));
    if let Some(shard) = shard {
        crate::check_shardable(&spec, shard.count, &format!("shard {shard}")).map_err(in_file)?;
    }
    // Nothing touches the disk until the spec and the data are known to be good.
    let prepared = crate::prepare_conditions(&spec, &data_dir)?;
    // The memory estimate is of training packs; a closed-form fit holds its feature matrix and its SVD.
    let closed_form = spec.model.kind.is_closed_form();
    if check_memory && !finish_only && !closed_form {
        match crate::available_memory() {
            Some(available) => {
                let packs = crate::training_memory(&spec, &prepared, options.packing, options.device_memory);
                crate::check_training_memory(&packs, options.jobs, available).map_err(in_file)?
            }
            None => events.note("this system does not report its available memory; the sweep's memory is not checked"),
        }
    }

    let ctx = SweepContext::new(SweepDir::create(&runs_dir, &spec)?, prepared);
    crate::write_noise_files(&ctx)?;
    if finish_only {
        return finish(&ctx, device, options.jobs, events);
    }
    let runs = match shard {
        Some(shard) => crate::shard_runs(&spec, shard),
        None => spec.runs(),
    };
    events.started(&ctx.dir.root, spec.runs().len(), shard.map(|s| (s, runs.len())));
    if let Some(shard) = shard
        && runs.is_empty()
    {
        return Ok(SweepEnd::EmptyShard(shard));
    }
    let outcome = if closed_form {
        let data = FitData::new(&spec, &ctx.prepared);
        events.training(&mut || crate::fit_sweep(&ctx, &data, device, &runs, options, mode, stop))?
    } else {
        events.training(&mut || crate::train_sweep(&ctx, device, &runs, options, mode, stop))?
    };
    if outcome.interrupted || stop.load(Ordering::Relaxed) {
        if shard.is_none() {
            ctx.dir.write_runs_csv(&ctx.phases()?)?;
        }
        return Ok(SweepEnd::Interrupted);
    }
    if let Some(shard) = shard {
        return Ok(SweepEnd::Shard { shard, outcome });
    }
    let phases = ctx.phases()?;
    let finished = ctx.dir.write_runs_csv(&phases)?;
    events.trained(finished, &outcome);
    if !probe {
        return Ok(SweepEnd::Trained(outcome));
    }
    if outcome.busy > 0 {
        // Probing now would report a sweep with holes; the other process reports it when its runs are done.
        return Ok(SweepEnd::OthersTraining(outcome));
    }
    report_all(&ctx, &phases, device, options.jobs, events)?;
    // Runs that failed or diverged in an earlier process count as they did then: the same sweep folder
    // gives the same exit status however often it is resumed.
    let (unfinished, diverged) = not_done(ctx.spec(), &phases);
    Ok(SweepEnd::Reported { outcome, unfinished, diverged })
}

/// The sweep's runs that are not finished (failed, started, never started) and those that finished
/// diverged.
fn not_done(spec: &Spec, phases: &Phases) -> (usize, usize) {
    let runs = spec.runs();
    let unfinished = runs.iter().filter(|key| !matches!(phases.get(key), RunPhase::Finished(_))).count();
    let diverged = runs.iter().filter(|key| phases.record(key).is_some_and(|r| r.summary.status != RunOutcome::Done)).count();
    (unfinished, diverged)
}

/// The finish job: runs.csv, then probes, analysis, figures and report of what is finished; the runs
/// that are not are listed.
fn finish(ctx: &SweepContext, device: &Device, jobs: usize, events: &dyn SweepEvents) -> crate::Result<SweepEnd> {
    let phases = ctx.phases()?;
    let finished = ctx.dir.write_runs_csv(&phases)?;
    let unfinished: Vec<String> = phases
        .iter()
        .filter_map(|(key, phase)| match phase {
            RunPhase::Finished(_) => None,
            RunPhase::Failed(reason) => Some(format!("{} (failed: {reason})", ctx.spec().run_name(key))),
            RunPhase::Started => Some(format!("{} (interrupted; resumes from its checkpoint)", ctx.spec().run_name(key))),
            RunPhase::Missing => Some(format!("{} (never started)", ctx.spec().run_name(key))),
        })
        .collect();
    events.finishing(finished, ctx.spec().runs().len(), &unfinished);
    if finished == 0 {
        return Err(SweepError::file(&ctx.dir.root, "no run is finished, nothing to probe"));
    }
    report_all(ctx, &phases, device, jobs, events)?;
    let (_, diverged) = not_done(ctx.spec(), &phases);
    Ok(SweepEnd::Reported { outcome: TrainOutcome::default(), unfinished: unfinished.len(), diverged })
}

/// Probes, analysis, figures and report of the runs finished in `phases`.
fn report_all(ctx: &SweepContext, phases: &Phases, device: &Device, jobs: usize, events: &dyn SweepEvents) -> crate::Result<()> {
    events.probed(&crate::probe_sweep(ctx, phases, device, jobs)?);
    events.reported(&crate::analyze_plot_report(&ctx.dir, phases)?);
    Ok(())
}
