//! Sweeps that survive: SIGKILL at random moments, then resume, gives exactly the uninterrupted
//! result; two processes on one folder share the work without training a run twice.

mod util;

use std::path::Path;
use std::time::Duration;

use util::*;

/// Long enough (a few seconds) to be killed mid-training several times.
const LONG: &str = r#"
name = "long"
seeds = [0, 1, 2]
[data]
dataset = "teacher"
pool = 400
dim = 8
classes = 3
n_train = 100
n_test = 100
label_noise = 0.2
[model]
widths = [1, 2, 4, 8, 16, 32, 64, 128]
[train]
loss = "ce"
lr = 0.01
epochs = 4000
eval_every = 50
checkpoint_every = 50
"#;

/// Every run marked DONE has complete, readable results.
fn assert_finished_runs_complete(sweep: &Path) {
    for entry in files(sweep).iter().filter(|f| f.ends_with("/DONE")) {
        let run = sweep.join(entry).parent().unwrap().to_path_buf();
        let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
        assert_eq!(record["summary"]["epochs"], 4000, "{}", run.display());
        let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(metrics.lines().count(), 1 + 80, "{}", run.display());
        assert!(std::fs::metadata(run.join("model.bpk")).unwrap().len() > 0);
    }
}

#[test]
fn sweeps_killed_at_random_moments_resume_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "long.toml", LONG);
    let straight = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "straight", "--no-probe", "--quiet"], dir.path());
    assert!(straight.status.success(), "{}", stderr(&straight));
    let expected = results(&sweep_folder(&dir.path().join("straight")));

    // Kill moments from a fixed linear congruential sequence: random-looking, reproducible.
    let mut state: u64 = 2026;
    let mut kills = Vec::new();
    for _ in 0..6 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let after = Duration::from_millis(150 + (state >> 33) % 700);
        let mut child = ddlab()
            .args(["sweep", file.to_str().unwrap(), "--runs-dir", "killed", "--no-probe", "--quiet"])
            .current_dir(dir.path())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        kills.push((after, finished));
        let killed = dir.path().join("killed");
        if killed.exists() {
            for sweep in std::fs::read_dir(&killed).unwrap().flatten() {
                assert_finished_runs_complete(&sweep.path());
            }
        }
    }
    assert!(kills.iter().any(|(_, finished)| !finished), "at least one kill lands mid-sweep: {kills:?}");
    let resumed = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "killed", "--no-probe", "--quiet"], dir.path());
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let sweep = sweep_folder(&dir.path().join("killed"));
    assert_finished_runs_complete(&sweep);
    assert_eq!(results(&sweep), expected, "resumed sweep differs from the uninterrupted one (kills: {kills:?})");
    let leftovers: Vec<String> =
        files(&sweep).into_iter().filter(|f| f.contains("/runs/") && (f.contains(".tmp-") || f.contains("checkpoint"))).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// SIGINT (and SIGTERM) checkpoint every run in progress and exit 130; the same command resumes.
#[test]
fn an_interrupted_sweep_checkpoints_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "long.toml", LONG);
    let straight = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "straight", "--no-probe", "--quiet"], dir.path());
    assert!(straight.status.success());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let runs_dir = format!("signal{signal}");
        let child = ddlab()
            .args(["sweep", file.to_str().unwrap(), "--runs-dir", &runs_dir, "--no-probe"])
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(600));
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
        let sweep = sweep_folder(&dir.path().join(&runs_dir));
        let checkpoints = files(&sweep).iter().filter(|f| f.ends_with("checkpoint.bin")).count();
        assert!(checkpoints > 0, "the runs in progress were checkpointed");
        let resumed = run(&["sweep", file.to_str().unwrap(), "--runs-dir", &runs_dir, "--no-probe", "--quiet"], dir.path());
        assert!(resumed.status.success());
        assert_eq!(results(&sweep), results(&sweep_folder(&dir.path().join("straight"))));
    }
}

#[test]
fn two_sweeps_on_one_folder_share_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(
        dir.path(),
        "long.toml",
        &LONG.replace("epochs = 4000", "epochs = 1500").replace("eval_every = 50", "eval_every = 1500"),
    );
    let start = || {
        ddlab()
            .args(["sweep", file.to_str().unwrap(), "--runs-dir", "shared", "--no-probe"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{}\n{}", stderr(&a), stderr(&b));
    let trained: Vec<String> = [stdout(&a), stdout(&b)]
        .iter()
        .flat_map(|o| {
            o.lines()
                .filter(|l| l.contains(": done, train_err"))
                .map(|l| l.split_whitespace().find(|t| t.contains("/w")).unwrap().trim_end_matches(':').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut unique = trained.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), trained.len(), "a run was trained twice: {trained:?}");
    assert_eq!(trained.len(), 24, "every run trained once: {trained:?}");
    let solo = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "solo", "--no-probe", "--quiet"], dir.path());
    assert!(solo.status.success());
    assert_eq!(results(&sweep_folder(&dir.path().join("shared"))), results(&sweep_folder(&dir.path().join("solo"))));
}

/// A seed that finishes after the sweep was probed enters the seed-ensemble and kW rows when the sweep
/// is probed again (they were kept as they were before).
#[test]
fn seeds_finished_later_enter_the_seed_ensemble_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "tiny.toml", TINY);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet", "--no-probe"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    // Unfinish seed 1 at width 8 (its DONE removed), probe the sweep with one seed there.
    std::fs::remove_file(sweep.join("runs/n60-noise0.2/w8-s1/DONE")).unwrap();
    let out = run(&["probe", sweep.to_str().unwrap(), "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let seeds_at_8 = || -> Option<String> {
        let text = std::fs::read_to_string(sweep.join("probes/n60-noise0.2/w8.csv")).unwrap();
        text.lines()
            .find(|l| l.contains(",trained,") && l.contains(",seed_ensemble,seeds,"))
            .map(|l| l.split(',').nth(9).unwrap().to_string())
    };
    assert_eq!(seeds_at_8(), None, "one finished seed: no seed ensemble at width 8");
    // Finish it again (the same command trains what is missing), then probe: both seeds are in.
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(seeds_at_8().as_deref(), Some("2.0"));
    let kw = std::fs::read_to_string(sweep.join("probes/n60-noise0.2/kw.csv")).unwrap();
    assert!(kw.lines().any(|l| l.contains(",4,1,trained,") && l.contains("kw_err_diff_k2")), "width 4 against 8, seed 1:\n{kw}");
}
