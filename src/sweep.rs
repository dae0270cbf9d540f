//! `ddlab sweep`: resolve everything, train what is not finished, then probe, analyse, plot and report.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use ddlab_config::load_spec;
use ddlab_store::SweepDir;
use ddlab_sweep::{
    Mode, TrainOptions, available_memory, check_training_memory, default_jobs, prepare_conditions, train_sweep, training_memory,
    write_noise_files,
};
use ddlab_train::Packing;

use crate::cli::SweepArgs;
use crate::{backend, data_dir, default_experiment, signals};

pub fn run(args: SweepArgs, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    // Parse and resolve: nothing touches the disk until the spec and the data are known to be good.
    let file = args.experiment.clone().unwrap_or_else(default_experiment);
    let spec = load_spec(&file)?;
    let device = backend::device(args.device.backend)?;
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let mode = Mode::detect(args.quiet);

    let options = TrainOptions {
        jobs: args.device.jobs.unwrap_or_else(default_jobs),
        packing: if args.no_pack { Packing::Separate } else { Packing::default() },
        retry_failed: args.retry_failed,
    };
    if !args.force {
        match available_memory() {
            Some(available) => {
                check_training_memory(&training_memory(&spec, &prepared, options.packing), options.jobs, available)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            }
            None => eprintln!("note: this system does not report its available memory; the sweep's memory is not checked"),
        }
    }

    // Act.
    let sweep = SweepDir::create(&args.runs_dir, &spec)?;
    write_noise_files(&sweep, &prepared)?;
    if mode != Mode::Quiet {
        println!("sweep {} ({} runs) on {}", sweep.root.display(), spec.runs().len(), backend::name(args.device.backend));
    }
    let outcome = signals::while_training(stop, || train_sweep(&sweep, &prepared, &device, options, mode, stop))?;
    let finished = sweep.write_runs_csv()?;
    if outcome.interrupted || stop.load(Ordering::Relaxed) {
        eprintln!("interrupted: every run in progress was checkpointed; run the same command again to resume");
        return Ok(ExitCode::from(signals::INTERRUPTED));
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
    if outcome.busy > 0 {
        // Probing now would report a sweep with holes; the other process reports it when its runs are done.
        println!(
            "another ddlab process is training {} runs: run this command again when it is done to probe and report",
            outcome.busy
        );
        return Ok(ExitCode::SUCCESS);
    }
    ddlab_sweep::probe_sweep(&sweep, &prepared, &device, options.jobs, args.quiet)?;
    ddlab_sweep::analyze(&sweep.root, args.quiet)?;
    ddlab_sweep::plot(&sweep.root, args.quiet)?;
    let report = ddlab_sweep::report(&sweep.root, args.quiet)?;
    if args.quiet {
        println!("report: {}", report.display());
    }
    Ok(if outcome.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
