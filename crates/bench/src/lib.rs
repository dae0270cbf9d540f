//! # ddlab-bench
//!
//! The measuring behind `ddlab bench` (the binary keeps the arguments, the list of configurations and
//! the printing): a child process's own wall time, CPU time and peak memory ([`measure`]), the FLOPs
//! of a sweep's training ([`sweep_flops`]), a plain-matmul reference on the same backend
//! ([`plain_matmul_gflops`]) and the PyTorch reference, whose data this crate exports
//! ([`export_for_torch`]) and whose script it runs ([`torch_run`]). Speed is reported as ratios of runs
//! measured in the same process, never as absolute figures in tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::Spec;
use ddlab_model::MlpShape;

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start the benchmark child: {0}")]
    Spawn(std::io::Error),
    #[error("benchmark child failed (wait status {0})")]
    Child(i32),
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the PyTorch reference {0} is missing: set DDLAB_TORCH_SCRIPT")]
    NoScript(PathBuf),
    #[error("the PyTorch reference failed: {0}")]
    Torch(String),
}

/// What one child process measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Seconds from start to exit.
    pub wall: f64,
    /// User plus system CPU seconds of the child.
    pub cpu: f64,
    /// Peak resident memory of the child, MiB.
    pub max_rss_mib: f64,
}

/// Runs a command and measures it with wait4 (its own CPU time and peak resident memory).
pub fn measure(mut command: Command) -> Result<Measured, BenchError> {
    let start = Instant::now();
    let child = command.spawn().map_err(BenchError::Spawn)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; pid is our own child, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(BenchError::Child(status));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Ok(Measured { wall, cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime), max_rss_mib: usage.ru_maxrss as f64 / 1024.0 })
}

/// The run of median wall time (the upper one of an even count).
pub fn median(runs: &[Measured]) -> Measured {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    sorted[sorted.len() / 2]
}

/// `(range LO-HI s over N runs)` of some wall times.
pub fn range_text(seconds: &[f64]) -> String {
    let (lo, hi) = seconds.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    format!("(range {lo:.2}-{hi:.2} s over {} runs)", seconds.len())
}

/// Training FLOPs of the sweep: forward 2 sum(fan_in fan_out) per example; backward the weight
/// gradients (same again) and the input gradients of every layer but the first; plus the forward
/// passes of every evaluation over the training and test sets.
pub fn sweep_flops(spec: &Spec, input: usize, classes: usize, n_test: usize) -> f64 {
    let mut total = 0.0;
    for run in spec.runs() {
        let shape = MlpShape { input, width: run.width, depth: spec.model.depth, classes };
        let forward = shape.forward_flops_per_example() as f64;
        let backward = 2.0 * forward - 2.0 * (input * run.width) as f64;
        let n = spec.condition_of(&run).n_train as f64;
        let train = spec.train_for(spec.condition_of(&run));
        let evals = train.epochs.div_ceil(train.eval_every) as f64;
        total += train.epochs as f64 * n * (forward + backward) + evals * forward * (n + n_test as f64);
    }
    total
}

/// GFLOP/s of a plain `[n, d] x [d, h]` matmul, `threads` running at once, for about a second.
pub fn plain_matmul_gflops(device: &Device, n: usize, d: usize, h: usize, threads: usize) -> f64 {
    let a = Tensor::<2>::from_data(TensorData::new(vec![0.5f32; n * d], [n, d]), device);
    let b = Tensor::<2>::from_data(TensorData::new(vec![0.25f32; d * h], [d, h]), device);
    // The sum is read back, not the product: on a GPU reading [n, h] back would time the copy.
    let _ = a.clone().matmul(b.clone()).sum().into_data();
    let runs: Vec<(usize, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let start = Instant::now();
                    let mut count = 0;
                    while start.elapsed() < Duration::from_secs(1) {
                        let _ = a.clone().matmul(b.clone()).sum().into_data();
                        count += 1;
                    }
                    (count, start.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("matmul thread")).collect()
    });
    let flops = 2.0 * (n * d * h) as f64 * runs.iter().map(|r| r.0).sum::<usize>() as f64;
    let seconds = runs.iter().map(|r| r.1).fold(0.0, f64::max);
    flops / seconds / 1e9
}

/// Whether `python3` can import torch (and, for `cuda`, sees a CUDA device).
pub fn torch_available(torch_device: &str) -> bool {
    let probe = if torch_device == "cuda" { "import torch; assert torch.cuda.is_available()" } else { "import torch" };
    Command::new("python3").args(["-c", probe]).stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Writes the prepared data (raw little-endian f32 files) and the sweep's settings into `dir` for the
/// PyTorch reference script; returns the path of its config file (`torch.json`).
pub fn export_for_torch(
    spec: &Spec,
    prepared: &[ddlab_data::Prepared],
    dir: &Path,
    processes: usize,
    torch_device: &str,
) -> Result<PathBuf, BenchError> {
    let write =
        |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).map_err(|source| BenchError::Write { path: path.into(), source });
    let mut conditions = Vec::new();
    for (i, (condition, data)) in spec.conditions.iter().zip(prepared).enumerate() {
        let write_f32 = |name: &str, values: &[f32]| -> Result<String, BenchError> {
            let path = dir.join(format!("c{i}-{name}.f32"));
            write(&path, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())?;
            Ok(path.display().to_string())
        };
        let labels = |y: &[u32]| y.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        conditions.push(serde_json::json!({
            "n_train": condition.n_train,
            "epochs": spec.train_for(condition).epochs,
            "x_train": write_f32("xtrain", &data.train.x)?, "y_train": write_f32("ytrain", &labels(&data.train.y))?,
            "x_test": write_f32("xtest", &data.test.x)?, "y_test": write_f32("ytest", &labels(&data.test.y))?,
            "dim": data.train.dim, "classes": data.classes,
        }));
    }
    let config = serde_json::json!({
        "conditions": conditions,
        "widths": spec.model.widths, "depth": spec.model.depth, "seeds": spec.seeds,
        "epochs": spec.train.epochs, "eval_every": spec.train.eval_every,
        "batch_size": spec.train.batch_size, "lr": spec.train.lr,
        "loss": match spec.train.loss { ddlab_config::Loss::Mse => "mse", ddlab_config::Loss::Ce => "ce" },
        "optimizer": match spec.train.optimizer { ddlab_config::Optimizer::Adam { .. } => "adam", ddlab_config::Optimizer::Sgd { .. } => "sgd" },
        "momentum": match spec.train.optimizer { ddlab_config::Optimizer::Sgd { momentum } => momentum, _ => 0.0 },
        "processes": processes,
        "device": torch_device,
    });
    let config_path = dir.join("torch.json");
    write(&config_path, config.to_string().as_bytes())?;
    Ok(config_path)
}

/// One run of the PyTorch reference `script` on `config_path` with `strategy` (separate, packed or
/// compiled): its wall time as the script measures it.
pub fn torch_run(script: &Path, config_path: &Path, strategy: &str) -> Result<f64, BenchError> {
    if !script.is_file() {
        return Err(BenchError::NoScript(script.into()));
    }
    let out = Command::new("python3")
        .arg(script)
        .arg(config_path)
        .arg(strategy)
        .output()
        .map_err(|e| BenchError::Torch(e.to_string()))?;
    if !out.status.success() {
        return Err(BenchError::Torch(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| BenchError::Torch(format!("printed no time: `{}`", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_measured_and_a_failing_child_is_an_error() {
        let m = measure(Command::new("true")).unwrap();
        assert!(m.wall >= 0.0 && m.cpu >= 0.0 && m.max_rss_mib > 0.0, "{m:?}");
        assert!(matches!(measure(Command::new("false")), Err(BenchError::Child(_))));
        assert!(matches!(measure(Command::new("/nonexistent/ddlab-child")), Err(BenchError::Spawn(_))));
    }

    #[test]
    fn the_median_is_the_middle_wall_time_and_the_range_names_the_extremes() {
        let m = |wall| Measured { wall, cpu: 0.0, max_rss_mib: 0.0 };
        assert_eq!(median(&[m(3.0), m(1.0), m(2.0)]).wall, 2.0);
        assert_eq!(range_text(&[2.0, 1.5, 4.25]), "(range 1.50-4.25 s over 3 runs)");
    }

    #[test]
    fn sweep_flops_counts_forward_backward_and_evaluations_by_hand() {
        // One run: d = 3, width 2, K = 2, n = 4, 10 epochs, evaluated every 5 on 4 train + 6 test.
        // forward = 2 (3 2 + 2 2) = 20 per example; backward = 2 20 - 2 (3 2) = 28;
        // total = 10 4 (20 + 28) + 2 20 (4 + 6) = 1920 + 400.
        let text = "name = \"f\"\nseeds = [0]\n[data]\ndataset = \"teacher\"\npool = 20\ndim = 3\nclasses = 2\nn_train = 4\nn_test = 6\n[model]\nwidths = [2]\n[train]\nepochs = 10\neval_every = 5\n";
        let spec = ddlab_config::parse_spec(text, "f.toml").unwrap();
        assert_eq!(sweep_flops(&spec, 3, 2, 6), 2320.0);
    }
}
