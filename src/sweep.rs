//! `ddlab sweep`: resolve everything, train what is not finished, then probe, analyse, plot and report.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use ddlab_config::load_spec;
use ddlab_store::SweepDir;
use ddlab_sweep::{Mode, TrainOptions, default_jobs, prepare_conditions, train_sweep, write_noise_files};
use ddlab_train::Packing;

use crate::cli::SweepArgs;
use crate::{backend, data_dir, default_experiment};

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Parse and resolve: nothing touches the disk until the spec and the data are known to be good.
    let file = args.experiment.clone().unwrap_or_else(default_experiment);
    let spec = load_spec(&file)?;
    let device = backend::device(args.device.backend)?;
    let prepared = prepare_conditions(&spec, &data_dir())?;
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
