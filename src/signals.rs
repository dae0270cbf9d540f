//! SIGINT and SIGTERM, for every stage. Training reads the stop flag at every epoch, checkpoints its runs
//! and returns, so the sweep can write runs.csv and exit 130. Every other stage (data, probing,
//! analysis, figures, report) writes whole files only (temporary file, then rename), so it is simply
//! ended at once with exit 130: nothing half-written can be left, and the same command redoes what was
//! not finished. A second signal during training ends the process at once too.
//!
//! SIGUSR1 is Slurm's warning before a task's time limit (`--signal=B:USR1@<grace>`, written by `ddlab
//! slurm`): the same stop, and then the task requeues itself (`scontrol requeue <array job>_<task>`) so
//! that it resumes from its checkpoints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;

/// The exit code of a process stopped by a signal (128 + SIGINT), whichever signal it was.
pub const INTERRUPTED: u8 = 130;

/// Set while the training loop runs: it stops at the next epoch boundary by itself.
static TRAINING: AtomicBool = AtomicBool::new(false);

/// Set by SIGUSR1: requeue this Slurm array task after stopping.
static REQUEUE: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Whether the stop came from Slurm's time-limit warning (SIGUSR1).
pub fn requeue_requested() -> bool {
    REQUEUE.get().is_some_and(|flag| flag.load(Ordering::Relaxed))
}

/// Requeues this Slurm array task (`scontrol requeue <job>_<task>`), saying so on stderr first: Slurm
/// answers a requeue by sending SIGTERM to the task, which (the stop flag being set already) ends this
/// process at once, often before `scontrol` returns. So the intent is logged before the call, and the
/// outcome after it when the process is still alive to say it.
pub fn requeue_this_task() {
    let var = |name: &str| std::env::var(name).ok();
    let Some(job) = var("SLURM_ARRAY_JOB_ID")
        .zip(var("SLURM_ARRAY_TASK_ID"))
        .map(|(j, t)| format!("{j}_{t}"))
        .or_else(|| var("SLURM_JOB_ID"))
    else {
        eprintln!("SIGUSR1 outside a Slurm job: stopped, nothing requeued");
        return;
    };
    eprintln!("requeueing Slurm job {job} (scontrol requeue): it resumes from its checkpoints");
    match std::process::Command::new("scontrol").args(["requeue", &job]).output() {
        Ok(out) if out.status.success() => eprintln!("requeued Slurm job {job}"),
        Ok(out) => eprintln!("scontrol requeue {job} failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => eprintln!("cannot run scontrol requeue {job}: {e}"),
    }
}

/// Installs the handlers and the watchdog; returns the flag the training loop reads.
pub fn install() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as it was before this signal: a second signal exits.
        signal_hook::flag::register_conditional_shutdown(signal, i32::from(INTERRUPTED), Arc::clone(&stop))
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot install the signal handler")?;
    }
    let usr1 = Arc::clone(REQUEUE.get_or_init(|| Arc::new(AtomicBool::new(false))));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, usr1).context("cannot install the signal handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&stop)).context("cannot install the signal handler")?;
    let watched = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("signal-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                if watched.load(Ordering::Relaxed) && !TRAINING.load(Ordering::Relaxed) {
                    eprintln!("interrupted: nothing half-written is left; run the same command again to finish");
                    if requeue_requested() {
                        requeue_this_task();
                    }
                    std::process::exit(i32::from(INTERRUPTED));
                }
            }
        })
        .context("cannot start the signal watchdog")?;
    Ok(stop)
}

/// Runs `train` with the watchdog standing back: training stops by itself at an epoch boundary. When a
/// signal came, the watchdog keeps standing back, so the caller can record what was trained (runs.csv)
/// and exit 130 itself.
pub fn while_training<T>(stop: &AtomicBool, train: impl FnOnce() -> T) -> T {
    TRAINING.store(true, Ordering::Relaxed);
    let out = train();
    if !stop.load(Ordering::Relaxed) {
        TRAINING.store(false, Ordering::Relaxed);
    }
    out
}
