//! Inputs that used to hang, panic or take a whole sweep down (each a few seconds of training), and
//! signals in the stages after training. Every case runs the real binary under a deadline, so a hang
//! fails the test instead of stalling the suite.

mod util;

use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use util::*;

/// Waits for `child` at most `limit`; kills it and returns `None` past that.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `ddlab args` in `dir` under a deadline: (exit code, stdout + stderr).
fn run_with_deadline(args: &[&str], dir: &Path, limit: Duration) -> (Option<i32>, String) {
    let out_path = dir.join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = ddlab()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("ddlab starts");
    let status = wait_with_deadline(&mut child, limit);
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    match status {
        Some(s) => (s.code(), text),
        None => panic!("ddlab {} did not finish within {limit:?}; output so far:\n{text}", args.join(" ")),
    }
}

/// A tiny teacher experiment with `widths` (and `extra` lines appended to [train]).
fn tiny(widths: &str, seeds: &str, extra_train: &str) -> String {
    format!(
        "seeds = {seeds}\n[data]\ndataset = \"teacher\"\npool = 200\ndim = 5\nclasses = 3\nn_train = 40\nn_test = 40\n[model]\nwidths = {widths}\n[train]\nloss = \"ce\"\nepochs = 20\neval_every = 10\n{extra_train}[probe]\nprobe_set = 40\ndraws = 2\n"
    )
}

fn sweep_to_the_end(dir: &Path, text: &str) -> (Option<i32>, String) {
    let file = experiment(dir, "exp.toml", text);
    let runs = dir.join("runs");
    run_with_deadline(
        &["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--quiet"],
        dir,
        Duration::from_secs(120),
    )
}

/// Two close widths and a single width used to spin forever in the figures' log-scale ticks.
#[test]
fn sweeps_with_one_width_or_two_close_widths_finish_with_a_report() {
    for widths in ["[2, 4]", "[3]", "[8, 9]"] {
        for seeds in ["[0]", "[0, 1]"] {
            let dir = tempfile::tempdir().unwrap();
            let (code, out) = sweep_to_the_end(dir.path(), &tiny(widths, seeds, ""));
            assert_eq!(code, Some(0), "widths {widths}, seeds {seeds}:\n{out}");
            let sweep = sweep_folder(&dir.path().join("runs"));
            for file in ["analysis.md", "report.html", "figures/index.json"] {
                assert!(sweep.join(file).exists(), "widths {widths}, seeds {seeds}: {file} missing\n{out}");
            }
        }
    }
}

/// A diverged run (lr = 1e30) used to make runs.csv unreadable and the sweep unusable.
#[test]
fn a_diverged_run_is_reported_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = sweep_to_the_end(dir.path(), &tiny("[2, 8]", "[0, 1]", "optimizer = \"sgd\"\nlr = 1e30\n"));
    assert_eq!(code, Some(2), "diverged runs make the exit code 2:\n{out}");
    let sweep = sweep_folder(&dir.path().join("runs"));
    let runs_csv = std::fs::read_to_string(sweep.join("runs.csv")).expect("runs.csv written");
    let header: Vec<&str> = runs_csv.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("runs.csv has {name}"));
    let (status, reason, loss) = (column("status"), column("reason"), column("test_loss"));
    let rows: Vec<Vec<&str>> = runs_csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    let diverged: Vec<&Vec<&str>> = rows.iter().filter(|r| r[status] == "diverged").collect();
    assert!(!diverged.is_empty(), "lr = 1e30 diverges:\n{runs_csv}");
    for row in &diverged {
        assert!(row[reason].contains("training loss became"), "{runs_csv}");
        assert_eq!(row[loss], "", "a loss that does not exist is an empty cell:\n{runs_csv}");
    }
    for row in &rows {
        for name in ["train_err", "train_loss", "test_err", "test_loss"] {
            let cell = row[column(name)];
            assert!(cell.is_empty() || cell.parse::<f64>().unwrap().is_finite(), "{name} = {cell}:\n{runs_csv}");
        }
    }
    // status, and the stages after training, read it back.
    let (code, status_out) = run_with_deadline(&["status", sweep.to_str().unwrap()], dir.path(), Duration::from_secs(30));
    assert_eq!(code, Some(0), "{status_out}");
    assert!(status_out.contains(&format!("diverged: {}", diverged.len())), "{status_out}");
    let analysis = std::fs::read_to_string(sweep.join("analysis.md")).expect("analysis.md written");
    assert!(analysis.contains("diverged"), "analysis.md says how many runs diverged:\n{analysis}");
    // Resumed, or finished again, the same folder gives the same exit status: the diverged runs are
    // still the sweep's, though no run is trained now.
    let file = dir.path().join("exp.toml");
    let runs = dir.path().join("runs");
    for extra in [None, Some("--finish")] {
        let mut args = vec!["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()];
        args.extend(extra);
        let (code, again) = run_with_deadline(&args, dir.path(), Duration::from_secs(120));
        assert_eq!(code, Some(2), "{extra:?}: diverged runs still make the exit code 2:\n{again}");
        assert!(again.contains(&format!("{} of the sweep's runs diverged", diverged.len())), "{extra:?}:\n{again}");
    }
}

/// A dataset too small for the probes used to panic in CKA after training: now refused before.
#[test]
fn a_dataset_too_small_for_the_probes_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("label,a,b\n");
    for i in 0..6 {
        csv.push_str(&format!("{},{}.0,{}.5\n", i % 2, i, 6 - i));
    }
    std::fs::write(dir.path().join("six.csv"), csv).unwrap();
    let text = "seeds = [0, 1]\n[data]\ndataset = \"file\"\nformat = \"csv\"\ntrain = \"six.csv\"\nn_train = 4\n[model]\nwidths = [2, 4]\n[train]\nepochs = 2\n";
    let (code, out) = sweep_to_the_end(dir.path(), text);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("six.csv") && out.contains("the probes need at least 4"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(!dir.path().join("runs").exists(), "nothing is written for a refused sweep");
}

/// A width no machine can hold used to start allocating hundreds of GB: refused at once with figures.
#[test]
fn a_sweep_that_cannot_fit_in_memory_is_refused_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (code, out) = sweep_to_the_end(dir.path(), &tiny("[1000000000]", "[0]", ""));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("model.widths: training needs at least") && out.contains("GB") && out.contains("--force"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20), "refused at once, not after allocating");
    assert!(!dir.path().join("runs").exists(), "nothing is written for a refused sweep");
}

/// SIGTERM in a stage after training: the process stops within two seconds with exit 130, leaves no
/// half-written file, and the same command finishes the work.
#[test]
fn a_signal_stops_the_stages_after_training_and_the_same_command_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let text = tiny("[256, 512, 1024]", "[0, 1, 2]", "")
        .replace("epochs = 20", "epochs = 2")
        .replace("pool = 200", "pool = 3000")
        .replace("n_test = 40", "n_test = 1500")
        .replace("probe_set = 40", "probe_set = 1500");
    let file = experiment(dir.path(), "exp.toml", &text);
    let runs = dir.path().join("runs");
    let (code, out) = run_with_deadline(
        &["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--quiet", "--no-probe"],
        dir.path(),
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{out}");
    let sweep = sweep_folder(&runs);
    // Probing 9 wide models on 1500 inputs, and their seed ensembles, takes longer than the 300 ms before
    // the signal.
    let mut child = ddlab().args(["probe", sweep.to_str().unwrap(), "--quiet"]).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let signalled = Instant::now();
    let status = wait_with_deadline(&mut child, Duration::from_secs(10)).expect("stops after SIGTERM");
    assert!(signalled.elapsed() < Duration::from_secs(2), "stopped in {:?}", signalled.elapsed());
    assert_eq!(status.code(), Some(130));
    assert!(!sweep.join("probes.csv").exists(), "probes.csv is written only when probing is complete");
    let (code, out) = run_with_deadline(&["probe", sweep.to_str().unwrap(), "--quiet"], dir.path(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{out}");
    assert!(sweep.join("probes.csv").exists());
}
