//! analysis.md and report.html show every verdict of analysis.json, the diverged runs and the
//! undefined values.

use ddlab_analysis::*;
use ddlab_report::{ReportInputs, report_html, verdict_markdown};

fn analysis() -> Analysis {
    let mut input = ConditionInput {
        condition: "noisy".into(),
        n_train: 10,
        label_noise: 0.2,
        loss: LossSpace::CrossEntropy,
        ..Default::default()
    };
    for w in [1, 2, 4, 8, 16, 32, 64] {
        for s in 0..3u64 {
            let e = 0.1 + 0.01 * s as f64 + if w == 8 { 0.2 } else { 0.0 };
            let diverged = (w == 32 && s == 1).then(|| "loss became NaN".to_string());
            input.runs.push(RunFigures { width: w, seed: s, train_err: e, train_loss: e, test_err: e, test_loss: e, diverged });
            for trained in [false, true] {
                let value = if trained { Some(w as f64) } else { None };
                input.metrics.entry("competence/n_eff".into()).or_default().push(MetricValue {
                    width: w,
                    seed: Some(s),
                    trained,
                    value,
                });
            }
        }
    }
    analyze(&[input], &Options { null_draws: 199, ..Options::default() })
}

#[test]
fn markdown_and_html_show_each_verdict_and_what_was_left_out() {
    let a = analysis();
    let md = verdict_markdown(&a, "s");
    let html = report_html(&ReportInputs {
        sweep_name: "s",
        spec_toml: "",
        analysis: &a,
        figures: vec![],
        runs_header: vec![],
        runs_rows: vec![],
    });
    let c = &a.conditions[0];
    let all: Vec<&Verdict> = c.verdicts.iter().chain(c.metrics.iter().flat_map(|m| [&m.h1, &m.past_peak_verdict])).collect();
    assert!(all.len() >= 6);
    for v in all {
        let row = format!(
            "| {} | {} | **{}** |",
            v.prediction,
            v.metric.as_deref().map_or("-".to_string(), |m| format!("`{m}`")),
            v.outcome.label()
        );
        assert!(md.contains(&row), "missing {row} in\n{md}");
        assert!(html.contains(&v.prediction), "{}", v.prediction);
    }
    assert!(md.contains("diverged and left out: 1 (width 32 seed 1 (loss became NaN))"), "{md}");
    assert!(html.contains("width 32 seed 1 (loss became NaN)"));
    // 7 widths x 3 seeds: 21 init values undefined, less the diverged run's; its 2 values left out.
    let m = &c.metrics[0];
    assert_eq!((m.values.undefined, m.values.from_diverged_runs), (20, 2));
    assert!(m.values.tested_trained_values);
    assert!(md.contains("| `competence/n_eff` | 20 | 20 | 2 |"), "{md}");
    assert!(md.contains(&format!("| supported | {} |", a.tally.supported)));
}
