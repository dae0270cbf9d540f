//! `ddlab status`: every run of a sweep by state.

use std::path::Path;
use std::process::ExitCode;

use ddlab_store::{RunOutcome, RunPhase, SweepDir};

/// The states a run can be in, in the order `status` counts them.
const STATES: [&str; 5] = ["done", "diverged", "running", "failed", "missing"];

pub fn run(folder: &Path) -> anyhow::Result<ExitCode> {
    let sweep = SweepDir::open(folder)?;
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let mut lines: Vec<(&str, String)> = Vec::new();
    for key in sweep.spec.runs() {
        let (state, detail) = match sweep.phase(&key)? {
            RunPhase::Finished(record) => match record.summary.status {
                RunOutcome::Done => {
                    ("done", format!("test_err {}, train_err {}", show(record.summary.test_err), show(record.summary.train_err)))
                }
                RunOutcome::Diverged => (
                    "diverged",
                    format!(
                        "{} after {} epochs; left out of the analysis (--retry-failed trains it again)",
                        record.summary.reason.unwrap_or_default(),
                        record.summary.epochs
                    ),
                ),
            },
            RunPhase::Failed(reason) => ("failed", reason),
            _ if sweep.is_locked(&key) => ("running", String::new()),
            RunPhase::Started => ("missing", "interrupted; resumes from its checkpoint".into()),
            RunPhase::Missing => ("missing", "not started".into()),
        };
        lines.push((state, format!("{:<8} {:<32} {detail}", state, key.rel_dir())));
    }
    for state in STATES {
        let count = lines.iter().filter(|(s, _)| *s == state).count();
        println!("{state}: {count}");
    }
    println!();
    for (_, line) in &lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
