//! `ddlab sweep`: resolve everything, train what is not finished, then probe, analyse, plot and report.
//! With a shard (`--shard I/N`, or inside a Slurm array task) it trains that shard's runs only; with
//! `--finish` it trains nothing and does the rest (the finish job of a Slurm array).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use ddlab_config::load_spec;
use ddlab_store::{RunPhase, SweepDir};
use ddlab_sweep::{
    FitData, Mode, Shard, TrainOptions, available_memory, check_shardable, check_training_memory, fit_sweep, prepare_conditions,
    shard_from_slurm, shard_runs, train_sweep, training_memory, write_noise_files,
};

use crate::cli::SweepArgs;
use crate::{backend, data_dir, default_experiment, signals};

pub fn run(args: SweepArgs, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    // Parse and resolve: nothing touches the disk until the spec and the data are known to be good.
    let file = args.experiment.clone().unwrap_or_else(default_experiment);
    let spec = load_spec(&file)?;
    let shard: Option<Shard> = match args.shard {
        Some(shard) => Some(shard),
        None if args.finish => None,
        None => shard_from_slurm(|name| std::env::var(name).ok()).map_err(|e| anyhow::anyhow!("Slurm array task: {e}"))?,
    };
    if let Some(shard) = shard {
        check_shardable(&spec, shard.count, &format!("shard {shard}")).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    let chosen = backend::choose(args.device.backend)?;
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let mode = Mode::detect(args.quiet);

    let (packing, jobs, device_memory) = backend::plan(&chosen, &args.device, args.no_pack);
    let options = TrainOptions { jobs, packing, device_memory, retry_failed: args.retry_failed };
    let closed_form = spec.model.kind.is_closed_form();
    // The memory estimate is of training packs; a closed-form fit holds its feature matrix and its SVD.
    if !args.force && !args.finish && !closed_form {
        match available_memory() {
            Some(available) => {
                check_training_memory(&training_memory(&spec, &prepared, options.packing, device_memory), options.jobs, available)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            }
            None => eprintln!("note: this system does not report its available memory; the sweep's memory is not checked"),
        }
    }

    // Act.
    let sweep = SweepDir::create(&args.runs_dir, &spec)?;
    write_noise_files(&sweep, &prepared)?;
    if args.finish {
        return finish(&sweep, &prepared, &chosen, options.jobs, args.quiet);
    }
    let runs = match shard {
        Some(shard) => shard_runs(&spec, shard),
        None => spec.runs(),
    };
    if mode != Mode::Quiet {
        let why = chosen.why.as_ref().map(|w| format!(" (--backend auto: {w})")).unwrap_or_default();
        let part = shard.map(|s| format!(", shard {s}: {} of them", runs.len())).unwrap_or_default();
        println!("sweep {} ({} runs{part}) on {}{why}", sweep.root.display(), spec.runs().len(), chosen.label);
    }
    if let Some(shard) = shard
        && runs.is_empty()
    {
        println!("shard {shard}: no runs to train (the sweep has fewer packs than shards)");
        return Ok(ExitCode::SUCCESS);
    }
    let device = chosen.device;
    let outcome = if closed_form {
        let data = FitData::new(&spec, &prepared);
        signals::while_training(stop, || fit_sweep(&sweep, &data, &device, &runs, options, mode, stop))?
    } else {
        signals::while_training(stop, || train_sweep(&sweep, &prepared, &device, &runs, options, mode, stop))?
    };
    if outcome.interrupted || stop.load(Ordering::Relaxed) {
        if shard.is_none() {
            sweep.write_runs_csv()?;
        }
        eprintln!("interrupted: every run in progress was checkpointed; run the same command again to resume");
        if signals::requeue_requested() {
            signals::requeue_this_task();
        }
        return Ok(ExitCode::from(signals::INTERRUPTED));
    }
    if let Some(shard) = shard {
        // The finish step writes runs.csv, probes and reports once every shard is done.
        println!(
            "shard {shard}: {} runs trained now, {} failed, {} held by another process",
            outcome.trained, outcome.failed, outcome.busy
        );
        return Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    let finished = sweep.write_runs_csv()?;
    if mode != Mode::Quiet {
        println!(
            "{finished} runs finished ({} trained now, {} failed, {} held by another process); runs.csv written",
            outcome.trained, outcome.failed, outcome.busy
        );
    }
    if args.no_probe {
        return Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    if outcome.busy > 0 {
        // Probing now would report a sweep with holes; the other process reports it when its runs are done.
        println!(
            "another ddlab process is training {} runs: run this command again when it is done to probe and report",
            outcome.busy
        );
        return Ok(ExitCode::SUCCESS);
    }
    report_all(&sweep, &prepared, &device, options.jobs, args.quiet)?;
    Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// `--finish`: runs.csv, then probes, analysis, figures and report of what is finished; the runs that
/// are not are listed and make the exit status 2.
fn finish(
    sweep: &SweepDir,
    prepared: &[ddlab_data::Prepared],
    chosen: &backend::Chosen,
    jobs: usize,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let finished = sweep.write_runs_csv()?;
    let mut missing = Vec::new();
    for key in sweep.spec.runs() {
        match sweep.phase(&key)? {
            RunPhase::Finished(_) => {}
            RunPhase::Failed(reason) => missing.push(format!("{} (failed: {reason})", key.rel_dir())),
            RunPhase::Started => missing.push(format!("{} (interrupted; resumes from its checkpoint)", key.rel_dir())),
            RunPhase::Missing => missing.push(format!("{} (never started)", key.rel_dir())),
        }
    }
    println!("{finished} of {} runs finished; runs.csv written", sweep.spec.runs().len());
    if !missing.is_empty() {
        eprintln!("{} runs are not finished (run `ddlab sweep` on the same file to train them):", missing.len());
        for line in &missing {
            eprintln!("  {line}");
        }
    }
    anyhow::ensure!(finished > 0, "{}: no run is finished, nothing to probe", sweep.root.display());
    report_all(sweep, prepared, &chosen.device, jobs, quiet)?;
    Ok(if missing.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Probes, analysis, figures and report.
fn report_all(
    sweep: &SweepDir,
    prepared: &[ddlab_data::Prepared],
    device: &burn::tensor::Device,
    jobs: usize,
    quiet: bool,
) -> anyhow::Result<()> {
    let probed = ddlab_sweep::probe_sweep(sweep, prepared, device, jobs)?;
    if !quiet {
        println!("{probed}");
    }
    let reported = ddlab_sweep::analyze_plot_report(&sweep.root)?;
    if !quiet {
        say_analyzed(&reported.analyzed);
        say_plotted(&reported.figures_dir, reported.figures);
    }
    // Quiet or not, the report's path is the one line a sweep always ends with.
    println!("report: {}", reported.report.display());
    Ok(())
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
