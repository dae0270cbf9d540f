//! A sweep as a Slurm job array, against a real Slurm (scripts/slurm-local.sh starts one on this machine;
//! `.ci/run` does, and sets DDLAB_REQUIRE_SLURM). `ddlab slurm --submit --tasks 3`, one task sent Slurm's
//! time-limit warning (USR1) while it trains, so that it checkpoints and requeues itself, the finish job: runs.csv equals a one-machine `ddlab sweep` of the same file in every
//! column but the wall time, and probes, analysis and report exist.

mod util;

use std::process::Command;
use std::time::{Duration, Instant};

use util::*;

/// Three shards that each train for several seconds on one core (so one can be requeued mid-training).
const SWEEP: &str = r#"
name = "slurm"
seeds = [0, 1]
[data]
dataset = "digits"
n_train = 300
n_test = 200
label_noise = 0.2
[model]
widths = [1, 2, 4, 8, 32, 64, 128, 256]
[train]
loss = "ce"
epochs = 10000
eval_every = 500
checkpoint_every = 25
[probe]
probe_set = 100
"#;

/// The real-Slurm tests share one small cluster (2 CPUs in CI): run one at a time, so that neither's
/// timing (a task caught mid-training and requeued) depends on the other's jobs.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn slurm_is_up() -> bool {
    Command::new("sinfo").args(["-h", "-o", "%T"]).output().is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

fn squeue(ids: &str, format: &str) -> String {
    let out = Command::new("squeue").args(["-h", "-j", ids, "-o", format]).output().expect("squeue");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm-local.sh start (CI runs it with DDLAB_REQUIRE_SLURM=1)"]
fn a_slurm_array_with_a_requeued_task_finishes_the_sweep_one_machine_would() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        let required = std::env::var_os("DDLAB_REQUIRE_SLURM").is_some();
        panic!(
            "no Slurm answers sinfo{}: start one with `scripts/slurm-local.sh start`",
            if required { " although DDLAB_REQUIRE_SLURM is set" } else { "" }
        );
    }
    let start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "slurm.toml", SWEEP);
    let file = file.to_str().unwrap();

    // A submission the scheduler refuses (no such partition) is an error that says so; nothing is queued.
    let refused = run(&["slurm", file, "--runs-dir", "refused", "--submit", "--partition", "no-such-partition"], dir.path());
    assert!(!refused.status.success(), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("sbatch refused") && stderr(&refused).contains("partition"), "{}", stderr(&refused));
    assert!(!sweep_folder(&dir.path().join("refused")).join("slurm/jobs.toml").exists());

    let submitted =
        run(&["slurm", file, "--runs-dir", "cluster", "--submit", "--tasks", "3", "--cpus-per-task", "1"], dir.path());
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let out = stdout(&submitted);
    let line = out.lines().find(|l| l.starts_with("submitted array job")).unwrap_or_else(|| panic!("{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let (array, finish) = (words[3].to_string(), words[9].to_string());
    let sweep = sweep_folder(&dir.path().join("cluster"));
    assert!(sweep.join("slurm/array.sbatch").is_file() && sweep.join("slurm/finish.sbatch").is_file());

    // Requeue the first task seen training (it has checkpointed at least once).
    let ids = format!("{array},{finish}");
    let requeued = loop {
        assert!(start.elapsed() < Duration::from_secs(300), "no task started training: {}", squeue(&ids, "%i %T %R"));
        let running: Vec<String> = squeue(&array, "%i %T")
            .lines()
            .filter(|l| l.ends_with("RUNNING"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        let checkpoints = files(&sweep).iter().filter(|f| f.ends_with("checkpoint.bin")).count();
        if let Some(task) = running.first()
            && checkpoints > 0
        {
            break task.clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Slurm's warning before a time limit (what `--signal=B:USR1@<grace>` sends): ddlab checkpoints,
    // requeues its own task and exits.
    let status = Command::new("scancel").args(["--signal=USR1", "--batch", &requeued]).status().unwrap();
    assert!(status.success(), "scancel --signal=USR1 {requeued}");
    // A requeued job waits for a begin time Slurm sets two minutes ahead; let it start now.
    let start_now = || Command::new("scontrol").args(["update", &format!("JobId={requeued}"), "StartTime=now"]).output();

    // During the array, `ddlab status` shows the shards.
    let status = run(&["status", sweep.to_str().unwrap(), "--slurm"], dir.path());
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("shard 3/3"), "{}", stdout(&status));

    while !squeue(&ids, "%i").trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(900), "jobs still queued: {}", squeue(&ids, "%i %T %R"));
        let _ = start_now();
        std::thread::sleep(Duration::from_millis(500));
    }
    let task = requeued.split('_').nth(1).unwrap();
    let log = std::fs::read_to_string(sweep.join(format!("slurm/logs/task-{task}.log"))).unwrap();
    assert!(log.contains("interrupted"), "task {requeued} was not stopped by USR1: {log}");
    // Slurm answers the requeue with SIGTERM, which may end the task before `scontrol` returns: the
    // intent is logged first, and the requeue shows as the task's second start finishing its shard.
    let requeue_line = format!("requeueing Slurm job {requeued}");
    assert!(log.contains(&requeue_line), "task {requeued} did not requeue itself: {log}");
    let (_, after) = log.split_once(&requeue_line).unwrap();
    assert!(after.contains("runs trained now"), "the requeued task did not finish its shard: {log}");
    let finish_log = std::fs::read_to_string(sweep.join("slurm/logs/finish.log")).unwrap();
    assert!(finish_log.contains("16 of 16 runs finished"), "{finish_log}");
    for name in ["runs.csv", "probes.csv", "analysis.json", "analysis.md", "report.html"] {
        assert!(sweep.join(name).is_file(), "{name} missing after the finish job: {finish_log}");
    }

    // The same file on one machine.
    let alone = run(&["sweep", file, "--runs-dir", "alone", "--no-probe", "--quiet"], dir.path());
    assert!(alone.status.success(), "{}", stderr(&alone));
    let alone = sweep_folder(&dir.path().join("alone"));
    assert_eq!(results(&sweep), results(&alone), "the cluster's runs.csv differs from the one-machine sweep's");
    eprintln!("slurm end-to-end: {:.0} s", start.elapsed().as_secs_f64());
}

/// A small sweep for the tests that need no Slurm.
const SMALL: &str = r#"
name = "shards"
seeds = [0, 1]
[data]
dataset = "teacher"
pool = 300
dim = 6
classes = 3
n_train = 80
n_test = 60
label_noise = 0.2
[model]
widths = [1, 2, 4, 24, 48]
[train]
loss = "ce"
epochs = 60
eval_every = 20
[probe]
probe_set = 40
"#;

/// Shards run one after another (by flag, and by a Slurm array task's variables), then `--finish`:
/// the same runs.csv as one machine, every run trained once, and an empty shard says so.
#[test]
fn shards_then_finish_equal_the_one_machine_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "small.toml", SMALL);
    let file = file.to_str().unwrap();
    let sweep_in = |runs: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut command = ddlab();
        command.args(["sweep", file, "--runs-dir", runs, "--quiet"]).args(extra).current_dir(dir.path());
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{extra:?} {env:?}: {}", stderr(&out));
        stdout(&out)
    };
    sweep_in("sharded", &["--shard", "1/3"], &[]);
    // Task 7 of an array 3-11:4 (IDs 3, 7, 11) is shard 2/3.
    sweep_in(
        "sharded",
        &[],
        &[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "3"),
            ("SLURM_ARRAY_TASK_MAX", "11"),
        ],
    );
    let sweep = sweep_folder(&dir.path().join("sharded"));
    assert!(!sweep.join("runs.csv").exists(), "a shard writes no runs.csv (the finish step does)");
    let before_last = files(&sweep).iter().filter(|f| f.ends_with("/DONE")).count();
    assert!(before_last > 0 && before_last < 10, "{before_last} runs done after two of three shards");
    sweep_in("sharded", &["--shard", "3/3"], &[]);
    assert_eq!(files(&sweep).iter().filter(|f| f.ends_with("/DONE")).count(), 10);
    let empty = sweep_in("sharded", &["--shard", "9/9"], &[]);
    assert!(empty.contains("no runs to train"), "{empty}");
    let finished = sweep_in("sharded", &["--finish"], &[]);
    assert!(finished.contains("10 of 10 runs finished"), "{finished}");
    assert!(sweep.join("report.html").is_file() && sweep.join("analysis.json").is_file());

    sweep_in("alone", &["--no-probe"], &[]);
    assert_eq!(results(&sweep), results(&sweep_folder(&dir.path().join("alone"))));
}

/// `--finish` with runs missing lists them and exits 2, after reporting what is finished.
#[test]
fn finish_lists_the_runs_that_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "small.toml", SMALL);
    let file = file.to_str().unwrap();
    let shard = run(&["sweep", file, "--runs-dir", "r", "--quiet", "--shard", "1/2"], dir.path());
    assert!(shard.status.success(), "{}", stderr(&shard));
    let finish = run(&["sweep", file, "--runs-dir", "r", "--quiet", "--finish"], dir.path());
    assert_eq!(finish.status.code(), Some(2), "{}", stderr(&finish));
    assert!(stderr(&finish).contains("runs are not finished"), "{}", stderr(&finish));
    assert!(stderr(&finish).contains("(never started)"), "{}", stderr(&finish));
}

/// `ddlab slurm` without `--submit` writes the two scripts with the user's settings and submits nothing.
#[test]
fn slurm_writes_the_array_and_finish_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "small.toml", SMALL);
    let out = run(
        &[
            "slurm",
            file.to_str().unwrap(),
            "--runs-dir",
            "r",
            "--tasks",
            "4",
            "--array-limit",
            "2",
            "--partition",
            "gpu",
            "--time",
            "01:00:00",
            "--cpus-per-task",
            "3",
            "--mem",
            "4G",
            "--account",
            "lab",
            "--qos",
            "normal",
            "--gpus-per-task",
            "1",
            "--sbatch-arg=--constraint=avx2",
            "--backend",
            "flex",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("r"));
    let array = std::fs::read_to_string(sweep.join("slurm/array.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-3%2",
        "#SBATCH --signal=B:USR1@120",
        "#SBATCH --requeue",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=01:00:00",
        "#SBATCH --cpus-per-task=3",
        "#SBATCH --mem=4G",
        "#SBATCH --account=lab",
        "#SBATCH --qos=normal",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --constraint=avx2",
    ] {
        assert!(array.lines().any(|l| l == line), "array.sbatch lacks `{line}`:\n{array}");
    }
    let exec = array.lines().find(|l| l.starts_with("exec ")).expect("the task execs ddlab");
    assert!(exec.contains(" sweep ") && exec.contains("--backend flex --jobs 3") && !exec.contains("--finish"), "{exec}");
    let finish = std::fs::read_to_string(sweep.join("slurm/finish.sbatch")).unwrap();
    assert!(finish.lines().any(|l| l.starts_with("exec ") && l.ends_with("--finish")), "{finish}");
    assert!(!finish.contains("--array"), "{finish}");
    assert!(!sweep.join("slurm/jobs.toml").exists(), "nothing submitted");
    let status = run(&["status", sweep.to_str().unwrap()], dir.path());
    assert!(stdout(&status).contains("shard 4/4"), "{}", stdout(&status));
}

/// `ddlab slurm STUDY` writes every sweep's array and finish scripts and the study job, which finishes
/// the study after them; with `--submit` and no sbatch it writes nothing.
#[test]
fn slurm_writes_a_studys_jobs() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), "a.toml", &SMALL.replace("name = \"shards\"", "name = \"sa\""));
    experiment(dir.path(), "b.toml", &SMALL.replace("name = \"shards\"", "name = \"sb\""));
    let study = experiment(dir.path(), "study.toml", "name = \"pair\"\nexperiments = [\"a.toml\", \"b.toml\"]\n");
    let study = study.to_str().unwrap();

    let empty_path = tempfile::tempdir().unwrap();
    let refused = ddlab()
        .args(["slurm", study, "--runs-dir", "nothing", "--submit"])
        .env("PATH", empty_path.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("`sbatch` is not on PATH"), "{}", stderr(&refused));
    assert!(!dir.path().join("nothing").exists(), "a refused submission wrote files");

    let out = run(&["slurm", study, "--runs-dir", "r", "--tasks", "2", "--time", "00:30:00"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = dir.path().join("r");
    let mut folders: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().map(|e| e.path()).collect();
    folders.sort();
    let names: Vec<String> = folders.iter().map(|f| f.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for sweep in folders.iter().filter(|f| !f.file_name().unwrap().to_string_lossy().starts_with("study-")) {
        let array = std::fs::read_to_string(sweep.join("slurm/array.sbatch")).unwrap();
        assert!(array.contains("#SBATCH --array=0-1") && array.contains("#SBATCH --time=00:30:00"), "{array}");
        assert!(std::fs::read_to_string(sweep.join("slurm/finish.sbatch")).unwrap().contains("--finish"));
    }
    let study_dir = folders.iter().find(|f| f.file_name().unwrap().to_string_lossy().starts_with("study-pair-")).unwrap();
    assert!(study_dir.join("study.toml").is_file(), "the study's sweeps are claimed");
    let job = std::fs::read_to_string(study_dir.join("slurm/study.sbatch")).unwrap();
    assert!(job.contains(" study ") && job.contains("study.toml") && job.contains("--finish"), "{job}");
    assert!(job.contains("#SBATCH --time=00:30:00"), "{job}");
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm-local.sh start (CI runs it with DDLAB_REQUIRE_SLURM=1)"]
fn a_study_on_slurm_writes_the_study_after_every_sweep() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_is_up() {
        let required = std::env::var_os("DDLAB_REQUIRE_SLURM").is_some();
        panic!("no Slurm answers sinfo{}", if required { " although DDLAB_REQUIRE_SLURM is set" } else { "" });
    }
    let start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), "a.toml", &SMALL.replace("name = \"shards\"", "name = \"sa\""));
    experiment(dir.path(), "b.toml", &SMALL.replace("name = \"shards\"", "name = \"sb\""));
    let study = experiment(dir.path(), "study.toml", "name = \"pair\"\nexperiments = [\"a.toml\", \"b.toml\"]\n");
    let out = run(
        &["slurm", study.to_str().unwrap(), "--runs-dir", "r", "--submit", "--tasks", "2", "--cpus-per-task", "1"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.starts_with("follow: squeue -j ")).unwrap_or_else(|| panic!("{text}"));
    let ids = line.trim_start_matches("follow: squeue -j ").to_string();
    assert_eq!(ids.split(',').count(), 5, "two arrays, two finish jobs, one study job: {ids}");
    // The study job waits for both finish jobs (asked at once, while the arrays still train).
    let jobs: Vec<&str> = ids.split(',').collect();
    let dependency = squeue(jobs[4], "%E");
    for finish in [jobs[1], jobs[3]] {
        assert!(dependency.contains(&format!("afterany:{finish}")), "the study job waits on {dependency}, not on {finish}");
    }
    while !squeue(&ids, "%i").trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(600), "jobs still queued: {}", squeue(&ids, "%i %T %R"));
        std::thread::sleep(Duration::from_millis(500));
    }
    let runs = dir.path().join("r");
    let study_dir = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("study-pair-"))
        .unwrap();
    let log = std::fs::read_to_string(study_dir.join("slurm/logs/study.log")).unwrap_or_default();
    assert!(study_dir.join("study.md").is_file() && study_dir.join("study.json").is_file(), "no study written: {log}");
    eprintln!("slurm study end-to-end: {:.0} s", start.elapsed().as_secs_f64());
}
