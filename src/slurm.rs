//! `ddlab slurm`: a sweep as a Slurm job array. It resolves the spec, creates the sweep folder, writes
//! `slurm/array.sbatch` (one task per shard: `ddlab sweep` inside an array task trains its shard only)
//! and `slurm/finish.sbatch` (after the whole array: runs.csv, probes, analysis, figures, report, and
//! the runs that are missing) and, with `--submit`, submits both.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::Context;
use ddlab_config::load_spec;
use ddlab_store::{SlurmJobs, SlurmPlan, SweepDir};
use ddlab_sweep::prepare_conditions;

use crate::cli::SlurmArgs;
use crate::data_dir;

/// Tasks by default: one per pack of the plan, at most this many (many tiny jobs annoy schedulers, and
/// one task should train many runs).
const DEFAULT_MAX_TASKS: usize = 16;

pub fn run(args: SlurmArgs) -> anyhow::Result<()> {
    let experiment = std::path::absolute(&args.experiment).with_context(|| format!("{}", args.experiment.display()))?;
    let spec = load_spec(&experiment)?;
    // The data must load here before anything is written or submitted.
    prepare_conditions(&spec, &data_dir())?;
    let runs = spec.runs().len();
    let packs = ddlab_sweep::assign_shards(&spec, runs).into_iter().max().unwrap_or(1);
    let tasks = match args.tasks {
        Some(0) => anyhow::bail!("--tasks must be at least 1"),
        Some(t) => t,
        // A weight-reuse sweep trains its widths in a chain: one task.
        None if spec.model.weight_reuse => 1,
        None => packs.clamp(1, DEFAULT_MAX_TASKS),
    };
    ddlab_sweep::check_shardable(&spec, tasks, &format!("--tasks {tasks}"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", experiment.display()))?;
    if let Some(0) = args.array_limit {
        anyhow::bail!("--array-limit must be at least 1");
    }
    if let Some(0) = args.cpus_per_task {
        anyhow::bail!("--cpus-per-task must be at least 1");
    }
    let cpus = args.cpus_per_task.unwrap_or(2);
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
    let submit = args.submit.then(|| which("sbatch")).transpose()?;

    let runs_dir = std::path::absolute(&args.runs_dir)?;
    let sweep = SweepDir::create(&runs_dir, &spec)?;
    let exe = std::env::current_exe().context("cannot find this ddlab binary")?;
    let data = std::path::absolute(data_dir())?;
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
    common.push(format!("#SBATCH --cpus-per-task={cpus}"));
    common.extend(args.sbatch_arg.iter().map(|a| format!("#SBATCH {a}")));
    let logs = sweep.slurm_logs_dir();
    let backend = crate::bench::backend_flag(args.backend);
    let sweep_command = |extra: &str| {
        format!(
            "exec {} sweep {} --runs-dir {} --backend {backend} --jobs {cpus} --quiet{extra}",
            quote(&exe),
            quote(&experiment),
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
    let plan = SlurmPlan { tasks, experiment: experiment.clone() };
    sweep.write_slurm_scripts(&array, &finish)?;
    sweep.write_slurm_plan(&plan)?;
    println!("sweep {} ({runs} runs in {tasks} shards)", sweep.root.display());
    println!("wrote {} and {}", sweep.slurm_array_script().display(), sweep.slurm_finish_script().display());
    let Some(sbatch) = submit else {
        println!(
            "submit them with: ddlab slurm {} --submit   (or sbatch them yourself, the finish job with --dependency=afterany:<array job>)",
            args.experiment.display()
        );
        return Ok(());
    };
    let array_id = sbatch_submit(&sbatch, &[], &sweep.slurm_array_script())?;
    let finish_id = match sbatch_submit(&sbatch, &[format!("--dependency=afterany:{array_id}")], &sweep.slurm_finish_script()) {
        Ok(id) => id,
        Err(e) => {
            let _ = Process::new("scancel").arg(&array_id).status();
            return Err(e.context(format!("the finish job was refused, so array job {array_id} was cancelled")));
        }
    };
    sweep.write_slurm_jobs(&SlurmJobs { array: array_id.clone(), finish: finish_id.clone() })?;
    println!("submitted array job {array_id} ({tasks} tasks) and finish job {finish_id} (after the array)");
    println!("follow: squeue -j {array_id},{finish_id}   or   ddlab status {} --slurm", sweep.root.display());
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
