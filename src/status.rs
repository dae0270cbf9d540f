//! `ddlab status`: every run of a sweep by state; for a Slurm sweep (`ddlab slurm`) also per shard and,
//! inside a Slurm allocation or with `--slurm`, the jobs' states from squeue.

use std::process::ExitCode;

use ddlab_store::{RunOutcome, RunPhase, SweepDir};

use crate::cli::StatusArgs;

/// The states a run can be in, in the order `status` counts them.
const STATES: [&str; 5] = ["done", "diverged", "running", "failed", "missing"];

pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let sweep = SweepDir::open(&args.sweep)?;
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
        lines.push((state, format!("{:<8} {:<32} {detail}", state, sweep.spec.run_name(&key))));
    }
    for state in STATES {
        let count = lines.iter().filter(|(s, _)| *s == state).count();
        println!("{state}: {count}");
    }
    println!();
    if let Some(plan) = sweep.read_slurm_plan()? {
        let owners = ddlab_sweep::assign_shards(&sweep.spec, plan.tasks);
        println!("shards ({} Slurm array tasks): done / running / failed / not started", plan.tasks);
        for shard in 1..=plan.tasks {
            let mine: Vec<&str> = lines.iter().zip(&owners).filter(|(_, o)| **o == shard).map(|((s, _), _)| *s).collect();
            let count = |states: &[&str]| mine.iter().filter(|s| states.contains(s)).count();
            println!(
                "  shard {shard}/{}: {} runs: {} done, {} running, {} failed, {} not started",
                plan.tasks,
                mine.len(),
                count(&["done", "diverged"]),
                count(&["running"]),
                count(&["failed"]),
                count(&["missing"])
            );
        }
        println!();
        if args.slurm || std::env::var_os("SLURM_JOB_ID").is_some() {
            match sweep.read_slurm_jobs()? {
                Some(jobs) => print_squeue(&jobs),
                None => println!("Slurm: this sweep's jobs were not submitted by `ddlab slurm --submit`"),
            }
            println!();
        }
    } else if args.slurm {
        println!("Slurm: this sweep was not planned with `ddlab slurm`");
    }
    for (_, line) in &lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The sweep's jobs as squeue sees them (finished jobs leave squeue after Slurm's MinJobAge).
fn print_squeue(jobs: &ddlab_store::SlurmJobs) {
    let ids = format!("{},{}", jobs.array, jobs.finish);
    match std::process::Command::new("squeue").args(["-h", "-j", &ids, "-o", "%i %T %R"]).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            println!("Slurm jobs {ids} (squeue):");
            if text.trim().is_empty() {
                println!("  none queued or running (all ended)");
            }
            for line in text.lines() {
                println!("  {line}");
            }
        }
        Ok(out) => println!("Slurm: squeue failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => println!("Slurm: cannot run squeue: {e}"),
    }
}
