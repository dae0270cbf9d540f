//! The sweep folder: atomic writes, exclusive run locks, checkpoint fallback, run phases.

use ddlab_config::parse_spec;
use ddlab_store::*;

fn sweep() -> (tempfile::TempDir, SweepDir) {
    let dir = tempfile::tempdir().unwrap();
    let spec = parse_spec("seeds = [0]\n[data]\ndataset = \"digits\"\nn_train = 10\n[model]\nwidths = [2]\n", "s").unwrap();
    let sweep = SweepDir::create(dir.path(), &spec).unwrap();
    (dir, sweep)
}

#[test]
fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b.txt");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    assert_eq!(std::fs::read_dir(dir.path().join("a")).unwrap().count(), 1);
}

#[test]
fn a_run_lock_is_exclusive_until_dropped() {
    let (_dir, sweep) = sweep();
    let key = sweep.spec.runs()[0];
    let lock = sweep.try_lock(&key).unwrap().expect("free");
    assert!(sweep.try_lock(&key).unwrap().is_none(), "held");
    assert!(sweep.is_locked(&key));
    drop(lock);
    assert!(sweep.try_lock(&key).unwrap().is_some(), "released");
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_previous_one() {
    let (_dir, sweep) = sweep();
    let key = sweep.spec.runs()[0];
    let parse = |b: &[u8]| if b.starts_with(b"ok") { Ok(String::from_utf8_lossy(b).to_string()) } else { Err("bad".to_string()) };
    sweep.write_checkpoint(&key, b"ok-1").unwrap();
    sweep.write_checkpoint(&key, b"ok-2").unwrap();
    assert_eq!(sweep.read_checkpoints(&key, parse, |_| {}), (Some("ok-2".into()), Some("ok-1".into())));
    std::fs::write(sweep.run_dir(&key).join("checkpoint.bin"), b"trunc").unwrap();
    let mut warnings = Vec::new();
    assert_eq!(sweep.read_checkpoints(&key, parse, |w| warnings.push(w)), (Some("ok-1".into()), None));
    assert!(warnings[0].contains("checkpoint.bin"));
    assert_eq!(sweep.phase(&key).unwrap(), RunPhase::Started);
}

#[test]
fn done_is_what_makes_a_run_finished() {
    let (_dir, sweep) = sweep();
    let key = sweep.spec.runs()[0];
    assert_eq!(sweep.phase(&key).unwrap(), RunPhase::Missing);
    let summary = RunSummary {
        condition: key.condition.label(),
        n_train: 10,
        label_noise: 0.0,
        width: 2,
        depth: 1,
        seed: 0,
        params: 1,
        epochs: 1,
        train_err: Some(0.5),
        train_loss: None,
        test_err: Some(0.5),
        test_loss: None,
        noisy_fit: None,
        seconds: 0.1,
        status: RunOutcome::Diverged,
        reason: Some("train loss is NaN at epoch 3".into()),
    };
    sweep.write_checkpoint(&key, b"x").unwrap();
    sweep.finish_run(&key, &RunRecord { summary: summary.clone() }).unwrap();
    assert!(matches!(sweep.phase(&key).unwrap(), RunPhase::Finished(_)));
    assert!(!sweep.run_dir(&key).join("checkpoint.bin").exists());
    assert_eq!(sweep.write_runs_csv().unwrap(), 1);
    // A diverged run's missing losses are empty cells, read back as missing, and its reason is on its row.
    assert_eq!(read_csv::<RunSummary>(&sweep.runs_csv()).unwrap(), vec![summary]);
    let csv = std::fs::read_to_string(sweep.runs_csv()).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains(",0.5,,0.5,,,0.1,diverged,train loss is NaN at epoch 3"), "{csv}");
    assert!(sweep.reset_failed(&key).unwrap(), "a diverged run is retried");
    assert_eq!(sweep.phase(&key).unwrap(), RunPhase::Missing);
}

#[test]
fn reopening_a_sweep_folder_reads_its_spec() {
    let (_dir, sweep) = sweep();
    assert_eq!(SweepDir::open(&sweep.root).unwrap().spec, sweep.spec);
    let again = SweepDir::create(sweep.root.parent().unwrap(), &sweep.spec).unwrap();
    assert_eq!(again.root, sweep.root);
}
