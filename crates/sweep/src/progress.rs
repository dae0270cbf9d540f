//! Progress for people: bars on a terminal, plain timestamped lines otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// The sweep's progress: one bar for the whole sweep, one per worker for its current group.
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    overall: ProgressBar,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Progress {
    pub fn new(mode: Mode, total_runs: usize, already_done: usize) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Bars => ProgressDrawTarget::stdout(),
            _ => ProgressDrawTarget::hidden(),
        });
        let overall = multi.add(ProgressBar::new(total_runs as u64));
        overall.set_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta_precise}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        overall.set_prefix("sweep");
        overall.set_position(already_done as u64);
        overall.reset_eta();
        Progress { mode, multi, overall, started: Instant::now(), last_line: Mutex::new(Instant::now()) }
    }

    /// A line for the log (printed above the bars, or plainly).
    pub fn line(&self, text: &str) {
        match self.mode {
            Mode::Bars => self.multi.suspend(|| println!("{text}")),
            Mode::Lines => println!("[{:>7.1}s] {text}", self.started.elapsed().as_secs_f64()),
            Mode::Quiet => {}
        }
    }

    /// A warning: on stderr in every mode, quiet included (above the bars when they are drawn).
    pub fn warn(&self, text: &str) {
        match self.mode {
            Mode::Bars => self.multi.suspend(|| eprintln!("warning: {text}")),
            _ => eprintln!("warning: {text}"),
        }
    }

    /// A bar for one group being trained.
    /// The bar of one training group (`label`), from epoch `start` to `epochs`.
    pub fn group(&self, label: &str, start: usize, epochs: usize) -> GroupProgress<'_> {
        let bar = self.multi.add(ProgressBar::new((epochs - start) as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:30}] epoch {pos}/{len}  {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        GroupProgress { progress: self, bar, start, epochs }
    }

    pub fn run_finished(&self, count: usize) {
        self.overall.inc(count as u64);
    }

    /// In line mode, a status line at most every 10 s.
    pub fn heartbeat(&self, text: impl FnOnce() -> String) {
        if self.mode != Mode::Lines {
            return;
        }
        let mut last = self.last_line.lock().unwrap();
        if last.elapsed() >= Duration::from_secs(10) {
            *last = Instant::now();
            drop(last);
            let (done, total) = (self.overall.position(), self.overall.length().unwrap_or(0));
            self.line(&format!("{done}/{total} runs done; {}", text()));
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
    }
}

/// One training group's bar: its epoch, the latest figures of its widest run, and the line-mode heartbeat.
pub struct GroupProgress<'a> {
    progress: &'a Progress,
    bar: ProgressBar,
    start: usize,
    epochs: usize,
}

impl GroupProgress<'_> {
    /// The figures of run `run` (`w<width> s<seed>`) at an evaluation.
    pub fn evaluated(&self, run: &str, train_err: f64, test_err: f64) {
        self.bar.set_message(format!("{run}: train_err {train_err:.3} test_err {test_err:.3}"));
    }

    pub fn epoch_done(&self, epoch: usize) {
        self.bar.set_position((epoch - self.start) as u64);
        self.progress.heartbeat(|| format!("{}: epoch {epoch} of {}; {}", self.bar.prefix(), self.epochs, self.bar.message()));
    }
}

impl Drop for GroupProgress<'_> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
