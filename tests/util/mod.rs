//! Shared helpers of the end-to-end tests: run the real `ddlab` binary on tiny experiments.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The ddlab binary cargo built for these tests.
pub fn ddlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ddlab"));
    command.env("NO_COLOR", "1");
    command
}

/// Runs ddlab with `args`, returning its output.
pub fn run(args: &[&str], dir: &Path) -> Output {
    ddlab().args(args).current_dir(dir).output().expect("ddlab starts")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A tiny synthetic experiment: seconds to train, every stage exercised.
pub const TINY: &str = r#"
name = "tiny"
seeds = [0, 1]
[data]
dataset = "teacher"
pool = 300
dim = 6
classes = 3
n_train = 60
n_test = 60
label_noise = 0.2
[model]
widths = [1, 2, 4, 8, 16, 32]
[train]
loss = "ce"
lr = 0.01
epochs = 40
eval_every = 10
checkpoint_every = 10
[probe]
probe_set = 40
draws = 2
every = 20
"#;

/// Writes an experiment file into `dir`.
pub fn experiment(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The single sweep folder under `runs_dir`.
pub fn sweep_folder(runs_dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(runs_dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    assert_eq!(found.len(), 1, "one sweep folder in {}", runs_dir.display());
    found.pop().unwrap()
}

/// The header of a CSV file.
pub fn csv_header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().next().unwrap_or("").split(',').map(str::to_string).collect()
}

/// Every file under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// runs.csv without the `seconds` column (wall time is the one thing that may differ), rows sorted, so
/// that two sweeps of the same spec compare equal however their runs were scheduled.
pub fn results(sweep: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(sweep.join("runs.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let seconds = header.iter().position(|h| *h == "seconds").unwrap();
    let mut rows: Vec<String> = text
        .lines()
        .map(|l| l.split(',').enumerate().filter(|(i, _)| *i != seconds).map(|(_, f)| f).collect::<Vec<_>>().join(","))
        .collect();
    rows[1..].sort();
    rows
}
