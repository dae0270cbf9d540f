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
    /// List a sweep's runs by state: done, running, failed, missing; per shard for a Slurm sweep.
    Status(StatusArgs),
    /// Run several experiment files as one study: each its own sweep (resumable, shardable, as `ddlab
    /// sweep`), then the study folder `runs/study-<name>-<hash>`: study.json, study.md (the decision
    /// between the accounts over every sweep, each effect's forest and random-effects pool), forest plots.
    Study(StudyArgs),
    /// Write a sweep's Slurm job array (`slurm/array.sbatch`, one shard per task) and its finish job
    /// (`slurm/finish.sbatch`: probes, analysis, figures, report) into the sweep folder; `--submit` submits both.
    /// Given a study file: the jobs of each of its sweeps, and the study job after them.
    Slurm(SlurmArgs),
    /// Time the default sweep's training: one model at a time vs the scheduler, flex vs ndarray,
    /// throughput against a plain matmul, cores busy, peak memory, and PyTorch when installed.
    Bench(BenchArgs),
    /// Run the analysis on simulated sweeps of known truth (no peak, a planted peak, metrics without a
    /// change point, a pure width trend, a hump, a planted onset) and print each decision's rate against
    /// its target: false alarms at most 5%, power at least 80%.
    Calibrate(CalibrateArgs),
    /// Print the experiment-file key reference (Markdown), as README shows it.
    Keys,
    /// List the compute backends this build has and, for wgpu, every GPU adapter found (or why none
    /// was), and what `--backend auto` picks.
    Devices,
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
    /// Plan as for this kind of device instead of the backend's own (to compare plans on one device).
    #[arg(long, value_enum)]
    pub plan: Option<PlanKind>,
    /// Probe the trained model of the spec's first run (trained before) instead of training.
    #[arg(long)]
    pub probe: bool,
}

/// The scheduler's two plans (crates/train/src/schedule.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanKind {
    /// Narrow runs packed, wide ones alone, one worker per core.
    Cpu,
    /// Packed across widths and seeds up to the memory budget, one stream of packs.
    Gpu,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Experiment file (TOML). Default: experiments/default.toml.
    pub experiment: Option<PathBuf>,
    #[command(flatten)]
    pub options: SweepOptions,
}

#[derive(Args, Debug)]
pub struct StudyArgs {
    /// Study file (TOML): `name` and `experiments`, the experiment files (relative to the study file).
    pub study: PathBuf,
    #[command(flatten)]
    pub options: SweepOptions,
}

/// How a sweep runs: shared by `ddlab sweep` and by each sweep of `ddlab study`.
#[derive(Args, Debug)]
pub struct SweepOptions {
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
    /// Train only shard I of N (1-based, `2/3`): whole packs, balanced by cost, the same on every
    /// machine. No probes, analysis or report (the finish step's work). Inside a Slurm array task the
    /// shard comes from SLURM_ARRAY_TASK_ID / _COUNT / _MIN.
    #[arg(long, value_parser = parse_shard, conflicts_with = "finish")]
    pub shard: Option<ddlab_sweep::Shard>,
    /// Train nothing: write runs.csv, then probe, analyse, plot and report what is finished, and list
    /// the runs that are not (the finish job of a Slurm array).
    #[arg(long)]
    pub finish: bool,
}

fn parse_shard(text: &str) -> Result<ddlab_sweep::Shard, String> {
    text.parse()
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The sweep folder (`runs/<name>-<hash>`).
    pub sweep: PathBuf,
    /// Also ask Slurm (`squeue`) for the state of the sweep's jobs (automatic inside a Slurm allocation).
    #[arg(long)]
    pub slurm: bool,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// Experiment file (TOML), or a study file: then every sweep of the study gets its jobs, and the
    /// study folder a job that writes the study after them.
    pub experiment: PathBuf,
    /// Folder that holds sweep folders (on a file system every node sees).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Submit the array and the finish job (`--dependency=afterany` on the array) with sbatch.
    #[arg(long)]
    pub submit: bool,
    /// Array tasks, one shard each (default: one per pack of the plan, at most 16).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// At most K tasks running at once (`--array=...%K`).
    #[arg(long)]
    pub array_limit: Option<usize>,
    /// Backend the tasks train on.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// sbatch --partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// sbatch --time (per task), for example 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// sbatch --cpus-per-task (and ddlab's --jobs inside each task).
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// sbatch --mem, for example 8G.
    #[arg(long)]
    pub mem: Option<String>,
    /// sbatch --gpus-per-task.
    #[arg(long)]
    pub gpus_per_task: Option<usize>,
    /// sbatch --account.
    #[arg(long)]
    pub account: Option<String>,
    /// sbatch --qos.
    #[arg(long)]
    pub qos: Option<String>,
    /// Seconds before the time limit at which Slurm signals a task (USR1) to checkpoint and requeue itself.
    #[arg(long, default_value_t = 120)]
    pub grace: u64,
    /// Any other sbatch option for both jobs, one per flag (for example --sbatch-arg=--constraint=avx2).
    #[arg(long, allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Compute backend. `auto`: the first discrete GPU when this build has wgpu, else flex.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Worker threads training groups at once (default: the number of cores on CPU, 1 on a GPU).
    #[arg(long, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// GPU memory (GiB) one pack may use (default: 80% of the adapter's memory where known, else 4).
    #[arg(long, value_parser = parse_gib)]
    pub device_memory_gib: Option<f64>,
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a number of workers (1 or more)")),
    }
}

fn parse_gib(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{text}` is not a positive number of GiB")),
    }
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
pub struct CalibrateArgs {
    /// Simulated sweeps per scenario and seed count.
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Seed of the simulations (the table is a pure function of it and the draws).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these scenarios, by letter (`--only u,v`); every scenario by default.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
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
    /// Backend to time (`auto`: a discrete GPU when this build has wgpu, else flex).
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// Skip the one-model-at-a-time configuration (slow on large sweeps).
    #[arg(long)]
    pub no_separate: bool,
    /// On a GPU, also time the CPU plan on the same device (what the device-specific plan gains).
    #[arg(long)]
    pub compare_plans: bool,
    /// Device of the PyTorch reference: cpu (one process per core) or cuda (one process).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub torch_device: String,
    /// The PyTorch reference's strategies (scripts/bench_torch.py): model by model, the seeds of a width
    /// packed in one batched model, and that under torch.compile (not by default: on 2 cores its compile
    /// time made the default sweep 4.9x slower than packed, README "Speed"). ddlab is compared with the
    /// fastest of those run.
    #[arg(long, value_delimiter = ',', default_value = "separate,packed", value_parser = ["separate", "packed", "compiled"])]
    pub torch_strategies: Vec<String>,
    /// Time the probes instead: for each width of the experiment, one model (its first seed) trained
    /// and then probed, each in a process of its own; prints seconds and peak memory of both per model.
    #[arg(long)]
    pub probes: bool,
}

/// The compute backends. CPU ones are always built; wgpu only with `--features wgpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The first discrete GPU adapter when this build has wgpu, else flex (says which it picked).
    Auto,
    /// Burn's maintained CPU backend (fastest here).
    Flex,
    /// Burn's ndarray CPU backend.
    Ndarray,
    /// GPU through wgpu (needs a build with `--features wgpu`).
    Wgpu,
}
