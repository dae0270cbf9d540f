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
            input.runs.push(RunFigures {
                width: w,
                seed: s,
                train_err: Some(e),
                train_loss: Some(e),
                test_err: Some(e),
                test_loss: Some(e),
                diverged,
            });
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

/// report.html of an analysis, without figures or runs.
fn page(a: &Analysis) -> String {
    report_html(&ReportInputs {
        sweep_name: "s",
        spec_toml: "",
        analysis: a,
        figures: vec![],
        runs_header: vec![],
        runs_rows: vec![],
    })
}

#[test]
fn markdown_and_html_show_each_verdict_and_what_was_left_out() {
    let a = analysis();
    let md = verdict_markdown(&a, "s");
    let html = page(&a);
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

/// The answer opens analysis.md and the report: where the peak is (the planted width 8), with its
/// p-value as a bound at the simulation's floor, and every other verdict filed under its outcome.
#[test]
fn the_answer_says_where_the_peak_is_and_what_each_prediction_found() {
    let a = analysis();
    let md = verdict_markdown(&a, "s");
    let html = page(&a);
    let answer = md.split("## Answer").nth(1).and_then(|r| r.split("## Overall").next()).expect("an answer section");
    let c = &a.conditions[0];
    assert_eq!(c.peak.peak.as_ref().map(|p| p.width), Some(8));
    assert!(answer.contains("The test error peaks at width 8"), "{answer}");
    let p = c.peak.p_value.unwrap();
    assert!(p <= 1.0 / 200.0, "planted peak: p = {p}");
    assert!(answer.contains(&format!("p ≤ {}", ddlab_report::num(p))), "{answer}");
    for v in c.verdicts.iter().filter(|v| v.prediction != "double descent detected") {
        let group = answer.split(&format!("**{}**:", v.outcome.label())).nth(1).unwrap_or_else(|| panic!("{answer}"));
        let group = group.split("**").next().unwrap();
        assert!(!group.trim().is_empty(), "{}: {answer}", v.prediction);
    }
    let first = html.find("id=\"answer\"").expect("answer section");
    let key = html.find("id=\"key-figure\"").expect("key figure");
    let details = html.find("<h2>Details</h2>").expect("details");
    assert!(first < key && key < details, "the answer and the key figure come first");
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(http"] {
        assert!(!html.contains(external), "the page links {external}");
    }
}
