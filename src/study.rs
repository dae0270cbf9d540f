//! `ddlab study`: several experiment files as one study (docs/SCIENCE.md, Statistics, "Studies: several
//! sweeps as one"). The study's sweeps are claimed first (two studies may not share a sweep), then each
//! runs as `ddlab sweep` would (resuming, sharded, finishing), and once every sweep is analysed the
//! study folder gets study.json, study.md and the forest plots.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use ddlab_config::load_study;
use ddlab_sweep::{SweepEnd, claim_sweeps, write_study};

use crate::cli::StudyArgs;
use crate::sweep::{exit_code, sweep_one};

pub fn run(args: StudyArgs, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    let study = load_study(&args.study)?;
    let runs_dir = &args.options.runs_dir;
    let folder = claim_sweeps(runs_dir, &study)?.root;
    let quiet = args.options.quiet;
    if !quiet {
        println!("study {} ({} experiments)", folder.display(), study.experiments.len());
    }
    let mut incomplete = false;
    let mut analysed = true;
    for (i, experiment) in study.experiments.iter().enumerate() {
        if !quiet {
            println!("study: experiment {} of {}: {}", i + 1, study.experiments.len(), experiment.listed);
        }
        let end = sweep_one(&args.options, experiment.path.clone(), experiment.spec.clone(), stop)?;
        if matches!(end, SweepEnd::Interrupted) {
            return Ok(exit_code(&end));
        }
        incomplete |= end.incomplete();
        analysed &= matches!(end, SweepEnd::Reported { .. });
    }
    if !analysed {
        println!(
            "study: not every sweep is analysed yet (a shard, --no-probe, or another process still training); run `ddlab study {}` again (or with --finish) when they are",
            args.study.display()
        );
        return Ok(if incomplete { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    let written = write_study(runs_dir, &study)?;
    if !quiet {
        println!("study figures: {} ({} forest plots, SVG and PNG)", written.dir.figures_dir().display(), written.figures);
    }
    println!("study: {}", written.dir.markdown().display());
    Ok(if incomplete { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
