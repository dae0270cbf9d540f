//! `ddlab bench`: how fast the default sweep trains, as ratios measured in one run on one machine.
//!
//! Each configuration trains the same sweep (the experiment, cut to `--epochs`) in a child process of
//! its own, so that its wall time, CPU time and peak memory are its own (`wait4`). The plain-matmul
//! reference runs in this process on the same backend, with as many threads as the sweep's workers.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use anyhow::Context;
use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::{Spec, load_spec};
use ddlab_model::MlpShape;
use ddlab_store::{SweepDir, write_atomic};
use ddlab_train::Packing;

use crate::backend::DeviceClass;
use crate::cli::{Backend, BenchArgs, BenchChildArgs, PlanKind};
use ddlab_sweep::{Mode, TrainOptions, default_jobs, prepare_conditions, train_sweep};

use crate::{backend, data_dir, default_experiment};

/// What one child process measured.
#[derive(Clone, Copy, Debug)]
struct Measured {
    wall: f64,
    cpu: f64,
    max_rss_mib: f64,
}

/// Runs a command and measures it with wait4 (its own CPU time and peak resident memory).
fn measure(mut command: Process) -> anyhow::Result<Measured> {
    let start = Instant::now();
    let child = command.spawn().context("cannot start the benchmark child")?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; pid is our own child, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        anyhow::bail!("benchmark child failed (status {status})");
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Ok(Measured { wall, cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime), max_rss_mib: usage.ru_maxrss as f64 / 1024.0 })
}

/// Training FLOPs of the sweep: forward 2 sum(fan_in fan_out) per example; backward the weight
/// gradients (same again) and the input gradients of every layer but the first; plus the forward
/// passes of every evaluation over the training and test sets.
fn sweep_flops(spec: &Spec, input: usize, classes: usize, n_test: usize) -> f64 {
    let mut total = 0.0;
    for run in spec.runs() {
        let shape = MlpShape { input, width: run.width, depth: spec.model.depth, classes };
        let forward = shape.forward_flops_per_example() as f64;
        let backward = 2.0 * forward - 2.0 * (input * run.width) as f64;
        let n = run.condition.n_train as f64;
        let train = spec.train_for(&run.condition);
        let evals = train.epochs.div_ceil(train.eval_every) as f64;
        total += train.epochs as f64 * n * (forward + backward) + evals * forward * (n + n_test as f64);
    }
    total
}

/// GFLOP/s of a plain `[n, d] x [d, h]` matmul, `threads` running at once, for about a second.
fn plain_matmul_gflops(device: &Device, n: usize, d: usize, h: usize, threads: usize) -> f64 {
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

/// One timed configuration: a child process training the sweep.
struct Config {
    label: String,
    backend: Backend,
    separate: bool,
    plan: Option<PlanKind>,
    jobs: usize,
}

fn child(exe: &Path, spec_path: &Path, runs_dir: &Path, config: &Config) -> Process {
    let mut command = Process::new(exe);
    command.args(["bench-child", "--spec"]).arg(spec_path).arg("--runs-dir").arg(runs_dir).args([
        "--backend",
        backend_flag(config.backend),
        "--jobs",
        &config.jobs.to_string(),
    ]);
    if config.separate {
        command.arg("--separate");
    }
    if let Some(plan) = config.plan {
        command.args(["--plan", if plan == PlanKind::Cpu { "cpu" } else { "gpu" }]);
    }
    command
}

pub fn backend_flag(backend: Backend) -> &'static str {
    match backend {
        Backend::Auto => "auto",
        Backend::Flex => "flex",
        Backend::Ndarray => "ndarray",
        Backend::Wgpu => "wgpu",
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let file = args.experiment.clone().unwrap_or_else(default_experiment);
    let mut spec = load_spec(&file)?;
    anyhow::ensure!(
        spec.model.kind.is_mlp(),
        "{}: model.kind = \"{}\" is fitted in closed form; `ddlab bench` times training (give an MLP experiment)",
        file.display(),
        spec.model.kind.name()
    );
    spec.name = format!("{}-bench", spec.name);
    spec.train.epochs = args.epochs.min(spec.train.epochs);
    spec.train.eval_every = spec.train.eval_every.min(spec.train.epochs);
    for condition in &mut spec.conditions {
        condition.epochs = condition.epochs.map(|e| e.min(args.epochs));
    }
    spec.train.checkpoint_every = 0;
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let (input, classes, n_test) = (prepared[0].train.dim, prepared[0].classes, prepared[0].test.len());
    let cores = default_jobs();
    let chosen = backend::choose(args.backend)?;
    let backend = match (args.backend, chosen.class) {
        (Backend::Auto, DeviceClass::Gpu) => Backend::Wgpu,
        (Backend::Auto, DeviceClass::Cpu) => Backend::Flex,
        (named, _) => named,
    };
    let device_args = crate::cli::DeviceArgs { backend, jobs: None, device_memory_gib: None };
    let (packing, jobs, budget) = backend::plan(&chosen, &device_args, false);
    let tmp = tempfile::tempdir()?;
    let spec_path = tmp.path().join("spec.toml");
    write_atomic(&spec_path, toml::to_string(&spec)?.as_bytes())?;
    let exe = std::env::current_exe()?;
    println!(
        "ddlab bench: {} ({} runs, {} of its epochs, {cores} cores) on {}",
        file.display(),
        spec.runs().len(),
        spec.train.epochs,
        chosen.label
    );
    let plan_text = match (packing, budget) {
        (Packing::Wide { overhead_units }, Some(b)) => format!(
            "GPU plan: packs across widths and seeds (padding up to {overhead_units} units, {:.1} GiB a pack, {:.2} GiB a tensor), 1 stream",
            b.bytes / GIB,
            b.largest_buffer / GIB
        ),
        _ => format!("CPU plan: narrow runs packed, wide runs alone, {jobs} workers"),
    };
    let packs = ddlab_sweep::training_memory(&spec, &prepared, packing, budget).len();
    println!("{plan_text}: {packs} packs");

    // This machine's timings vary by up to 40% from run to run (the same sweep: 6.5 to 9.9 s), so every
    // configuration runs once per round, `--repeat` rounds, and the medians are compared.
    let name = backend_flag(backend);
    let mut configs = Vec::new();
    if !args.no_separate {
        configs.push(Config {
            label: format!("one model at a time, {name}, 1 worker"),
            backend,
            separate: true,
            plan: None,
            jobs: 1,
        });
    }
    let scheduler = configs.len();
    configs.push(Config { label: format!("scheduler, {name}, {jobs} worker(s)"), backend, separate: false, plan: None, jobs });
    if args.compare_plans && chosen.class == DeviceClass::Gpu {
        configs.push(Config {
            label: format!("CPU plan on {name}, 1 worker"),
            backend,
            separate: false,
            plan: Some(PlanKind::Cpu),
            jobs: 1,
        });
    }
    let ndarray = (!args.no_ndarray && chosen.class == DeviceClass::Cpu).then(|| {
        configs.push(Config {
            label: format!("scheduler, ndarray, {jobs} worker(s)"),
            backend: Backend::Ndarray,
            separate: false,
            plan: None,
            jobs,
        });
        configs.len() - 1
    });
    // The PyTorch reference runs in the same rounds, so that a slow spell of the machine hits both sides.
    let torch_config = if args.no_torch { None } else { torch_setup(&spec, &prepared, tmp.path(), cores, &args.torch_device)? };
    let mut measured: Vec<Vec<Measured>> = vec![Vec::new(); configs.len()];
    let mut torch_times = Vec::new();
    for round in 0..args.repeat.max(1) {
        for (i, config) in configs.iter().enumerate() {
            let runs_dir = tmp.path().join(format!("c{i}-{round}"));
            measured[i].push(measure(child(&exe, &spec_path, &runs_dir, config)).with_context(|| config.label.clone())?);
        }
        if let Some(config) = &torch_config {
            torch_times.push(torch_run(config)?);
        }
    }
    let median = |m: &[Measured]| -> Measured {
        let mut sorted = m.to_vec();
        sorted.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        sorted[sorted.len() / 2]
    };
    let range = |m: &[Measured]| range_text(&m.iter().map(|x| x.wall).collect::<Vec<f64>>());
    let packed = median(&measured[scheduler]);
    for (i, config) in configs.iter().enumerate() {
        let this = median(&measured[i]);
        let ratio = if i == scheduler {
            if scheduler > 0 {
                format!("   speed-up {:.2}x over one at a time", median(&measured[0]).wall / packed.wall)
            } else {
                String::new()
            }
        } else if Some(i) == ndarray {
            format!("   {name} is {:.2}x faster", this.wall / packed.wall)
        } else if i > scheduler {
            // The CPU plan on a GPU: what the device's own plan gains.
            format!("   the GPU plan is {:.2}x faster", this.wall / packed.wall)
        } else {
            // One at a time: its ratio is the scheduler line's speed-up.
            String::new()
        };
        println!("{:<44} {:7.2} s {}{ratio}", format!("{}:", config.label), this.wall, range(&measured[i]));
    }
    let flops = sweep_flops(&spec, input, classes, n_test);
    let widest = *spec.model.widths.iter().max().unwrap();
    let n = spec.conditions.iter().map(|c| c.n_train).max().unwrap();
    let threads = if chosen.class == DeviceClass::Gpu { 1 } else { jobs };
    // The best of a few one-second windows: a slow spell can only lower a window's rate.
    let plain =
        (0..args.repeat.max(1)).map(|_| plain_matmul_gflops(&chosen.device, n, input, widest, threads)).fold(0.0, f64::max);
    let achieved = flops / packed.wall / 1e9;
    println!(
        "throughput: {achieved:.1} GFLOP/s over the sweep = {:.1}% of a plain [{n} x {input}] x [{input} x {widest}] matmul on {name} with {threads} thread(s) ({plain:.1} GFLOP/s)",
        100.0 * achieved / plain
    );
    println!("cores busy (CPU time / wall time): {:.2}", packed.cpu / packed.wall);
    println!("peak resident memory: {:.0} MiB", packed.max_rss_mib);
    if args.no_torch {
        return Ok(());
    }
    if torch_times.is_empty() {
        println!(
            "PyTorch reference: skipped (python3 cannot import torch{})",
            if args.torch_device == "cuda" { " or sees no CUDA device" } else { "" }
        );
    } else {
        torch_times.sort_by(f64::total_cmp);
        let torch = torch_times[torch_times.len() / 2];
        let how = if args.torch_device == "cuda" {
            "model by model on cuda, 1 process".to_string()
        } else {
            format!("1 thread per process, {cores} processes")
        };
        println!(
            "PyTorch reference ({how}): {torch:7.2} s {}   ddlab is {:.2}x faster",
            range_text(&torch_times),
            torch / packed.wall
        );
    }
    Ok(())
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `(range LO-HI s over N runs)` of some wall times.
fn range_text(seconds: &[f64]) -> String {
    let (lo, hi) = seconds.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    format!("(range {lo:.2}-{hi:.2} s over {} runs)", seconds.len())
}

/// Writes the prepared data and the sweep's settings for scripts/bench_torch.py, if PyTorch is
/// installed; the path of its config file.
fn torch_setup(
    spec: &Spec,
    prepared: &[ddlab_data::Prepared],
    dir: &Path,
    jobs: usize,
    torch_device: &str,
) -> anyhow::Result<Option<PathBuf>> {
    let probe = if torch_device == "cuda" { "import torch; assert torch.cuda.is_available()" } else { "import torch" };
    let has_torch =
        Process::new("python3").args(["-c", probe]).stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success());
    if !has_torch {
        return Ok(None);
    }
    let mut conditions = Vec::new();
    for (i, (condition, data)) in spec.conditions.iter().zip(prepared).enumerate() {
        let write_f32 = |name: &str, values: &[f32]| -> anyhow::Result<String> {
            let path = dir.join(format!("c{i}-{name}.f32"));
            std::fs::write(&path, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())?;
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
        "processes": if torch_device == "cuda" { 1 } else { jobs },
        "device": torch_device,
    });
    let config_path = dir.join("torch.json");
    std::fs::write(&config_path, serde_json::to_vec(&config)?)?;
    Ok(Some(config_path))
}

/// One run of the PyTorch reference: its wall time as the script measures it.
fn torch_run(config_path: &Path) -> anyhow::Result<f64> {
    // A binary carried to another machine (a GPU machine) finds the script through DDLAB_TORCH_SCRIPT.
    let script = std::env::var_os("DDLAB_TORCH_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_torch.py"));
    anyhow::ensure!(script.is_file(), "the PyTorch reference {} is missing: set DDLAB_TORCH_SCRIPT", script.display());
    let out = Process::new("python3").arg(&script).arg(config_path).output().context("cannot run the PyTorch reference")?;
    anyhow::ensure!(out.status.success(), "the PyTorch reference failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().context("the PyTorch reference printed no time")
}

/// The hidden child of `ddlab bench`: trains a resolved spec with the given options, silently.
pub fn child_main(args: BenchChildArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.spec)?;
    let spec: Spec = toml::from_str(&text).with_context(|| format!("{}: unreadable spec", args.spec.display()))?;
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let chosen = backend::choose(args.backend)?;
    let sweep = SweepDir::create(&args.runs_dir, &spec)?;
    let device_args = crate::cli::DeviceArgs { backend: args.backend, jobs: Some(args.jobs), device_memory_gib: None };
    let mut planned_on = chosen;
    if let Some(plan) = args.plan {
        planned_on.class = if plan == PlanKind::Cpu { DeviceClass::Cpu } else { DeviceClass::Gpu };
    }
    let (packing, _, device_memory) = backend::plan(&planned_on, &device_args, args.separate);
    let device = planned_on.device;
    let options = TrainOptions { jobs: args.jobs, packing, device_memory, retry_failed: false };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let outcome = train_sweep(&sweep, &prepared, &device, &spec.runs(), options, Mode::Quiet, &stop)?;
    anyhow::ensure!(outcome.failed == 0, "{} runs failed", outcome.failed);
    Ok(())
}
