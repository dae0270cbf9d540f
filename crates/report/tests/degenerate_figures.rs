//! Figures never hang or panic on degenerate sweeps: one width, two close widths, constant curves,
//! all-undefined metrics, one seed, one condition, non-finite and empty values.

use std::sync::mpsc;
use std::time::Duration;

use ddlab_analysis::*;
use ddlab_report::{ReportInputs, draw_figures, report_html, verdict_markdown};

const DEADLINE: Duration = Duration::from_secs(20);

fn sweep(
    widths: &[usize],
    seeds: u64,
    value: impl Fn(usize, u64) -> Option<f64>,
    err: impl Fn(usize, u64) -> f64,
) -> ConditionInput {
    let mut input =
        ConditionInput { condition: "c".into(), n_train: 10, label_noise: 0.0, loss: LossSpace::Squared, ..Default::default() };
    for &w in widths {
        for s in 0..seeds {
            let e = err(w, s);
            input.runs.push(RunFigures {
                width: w,
                seed: s,
                train_err: Some(e),
                train_loss: Some(e),
                test_err: Some(e),
                test_loss: Some(e),
                diverged: None,
            });
            for (trained, v) in [(false, Some(0.0)), (true, value(w, s))] {
                for name in ["diversity/effective_rank", "competence/n_eff"] {
                    input.metrics.entry(name.into()).or_default().push(MetricValue {
                        width: w,
                        seed: Some(s),
                        trained,
                        value: v,
                    });
                }
            }
        }
    }
    input
}

fn cases() -> Vec<(&'static str, Analysis)> {
    let opts = Options { null_draws: 99, ..Options::default() };
    let wobble = |w: usize, s: u64| 0.1 + 0.01 * ((w as u64 * 7 + s * 3) % 5) as f64;
    let grid = [1, 2, 4, 8, 16, 32, 64];
    let mut diverged = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
    diverged.runs[4].test_err = None;
    diverged.runs[5].diverged = Some("loss exploded".into());
    let mut empty_metric = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
    empty_metric.metrics.insert("circuits/linear_maps".into(), Vec::new());
    let no_runs = ConditionInput { condition: "empty".into(), loss: LossSpace::CrossEntropy, ..Default::default() };
    let mut with_across =
        analyze(&[sweep(&grid, 3, |w, _| Some(w as f64), wobble), sweep(&grid, 3, |w, _| Some(w as f64), wobble)], &opts);
    for a in &mut with_across.across {
        a.points = vec![("c".into(), 4.0, 4.0)];
        a.slope = Some(f64::NAN);
    }
    // H5 rows: the k-ensemble at one width only, all undefined, and a full grid; kW rows with one value.
    let mut ensembles = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
    for k in 1..=3 {
        for &w in &grid {
            let value = if k == 2 {
                None
            } else if w == 8 {
                Some(f64::NAN)
            } else {
                Some(0.1 * k as f64)
            };
            ensembles.metrics.entry(format!("seed_ensemble/ensemble_err_k{k}")).or_default().push(MetricValue {
                width: w,
                seed: None,
                trained: true,
                value,
            });
        }
    }
    ensembles.metrics.insert(
        "seed_ensemble/kw_err_diff_k2".into(),
        vec![MetricValue { width: 4, seed: None, trained: true, value: Some(0.0) }],
    );
    let mut one_width_ensemble = sweep(&[8], 2, |_, _| Some(1.0), wobble);
    one_width_ensemble.metrics.insert(
        "seed_ensemble/ensemble_err_k2".into(),
        vec![MetricValue { width: 8, seed: None, trained: true, value: Some(0.2) }],
    );
    // Epoch rows: constant, one epoch, all NaN, one seed, and snapshots with undefined values.
    let with_epochs = |epochs: &[usize], seeds: u64, value: f64| {
        let mut c = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
        for &w in &[4usize, 8] {
            for s in 0..seeds {
                for &e in epochs {
                    c.epochs.push(EpochFigures {
                        width: w,
                        seed: s,
                        epoch: e,
                        train_err: value,
                        test_err: value,
                        test_loss: value,
                    });
                    c.snapshots.entry("diversity/effective_rank".into()).or_default().push(SnapshotValue {
                        width: w,
                        seed: s,
                        epoch: e,
                        value: if e % 2 == 0 { None } else { Some(value) },
                    });
                }
            }
        }
        c
    };
    let many: Vec<usize> = (0..40).collect();
    vec![
        ("k-ensembles with undefined values", analyze(&[ensembles], &opts)),
        ("k-ensemble at one width", analyze(&[one_width_ensemble], &opts)),
        ("constant epoch curves", analyze(&[with_epochs(&many, 3, 0.2)], &opts)),
        ("epochs 0 and 1 only", analyze(&[with_epochs(&[0, 1], 3, 0.2)], &opts)),
        ("non-finite epoch rows", analyze(&[with_epochs(&many, 3, f64::NAN)], &opts)),
        ("one seed over epochs", analyze(&[with_epochs(&many, 1, 0.3)], &opts)),
        ("huge epochs", analyze(&[with_epochs(&[1, 1_000_000, 1_000_001, 1_000_002], 2, 1e9)], &opts)),
        (
            "two conditions sharing one width (H3)",
            analyze(&[sweep(&[8], 3, |_, s| Some(s as f64), wobble), sweep(&[8, 16], 3, |_, _| Some(1.0), wobble)], &opts),
        ),
        ("one width", analyze(&[sweep(&[8], 3, |_, s| Some(s as f64), wobble)], &opts)),
        ("two close widths", analyze(&[sweep(&[2, 4], 3, |w, s| Some((w as u64 + s) as f64), wobble)], &opts)),
        ("two adjacent widths", analyze(&[sweep(&[1023, 1024], 2, |w, _| Some(w as f64), wobble)], &opts)),
        ("constant curves", analyze(&[sweep(&grid, 3, |_, _| Some(1.0), |_, _| 0.25)], &opts)),
        ("constant large values", analyze(&[sweep(&grid, 3, |_, _| Some(1e12), |_, _| 1e6)], &opts)),
        ("all undefined metric", analyze(&[sweep(&grid, 3, |_, _| None, wobble)], &opts)),
        ("one seed", analyze(&[sweep(&grid, 1, |w, _| Some(w as f64), wobble)], &opts)),
        ("diverged and non-finite", analyze(&[diverged], &opts)),
        ("empty metric", analyze(&[empty_metric], &opts)),
        ("condition without runs", analyze(&[no_runs], &opts)),
        ("no conditions", analyze(&[], &opts)),
        ("one point across conditions", with_across),
    ]
}

#[test]
fn figures_finish_on_degenerate_sweeps() {
    let mut failures = Vec::new();
    let mut drawn: Vec<String> = Vec::new();
    for (name, analysis) in cases() {
        let (done, wait) = mpsc::channel();
        let worker = analysis.clone();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                draw_figures(&worker).map(|f| f.into_iter().map(|f| f.name).collect::<Vec<_>>()).map_err(|e| e.to_string())
            });
            let _ = done.send(result);
        });
        // A hung drawing thread is left behind (it cannot be stopped); the next cases still run.
        match wait.recv_timeout(DEADLINE) {
            Ok(Ok(Ok(names))) if !names.is_empty() => drawn.extend(names),
            Ok(Ok(Ok(_))) => failures.push(format!("{name}: no figure")),
            Ok(Ok(Err(e))) => failures.push(format!("{name}: drawing failed: {e}")),
            Ok(Err(_)) => failures.push(format!("{name}: drawing panicked")),
            Err(_) => failures.push(format!("{name}: drawing did not finish within {DEADLINE:?}")),
        }
        // The text outputs render too.
        let md = verdict_markdown(&analysis, name);
        assert!(md.contains("## Overall"), "{name}");
        let html = report_html(&ReportInputs {
            sweep_name: name,
            spec_toml: "",
            analysis: &analysis,
            figures: Vec::new(),
            runs_header: Vec::new(),
            runs_rows: Vec::new(),
        });
        assert!(html.contains("</html>"), "{name}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The new figures were drawn on some degenerate case, not skipped everywhere.
    for prefix in ["ensembles-", "epochs-", "width_adjusted"] {
        assert!(drawn.iter().any(|n| n.starts_with(prefix)), "no {prefix} figure in {drawn:?}");
    }
}

/// A test loss spanning six decades (a min-norm fit at p = n) is drawn on a log10 axis; one spanning
/// less stays linear.
#[test]
fn a_loss_spanning_decades_is_drawn_on_a_log_scale() {
    let opts = Options { null_draws: 99, ..Options::default() };
    let grid = [1, 2, 4, 8, 16, 32, 64];
    let loss_axis = |peak: f64| {
        let mut input = sweep(&grid, 3, |w, _| Some(w as f64), |w, s| 0.1 + 0.01 * s as f64 + if w == 8 { 0.3 } else { 0.0 });
        for run in &mut input.runs {
            if run.width == 8 {
                run.test_loss = Some(peak);
            }
        }
        let figures = draw_figures(&analyze(&[input], &opts)).unwrap();
        let svg = &figures.iter().find(|f| f.name == "error_curves").unwrap().svg;
        svg.contains("test loss (log10)")
    };
    assert!(loss_axis(1e6), "six decades: log10 axis");
    assert!(!loss_axis(0.9), "within a decade: linear axis");
}
