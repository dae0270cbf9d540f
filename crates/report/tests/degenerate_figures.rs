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
        ConditionInput { condition: "c".into(), n_train: 10, label_noise: 0.0, loss: "squared".into(), ..Default::default() };
    for &w in widths {
        for s in 0..seeds {
            let e = err(w, s);
            input.runs.push(RunFigures {
                width: w,
                seed: s,
                train_err: e,
                train_loss: e,
                test_err: e,
                test_loss: e,
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
    let opts = Options { null_draws: 99, resamples: 10, ..Options::default() };
    let wobble = |w: usize, s: u64| 0.1 + 0.01 * ((w as u64 * 7 + s * 3) % 5) as f64;
    let grid = [1, 2, 4, 8, 16, 32, 64];
    let mut diverged = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
    diverged.runs[4].test_err = f64::NAN;
    diverged.runs[5].diverged = Some("loss exploded".into());
    let mut empty_metric = sweep(&grid, 3, |w, _| Some(w as f64), wobble);
    empty_metric.metrics.insert("circuits/linear_maps".into(), Vec::new());
    let no_runs = ConditionInput { condition: "empty".into(), loss: "cross_entropy".into(), ..Default::default() };
    let mut with_across =
        analyze(&[sweep(&grid, 3, |w, _| Some(w as f64), wobble), sweep(&grid, 3, |w, _| Some(w as f64), wobble)], &opts);
    for a in &mut with_across.across {
        a.points = vec![("c".into(), 4.0, 4.0)];
        a.slope = Some(f64::NAN);
    }
    vec![
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
    for (name, analysis) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let (done, wait) = mpsc::channel();
        let worker = analysis.clone();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| draw_figures(&worker, &path).map(|f| f.len()).map_err(|e| e.to_string()));
            let _ = done.send(result);
        });
        // A hung drawing thread is left behind (it cannot be stopped); the next cases still run.
        match wait.recv_timeout(DEADLINE) {
            Ok(Ok(Ok(n))) if n >= 1 => {}
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
}
