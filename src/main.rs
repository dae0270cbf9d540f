//! The `ddlab` binary: argument parsing and glue. The work lives in the crates under `crates/`; this is
//! the only place that names a concrete Burn device.

mod backend;
mod bench;
mod cli;
mod signals;
mod slurm;
mod status;
mod study;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// mimalloc instead of glibc's malloc: Burn allocates a fresh buffer for every op, and glibc serves the
/// large ones with mmap, so every op paid page faults (measured: docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The exit code of a command line clap cannot parse (an unknown flag, a missing argument): 64, BSD's
/// EX_USAGE, since clap's own 2 means "some runs failed or diverged" here (README, Commands).
const USAGE_ERROR: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version come this way too, and are not errors.
            let code = if err.exit_code() == 0 { 0 } else { USAGE_ERROR };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match try_main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn try_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let stop = signals::install()?;
    match cli.command {
        Command::Sweep(args) => sweep::run(args, &stop),
        Command::Study(args) => study::run(args, &stop),
        Command::Probe(args) => probe(&args).map(|_| ExitCode::SUCCESS),
        Command::Analyze(args) => sweep::analyze_stage(&args.sweep, args.quiet).map(|_| ExitCode::SUCCESS),
        Command::Plot(args) => sweep::plot_stage(&args.sweep, args.quiet).map(|_| ExitCode::SUCCESS),
        Command::Report(args) => sweep::report_stage(&args.sweep, args.quiet).map(|_| ExitCode::SUCCESS),
        Command::Status(args) => status::run(&args),
        Command::Slurm(args) => slurm::run(args).map(|_| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args).map(|_| ExitCode::SUCCESS),
        Command::BenchChild(args) => bench::child_main(args).map(|_| ExitCode::SUCCESS),
        Command::Calibrate(args) => calibrate(&args),
        Command::Devices => backend::list_devices().map(|_| ExitCode::SUCCESS),
        Command::Keys => {
            print!("{}", ddlab_config::keys_markdown());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `ddlab probe`: the sweep's data again, then every run not probed yet.
fn probe(args: &cli::FolderArgs) -> anyhow::Result<()> {
    let chosen = backend::choose(args.device.backend)?;
    let ctx = ddlab_sweep::SweepContext::open(&args.sweep, &data_dir())?;
    let jobs = args.device.jobs.unwrap_or_else(ddlab_sweep::default_jobs);
    let probed = ddlab_sweep::probe_sweep(&ctx, &ctx.phases()?, &chosen.device, jobs)?;
    if !args.quiet {
        println!("{probed}");
    }
    Ok(())
}

/// `ddlab calibrate`: the calibration table, and exit 2 when a rate misses its target.
fn calibrate(args: &cli::CalibrateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.draws > 0, "--draws must be at least 1");
    let start = std::time::Instant::now();
    let letters = ddlab_analysis::scenario_letters();
    if let Some(unknown) = args.only.iter().find(|l| !letters.contains(&l.trim())) {
        anyhow::bail!("--only: no scenario ({unknown}); the scenarios are {}", letters.join(", "));
    }
    let options =
        ddlab_analysis::CalibrationOptions { draws: args.draws, seed: args.seed, only: args.only.clone(), ..Default::default() };
    let rows = ddlab_analysis::calibrate(&options);
    println!("{}", ddlab_analysis::calibration_table_markdown(&rows));
    println!("{} draws per row, seed {}, {:.1} s", args.draws, args.seed, start.elapsed().as_secs_f64());
    let missed = rows.iter().filter(|r| !r.pass).count();
    Ok(if missed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// The shipped datasets' folder: `DDLAB_DATA_DIR`, else `data/` of the source tree this binary was
/// built from.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DDLAB_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data")))
}

/// The default experiment file.
pub fn default_experiment() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/default.toml"))
}
