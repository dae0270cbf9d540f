//! The sweep folder: atomic writes, exclusive run locks, checkpoint fallback, run phases.

use ddlab_config::parse_spec;
use ddlab_store::*;

fn sweep() -> (tempfile::TempDir, SweepDir) {
    let dir = tempfile::tempdir().unwrap();
    let spec = parse_spec("seeds = [0]\n[data]\ndataset = \"digits\"\nn_train = 10\n[model]\nwidths = [2]\n", "s").unwrap();
    let sweep = SweepDir::create(dir.path(), &spec).unwrap();
    (dir, sweep)
}

/// The summary of the sweep's one run, diverged at epoch 1.
fn diverged_summary(sweep: &SweepDir) -> RunSummary {
    let key = sweep.spec.runs()[0];
    RunSummary {
        condition: sweep.spec.condition_of(&key).label(),
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
    }
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
    let summary = diverged_summary(&sweep);
    sweep.write_checkpoint(&key, b"x").unwrap();
    sweep.finish_run(&key, &RunRecord { summary: summary.clone() }).unwrap();
    assert!(matches!(sweep.phase(&key).unwrap(), RunPhase::Finished(_)));
    assert!(!sweep.run_dir(&key).join("checkpoint.bin").exists());
    assert_eq!(sweep.write_runs_csv(&sweep.phases().unwrap()).unwrap(), 1);
    // A diverged run's missing losses are empty cells, read back as missing, and its reason is on its row.
    assert_eq!(sweep.read_runs_csv().unwrap(), vec![summary]);
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

fn probe_row(value: Result<f64, String>) -> ProbeRow {
    let mut row = ProbeRow {
        condition: "n60-noise0.2".into(),
        n_train: 60,
        label_noise: 0.2,
        width: 4,
        seed: Some(1),
        phase: Phase::Init,
        epoch: 0,
        probe: "competence".into(),
        metric: "n_eff".into(),
        value: None,
        undefined: String::new(),
    };
    row.set(&value);
    row
}

#[test]
fn undefined_probe_values_are_empty_cells_with_their_reason() {
    let (_dir, sweep) = sweep();
    let path = sweep.probes_csv();
    let rows = vec![probe_row(Ok(0.5)), probe_row(Err("full network not clearly better than chance".into()))];
    sweep.write_probes(&path, &rows).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().next().unwrap().to_string() + "\n", ProbeRow::HEADER);
    assert!(text.contains(",competence,n_eff,,full network not clearly better than chance\n"), "{text}");
    assert!(sweep.probes_current(&path));
    assert_eq!(sweep.read_probes(&path).unwrap(), rows);
    assert_eq!(rows[1].result(), Err("full network not clearly better than chance".into()));
    // No rows: the header alone, so that the file says what it would hold.
    sweep.write_probes(&path, &[]).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ProbeRow::HEADER);
    // A file written before the `undefined` column: readable (its NaN undefined), and probed again.
    std::fs::write(
        &path,
        "condition,n_train,label_noise,width,seed,phase,epoch,probe,metric,value\nn60-noise0.2,60,0.2,4,1,init,0,competence,n_eff,NaN\n",
    )
    .unwrap();
    assert!(sweep.read_probes(&path).unwrap()[0].result().is_err(), "an old NaN reads as undefined");
    assert!(!sweep.probes_current(&path));
}

#[test]
fn the_reports_runs_table_is_runs_csv_cell_for_cell() {
    let (_dir, sweep) = sweep();
    let key = sweep.spec.runs()[0];
    let summary = RunSummary {
        params: 160,
        epochs: 4,
        train_err: Some(0.1),
        train_loss: Some(1.0 / 3.0),
        test_err: Some(0.25),
        seconds: 0.5,
        status: RunOutcome::Done,
        reason: None,
        ..diverged_summary(&sweep)
    };
    sweep.finish_run(&key, &RunRecord { summary: summary.clone() }).unwrap();
    sweep.write_runs_csv(&sweep.phases().unwrap()).unwrap();
    let text = std::fs::read_to_string(sweep.runs_csv()).unwrap();
    let (header, rows) = runs_table(&sweep.read_runs_csv().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(header.join(","), lines[0]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].join(","), lines[1]);
    assert_eq!(runs_table(&[summary]), (header, rows), "the in-memory rows give the same table");
}

#[test]
fn figures_and_the_analysis_read_back_as_written() {
    let (_dir, sweep) = sweep();
    let err = sweep.read_analysis::<serde_json::Value>().unwrap_err().to_string();
    assert!(err.contains("analysis.json") && err.contains("run `ddlab analyze` first"), "{err}");
    let analysis = serde_json::json!({"overall": "inconclusive", "x": 0.1 + 0.2});
    sweep.write_analysis(&analysis, "# verdict\n").unwrap();
    assert_eq!(sweep.read_analysis::<serde_json::Value>().unwrap(), analysis);
    assert_eq!(std::fs::read_to_string(sweep.analysis_md()).unwrap(), "# verdict\n");
    let figures = [
        FigureFiles { name: "curve", title: "Test error", svg: "<svg/>", png: b"png-1" },
        FigureFiles { name: "metrics", title: "Metrics", svg: "<svg></svg>", png: b"png-2" },
    ];
    sweep.write_figures(&figures).unwrap();
    let back = sweep.read_figures().unwrap();
    assert_eq!(
        back,
        vec![
            ("curve".to_string(), "Test error".to_string(), "<svg/>".to_string()),
            ("metrics".to_string(), "Metrics".to_string(), "<svg></svg>".to_string()),
        ]
    );
    assert_eq!(std::fs::read(sweep.figure_path("metrics", "png")).unwrap(), b"png-2");
    std::fs::remove_file(sweep.figure_path("curve", "svg")).unwrap();
    assert!(sweep.read_figures().unwrap_err().to_string().contains("missing figure"));
}

#[test]
fn a_condition_without_flipped_labels_still_has_a_noise_file_with_its_header() {
    let (_dir, sweep) = sweep();
    let condition = sweep.spec.conditions[0];
    sweep.write_noise(&condition, &[]).unwrap();
    assert_eq!(std::fs::read_to_string(sweep.noise_path(&condition)).unwrap(), NoiseRow::HEADER);
    sweep.write_noise(&condition, &[NoiseRow { index: 3, original: 1, noisy: 7 }]).unwrap();
    assert_eq!(std::fs::read_to_string(sweep.noise_path(&condition)).unwrap(), "index,original,noisy\n3,1,7\n");
}
