//! Argument definitions: each flag declared once, with its doc comment as its `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ddlab: width sweeps of MLPs, the test-error curve with its second descent, and probes of each
/// trained model's internal ensemble of sub-functions.
#[derive(Parser, Debug)]
#[command(name = "ddlab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train every run of an experiment (resuming what is already done), then probe, analyse, plot and
    /// report. Without a file, runs experiments/default.toml.
    Sweep(SweepArgs),
    /// Probe every finished run of a sweep folder (trained and at initialisation): writes probes.csv.
    Probe(FolderArgs),
    /// Analyse a probed sweep: writes analysis.json and analysis.md (the verdict).
    Analyze(FolderArgs),
    /// Draw the figures of an analysed sweep into figures/ (SVG and PNG).
    Plot(FolderArgs),
    /// Write report.html: spec, verdict, figures and runs in one self-contained page.
    Report(FolderArgs),
    /// List a sweep's runs by state: done, running, failed, missing.
    Status(FolderArgs),
    /// Time the default sweep's training: one model at a time vs the scheduler, flex vs ndarray,
    /// throughput against a plain matmul, cores busy, peak memory, and PyTorch when installed.
    Bench(BenchArgs),
    /// Print the experiment-file key reference (Markdown), as README shows it.
    Keys,
    /// (internal) One timed configuration of `ddlab bench`.
    #[command(hide = true)]
    BenchChild(BenchChildArgs),
}

#[derive(Args, Debug)]
pub struct BenchChildArgs {
    /// A resolved spec (spec.toml form).
    #[arg(long)]
    pub spec: PathBuf,
    #[arg(long)]
    pub runs_dir: PathBuf,
    #[arg(long, value_enum)]
    pub backend: Backend,
    #[arg(long)]
    pub jobs: usize,
    /// One model at a time instead of packing.
    #[arg(long)]
    pub separate: bool,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Experiment file (TOML). Default: experiments/default.toml.
    pub experiment: Option<PathBuf>,
    /// Folder that holds sweep folders.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Stop after training (and runs.csv): no probes, analysis, figures or report.
    #[arg(long)]
    pub no_probe: bool,
    /// Train again the runs that failed or diverged.
    #[arg(long)]
    pub retry_failed: bool,
    /// Train each model on its own instead of packing (slower; for comparison).
    #[arg(long)]
    pub no_pack: bool,
    /// Train even when the memory estimate says the sweep cannot fit.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors and the report's path.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// Worker threads training groups at once (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

#[derive(Args, Debug)]
pub struct FolderArgs {
    /// The sweep folder (`runs/<name>-<hash>`).
    pub sweep: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Experiment to time (default: experiments/default.toml).
    pub experiment: Option<PathBuf>,
    /// Train only this many epochs of it (the ratios do not need the full budget).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Skip the PyTorch reference even if PyTorch is installed.
    #[arg(long)]
    pub no_torch: bool,
    /// Skip the ndarray comparison.
    #[arg(long)]
    pub no_ndarray: bool,
    /// Rounds: each runs every configuration (and the PyTorch reference) once; the medians are compared.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
}

/// The compute backends. CPU ones are always built; wgpu only with `--features wgpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Burn's maintained CPU backend (fastest here).
    Flex,
    /// Burn's ndarray CPU backend.
    Ndarray,
    /// GPU through wgpu (needs a build with `--features wgpu`).
    Wgpu,
}
