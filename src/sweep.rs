//! `ddlab sweep`: resolve the spec, pick the device and its training plan, then hand the sequence to
//! the driver (`ddlab_sweep::run_sweep`), print what it tells, and pick the exit code from
//! how it ended. With a shard (`--shard I/N`, or inside a Slurm array task) it trains that shard's runs
//! only; with `--finish` it trains nothing and does the rest (the finish job of a Slurm array).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use ddlab_config::{Spec, load_spec};
use ddlab_sweep::{
    Mode, Probed, Reported, Shard, SweepEnd, SweepEvents, SweepRequest, TrainOptions, TrainOutcome, run_sweep, shard_from_slurm,
};

use crate::cli::{SweepArgs, SweepOptions};
use crate::{backend, data_dir, default_experiment, signals};

pub fn run(args: SweepArgs, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    // Parse and resolve; the driver prepares the data before it touches the disk.
    let experiment = args.experiment.clone().unwrap_or_else(default_experiment);
    let spec = load_spec(&experiment)?;
    let end = sweep_one(&args.options, experiment, spec, stop)?;
    Ok(exit_code(&end))
}

/// The exit code of a sweep that ended so: 2 when runs are left, or the interrupted code (after
/// requeueing a Slurm task that asked for it).
pub fn exit_code(end: &SweepEnd) -> ExitCode {
    if matches!(end, SweepEnd::Interrupted) {
        return ExitCode::from(signals::INTERRUPTED);
    }
    if end.incomplete() { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

/// Runs one experiment's sweep as `options` say and prints how it ended.
pub fn sweep_one(args: &SweepOptions, experiment: std::path::PathBuf, spec: Spec, stop: &AtomicBool) -> anyhow::Result<SweepEnd> {
    let shard: Option<Shard> = match args.shard {
        Some(shard) => Some(shard),
        None if args.finish => None,
        None => shard_from_slurm(|name| std::env::var(name).ok()).map_err(|e| anyhow::anyhow!("Slurm array task: {e}"))?,
    };
    let chosen = backend::choose(args.device.backend)?;
    let (packing, jobs, device_memory) = backend::plan(&chosen, &args.device, args.no_pack);
    let request = SweepRequest {
        experiment,
        spec,
        data_dir: data_dir(),
        runs_dir: args.runs_dir.clone(),
        shard,
        finish_only: args.finish,
        probe: !args.no_probe,
        options: TrainOptions { jobs, packing, device_memory, retry_failed: args.retry_failed },
        check_memory: !args.force,
        mode: Mode::detect(args.quiet),
    };
    let device_label = match &chosen.why {
        Some(why) => format!("{} (--backend auto: {why})", chosen.label),
        None => chosen.label.clone(),
    };
    let printer = Printer { quiet: args.quiet, device_label, stop };
    let end = run_sweep(request, &chosen.device, &printer, stop)?;
    match &end {
        SweepEnd::Interrupted => {
            eprintln!("interrupted: every run in progress was checkpointed; run the same command again to resume");
            if signals::requeue_requested() {
                signals::requeue_this_task();
            }
        }
        SweepEnd::EmptyShard(shard) => println!("shard {shard}: no runs to train (the sweep has fewer packs than shards)"),
        // The finish step writes runs.csv, probes and reports once every shard is done.
        SweepEnd::Shard { shard, outcome } => println!(
            "shard {shard}: {} runs trained now, {} failed, {} held by another process",
            outcome.trained, outcome.failed, outcome.busy
        ),
        // Probing now would report a sweep with holes; the other process reports it when its runs are done.
        SweepEnd::OthersTraining(outcome) => println!(
            "another ddlab process is training {} runs: run this command again when it is done to probe and report",
            outcome.busy
        ),
        SweepEnd::Reported { diverged, .. } if *diverged > 0 => println!(
            "{diverged} of the sweep's runs diverged (listed in runs.csv, left out of the analysis; --retry-failed trains them again): exit status 2"
        ),
        SweepEnd::Trained(_) | SweepEnd::Reported { .. } => {}
    }
    Ok(end)
}

/// Prints what the sweep tells, as `--quiet` allows: the report's path always.
struct Printer<'a> {
    quiet: bool,
    device_label: String,
    stop: &'a AtomicBool,
}

impl SweepEvents for Printer<'_> {
    fn note(&self, text: &str) {
        eprintln!("note: {text}");
    }

    fn started(&self, root: &Path, runs: usize, shard: Option<(Shard, usize)>) {
        if !self.quiet {
            let part = shard.map(|(s, n)| format!(", shard {s}: {n} of them")).unwrap_or_default();
            println!("sweep {} ({runs} runs{part}) on {}", root.display(), self.device_label);
        }
    }

    fn training(&self, train: &mut dyn FnMut() -> ddlab_sweep::Result<TrainOutcome>) -> ddlab_sweep::Result<TrainOutcome> {
        signals::while_training(self.stop, train)
    }

    fn trained(&self, finished: usize, outcome: &TrainOutcome) {
        if !self.quiet {
            println!(
                "{finished} runs finished ({} trained now, {} failed, {} held by another process); runs.csv written",
                outcome.trained, outcome.failed, outcome.busy
            );
        }
    }

    fn finishing(&self, finished: usize, total: usize, unfinished: &[String]) {
        println!("{finished} of {total} runs finished; runs.csv written");
        if !unfinished.is_empty() {
            eprintln!("{} runs are not finished (run `ddlab sweep` on the same file to train them):", unfinished.len());
            for line in unfinished {
                eprintln!("  {line}");
            }
        }
    }

    fn probed(&self, probed: &Probed) {
        if !self.quiet {
            println!("{probed}");
        }
    }

    fn reported(&self, reported: &Reported) {
        if !self.quiet {
            say_analyzed(&reported.analyzed);
            say_plotted(&reported.figures_dir, reported.figures);
        }
        // Quiet or not, the report's path is the one line a sweep always ends with.
        println!("report: {}", reported.report.display());
    }
}

fn say_analyzed(analyzed: &ddlab_sweep::Analyzed) {
    if let Some(note) = &analyzed.note {
        eprintln!("note: {note}");
    }
    println!("analysis: {}", analyzed.markdown.display());
}

fn say_plotted(dir: &std::path::Path, count: usize) {
    println!("figures: {} ({count} figures, SVG and PNG)", dir.display());
}

/// `ddlab analyze`: analysis.json and analysis.md.
pub fn analyze_stage(folder: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    let analyzed = ddlab_sweep::analyze(folder)?;
    if !quiet {
        say_analyzed(&analyzed);
    }
    Ok(())
}

/// `ddlab plot`.
pub fn plot_stage(folder: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    let (dir, count) = ddlab_sweep::plot(folder)?;
    if !quiet {
        say_plotted(&dir, count);
    }
    Ok(())
}

/// `ddlab report`.
pub fn report_stage(folder: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    let path = ddlab_sweep::report(folder)?;
    if !quiet {
        println!("report: {}", path.display());
    }
    Ok(())
}
