//! `ddlab status`: every run of a sweep by state.

use std::path::Path;
use std::process::ExitCode;

use ddlab_store::{RunPhase, SweepDir};

pub fn run(folder: &Path) -> anyhow::Result<ExitCode> {
    let sweep = SweepDir::open(folder)?;
    let mut lines: Vec<(&str, String)> = Vec::new();
    for key in sweep.spec.runs() {
        let (state, detail) = match sweep.phase(&key)? {
            RunPhase::Finished(record) if record.summary.status == "done" => {
                ("done", format!("test_err {:.4}, train_err {:.4}", record.summary.test_err, record.summary.train_err))
            }
            RunPhase::Finished(record) => ("failed", format!("{}: {}", record.summary.status, record.reason.unwrap_or_default())),
            RunPhase::Failed(reason) => ("failed", reason),
            _ if sweep.is_locked(&key) => ("running", String::new()),
            RunPhase::Started => ("missing", "interrupted; resumes from its checkpoint".into()),
            RunPhase::Missing => ("missing", "not started".into()),
        };
        lines.push((state, format!("{:<8} {:<32} {detail}", state, key.rel_dir())));
    }
    for state in ["done", "running", "failed", "missing"] {
        let count = lines.iter().filter(|(s, _)| *s == state).count();
        println!("{state}: {count}");
    }
    println!();
    for (_, line) in &lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
