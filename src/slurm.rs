//! `ddlab slurm`: a sweep as a Slurm job array. It resolves the spec, creates the sweep folder, writes
//! `slurm/array.sbatch` (one task per shard: `ddlab sweep` inside an array task trains its shard only)
//! and `slurm/finish.sbatch` (after the whole array: runs.csv, probes, analysis, figures, report, and
//! the runs that are missing) and, with `--submit`, submits both. Given a study file it does so for each
//! of the study's sweeps and adds the study job (`slurm/study.sbatch` in the study folder), which runs
//! after every sweep's finish job and writes the study.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::Context;
use ddlab_config::{Spec, is_study_file, load_spec, load_study};
use ddlab_store::{SlurmJobs, SlurmPlan, SweepDir};
use ddlab_sweep::{claim_sweeps, prepare_conditions};

use crate::cli::SlurmArgs;
use crate::data_dir;

/// Tasks by default: one per pack of the plan, at most this many (many tiny jobs annoy schedulers, and
/// one task should train many runs).
const DEFAULT_MAX_TASKS: usize = 16;

pub fn run(args: SlurmArgs) -> anyhow::Result<()> {
    check_args(&args)?;
    if is_study_file(&args.experiment) {
        return run_study(&args);
    }
    let experiment = std::path::absolute(&args.experiment).with_context(|| format!("{}", args.experiment.display()))?;
    let spec = load_spec(&experiment)?;
    let submit = args.submit.then(|| which("sbatch")).transpose()?;
    let jobs = write_sweep_jobs(&args, &experiment, &spec)?;
    let Some(sbatch) = submit else {
        println!(
            "submit them with: ddlab slurm {} --submit   (or sbatch them yourself, the finish job with --dependency=afterany:<array job>)",
            args.experiment.display()
        );
        return Ok(());
    };
    let (array_id, finish_id) = submit_sweep_jobs(&sbatch, &jobs)?;
    println!("follow: squeue -j {array_id},{finish_id}   or   ddlab status {} --slurm", jobs.sweep.root.display());
    Ok(())
}

/// The flags' values that sbatch cannot take, refused before anything is written.
fn check_args(args: &SlurmArgs) -> anyhow::Result<()> {
    if let Some(0) = args.tasks {
        anyhow::bail!("--tasks must be at least 1");
    }
    if let Some(0) = args.array_limit {
        anyhow::bail!("--array-limit must be at least 1");
    }
    if let Some(0) = args.cpus_per_task {
        anyhow::bail!("--cpus-per-task must be at least 1");
    }
    for (flag, value) in [
        ("--partition", &args.partition),
        ("--time", &args.time),
        ("--mem", &args.mem),
        ("--account", &args.account),
        ("--qos", &args.qos),
    ] {
        if let Some(v) = value {
            anyhow::ensure!(!v.trim().is_empty() && !v.contains(['\n', '\r']), "{flag}: `{v}` is not a value sbatch can take");
        }
    }
    for extra in &args.sbatch_arg {
        anyhow::ensure!(
            extra.starts_with('-') && !extra.contains(['\n', '\r']),
            "--sbatch-arg `{extra}`: give one sbatch option, such as --constraint=avx2"
        );
    }
    Ok(())
}

/// One sweep's written jobs.
struct SweepJobs {
    sweep: SweepDir,
    tasks: usize,
}

/// The `#SBATCH` lines both jobs of every sweep (and a study's job) share.
fn common_lines(args: &SlurmArgs) -> Vec<String> {
    let mut common = Vec::new();
    let mut option = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            common.push(format!("#SBATCH --{name}={v}"));
        }
    };
    option("partition", &args.partition);
    option("time", &args.time);
    option("mem", &args.mem);
    option("account", &args.account);
    option("qos", &args.qos);
    common.push(format!("#SBATCH --cpus-per-task={}", cpus(args)));
    common.extend(args.sbatch_arg.iter().map(|a| format!("#SBATCH {a}")));
    common
}

fn cpus(args: &SlurmArgs) -> usize {
    args.cpus_per_task.unwrap_or(2)
}

/// Plans a sweep's shards and writes its array and finish scripts and its plan into its folder.
fn write_sweep_jobs(args: &SlurmArgs, experiment: &Path, spec: &Spec) -> anyhow::Result<SweepJobs> {
    // The data must load here before anything is written or submitted.
    prepare_conditions(spec, &data_dir())?;
    let runs = spec.runs().len();
    let packs = ddlab_sweep::assign_shards(spec, runs).into_iter().max().unwrap_or(1);
    let tasks = match args.tasks {
        Some(t) => t,
        // A weight-reuse sweep trains its widths in a chain: one task.
        None if spec.model.weight_reuse => 1,
        None => packs.clamp(1, DEFAULT_MAX_TASKS),
    };
    ddlab_sweep::check_shardable(spec, tasks, &format!("--tasks {tasks}"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", experiment.display()))?;
    let cpus = cpus(args);
    let runs_dir = std::path::absolute(&args.runs_dir)?;
    let sweep = SweepDir::create(&runs_dir, spec)?;
    let exe = std::env::current_exe().context("cannot find this ddlab binary")?;
    let data = std::path::absolute(data_dir())?;
    let common = common_lines(args);
    let logs = sweep.slurm_logs_dir();
    let backend = crate::bench::backend_flag(args.backend);
    let sweep_command = |extra: &str| {
        format!(
            "exec {} sweep {} --runs-dir {} --backend {backend} --jobs {cpus} --quiet{extra}",
            quote(&exe),
            quote(experiment),
            quote(&runs_dir)
        )
    };
    let limit = args.array_limit.map(|k| format!("%{k}")).unwrap_or_default();
    let gpus = args.gpus_per_task.map(|g| format!("#SBATCH --gpus-per-task={g}\n")).unwrap_or_default();
    let array = format!(
        "#!/bin/bash
#SBATCH --job-name=ddlab-{name}
#SBATCH --array=0-{last}{limit}
#SBATCH --output={logs}/task-%a.log
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:USR1@{grace}
{gpus}{common}
# One shard of {runs} runs per task (ddlab sweep reads SLURM_ARRAY_TASK_ID). {grace} s before the time
# limit Slurm sends USR1: ddlab checkpoints its runs, requeues this task and exits; the requeued task
# resumes from the checkpoints. `exec` so that the signal reaches ddlab, not a shell.
export DDLAB_DATA_DIR={data}
cd {cwd}
{command}
",
        name = spec.name,
        last = tasks - 1,
        logs = logs.display(),
        grace = args.grace,
        common = common.join("\n"),
        data = quote(&data),
        cwd = quote(&std::env::current_dir()?),
        command = sweep_command(""),
    );
    let finish = format!(
        "#!/bin/bash
#SBATCH --job-name=ddlab-{name}-finish
#SBATCH --output={logs}/finish.log
#SBATCH --open-mode=append
{common}
# After the whole array (--dependency=afterany): runs.csv, probes, analysis, figures and report of what
# the shards trained; lists the runs that are missing, if a task failed.
export DDLAB_DATA_DIR={data}
cd {cwd}
{command}
",
        name = spec.name,
        logs = logs.display(),
        common = common.join("\n"),
        data = quote(&data),
        cwd = quote(&std::env::current_dir()?),
        command = sweep_command(" --finish"),
    );
    let plan = SlurmPlan { tasks, experiment: experiment.to_path_buf() };
    sweep.write_slurm_scripts(&array, &finish)?;
    sweep.write_slurm_plan(&plan)?;
    println!("sweep {} ({runs} runs in {tasks} shards)", sweep.root.display());
    println!("wrote {} and {}", sweep.slurm_array_script().display(), sweep.slurm_finish_script().display());
    Ok(SweepJobs { sweep, tasks })
}

/// Submits a sweep's array and its finish job (after the array); records their IDs. A refused finish
/// job cancels the array.
fn submit_sweep_jobs(sbatch: &Path, jobs: &SweepJobs) -> anyhow::Result<(String, String)> {
    let sweep = &jobs.sweep;
    let array_id = sbatch_submit(sbatch, &[], &sweep.slurm_array_script())?;
    let finish_id = match sbatch_submit(sbatch, &[format!("--dependency=afterany:{array_id}")], &sweep.slurm_finish_script()) {
        Ok(id) => id,
        Err(e) => {
            let _ = Process::new("scancel").arg(&array_id).status();
            return Err(e.context(format!("the finish job was refused, so array job {array_id} was cancelled")));
        }
    };
    sweep.write_slurm_jobs(&SlurmJobs { array: array_id.clone(), finish: finish_id.clone() })?;
    println!("submitted array job {array_id} ({} tasks) and finish job {finish_id} (after the array)", jobs.tasks);
    Ok((array_id, finish_id))
}

/// A study: every sweep's array and finish job, claimed first (two studies may not share a sweep), and
/// the study job after every finish job (`ddlab study FILE --finish`: it trains nothing and writes the
/// study). A refused submission cancels what this command submitted.
fn run_study(args: &SlurmArgs) -> anyhow::Result<()> {
    let file = std::path::absolute(&args.experiment).with_context(|| format!("{}", args.experiment.display()))?;
    let study = load_study(&file)?;
    let submit = args.submit.then(|| which("sbatch")).transpose()?;
    let runs_dir = std::path::absolute(&args.runs_dir)?;
    // Every sweep's data must load before anything is claimed or written.
    for e in &study.experiments {
        prepare_conditions(&e.spec, &data_dir())?;
    }
    let dir = claim_sweeps(&runs_dir, &study)?;
    let mut jobs = Vec::new();
    for e in &study.experiments {
        jobs.push(write_sweep_jobs(args, &std::path::absolute(&e.path)?, &e.spec)?);
    }
    let exe = std::env::current_exe().context("cannot find this ddlab binary")?;
    let script = format!(
        "#!/bin/bash
#SBATCH --job-name=ddlab-{name}
#SBATCH --output={logs}/study.log
#SBATCH --open-mode=append
{common}
# After every sweep's finish job (--dependency=afterany): trains nothing, finishes what a sweep's finish
# job left, and writes the study (study.json, study.md, forest plots).
export DDLAB_DATA_DIR={data}
cd {cwd}
exec {exe} study {file} --runs-dir {runs} --backend {backend} --jobs {cpus} --quiet --finish
",
        name = study.folder_name(),
        logs = dir.slurm_logs_dir().display(),
        common = common_lines(args).join("\n"),
        data = quote(&std::path::absolute(data_dir())?),
        cwd = quote(&std::env::current_dir()?),
        exe = quote(&exe),
        file = quote(&file),
        runs = quote(&runs_dir),
        backend = crate::bench::backend_flag(args.backend),
        cpus = cpus(args),
    );
    dir.write_slurm_script(&script)?;
    println!("study {}: wrote {}", dir.root.display(), dir.slurm_script().display());
    let Some(sbatch) = submit else {
        println!(
            "submit them with: ddlab slurm {} --submit   (or sbatch each sweep's scripts, then the study job with --dependency=afterany:<every finish job>)",
            args.experiment.display()
        );
        return Ok(());
    };
    let mut submitted: Vec<String> = Vec::new();
    let mut finishes = Vec::new();
    let cancel = |ids: &[String]| {
        if !ids.is_empty() {
            let _ = Process::new("scancel").args(ids).status();
        }
    };
    for j in &jobs {
        match submit_sweep_jobs(&sbatch, j) {
            Ok((array, finish)) => {
                submitted.extend([array, finish.clone()]);
                finishes.push(finish);
            }
            Err(e) => {
                cancel(&submitted);
                return Err(e.context("so the study's jobs submitted before it were cancelled"));
            }
        }
    }
    let after = format!("--dependency=afterany:{}", finishes.join(":"));
    let study_id = match sbatch_submit(&sbatch, &[after], &dir.slurm_script()) {
        Ok(id) => id,
        Err(e) => {
            cancel(&submitted);
            return Err(e.context("the study job was refused, so the study's sweep jobs were cancelled"));
        }
    };
    println!("submitted study job {study_id} (after {} finish jobs)", finishes.len());
    println!("follow: squeue -j {},{study_id}", submitted.join(","));
    Ok(())
}

/// Submits a script; the job ID sbatch prints with `--parsable` (`ID` or `ID;cluster`).
fn sbatch_submit(sbatch: &Path, extra: &[String], script: &Path) -> anyhow::Result<String> {
    let out = Process::new(sbatch)
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .with_context(|| format!("cannot run {}", sbatch.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(out.status.success(), "sbatch refused {}: {}", script.display(), stderr.trim());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    anyhow::ensure!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "sbatch printed no job ID for {}: `{}`",
        script.display(),
        stdout.trim()
    );
    Ok(id)
}

/// A program on PATH, or an error saying it is missing.
pub fn which(program: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file()).ok_or_else(|| {
        anyhow::anyhow!(
            "--submit: `{program}` is not on PATH (is this a Slurm login node?); the scripts can be written without --submit"
        )
    })
}

/// A path quoted for bash.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
