//! `ddlab bench`: how fast the default sweep trains, as ratios measured in one run on one machine.
//!
//! Each configuration trains the same sweep (the experiment, cut to `--epochs`) in a child process of
//! its own, so that its wall time, CPU time and peak memory are its own (`wait4`). The plain-matmul
//! reference runs in this process on the same backend, with as many threads as the sweep's workers.
//! The measuring lives in `ddlab-bench`; this module holds the configurations and prints the ratios.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::Context;
use ddlab_bench::{Measured, export_for_torch, measure, median, plain_matmul_gflops, range_text, sweep_flops, torch_available};
use ddlab_config::{Spec, load_spec};
use ddlab_store::SweepDir;
use ddlab_train::Packing;

use crate::backend::DeviceClass;
use crate::cli::{Backend, BenchArgs, BenchChildArgs, PlanKind};
use ddlab_sweep::{Mode, SweepContext, TrainOptions, default_jobs, prepare_conditions, train_sweep};

use crate::{backend, data_dir, default_experiment};

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
    if args.probes {
        return run_probes(&args, &file, spec);
    }
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
    let spec_path = tmp.path().join("experiment.toml");
    std::fs::write(&spec_path, toml::to_string(&spec)?)?;
    let exe = std::env::current_exe()?;
    println!(
        "ddlab bench: {} ({} runs, {} of its epochs, {cores} cores) on {}; flex's matmuls: {}",
        file.display(),
        spec.runs().len(),
        spec.train.epochs,
        chosen.label,
        matmul_kernels()
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
    let torch_config = if args.no_torch || !torch_available(&args.torch_device) {
        None
    } else {
        let processes = if args.torch_device == "cuda" { 1 } else { cores };
        Some(export_for_torch(&spec, &prepared, tmp.path(), processes, &args.torch_device)?)
    };
    let mut measured: Vec<Vec<Measured>> = vec![Vec::new(); configs.len()];
    let mut torch_times: Vec<Vec<f64>> = vec![Vec::new(); args.torch_strategies.len()];
    for round in 0..args.repeat.max(1) {
        for (i, config) in configs.iter().enumerate() {
            let runs_dir = tmp.path().join(format!("c{i}-{round}"));
            measured[i].push(measure(child(&exe, &spec_path, &runs_dir, config)).with_context(|| config.label.clone())?);
        }
        if let Some(config) = &torch_config {
            for (strategy, times) in args.torch_strategies.iter().zip(&mut torch_times) {
                times.push(
                    ddlab_bench::torch_run(&torch_script(), config, strategy)
                        .with_context(|| format!("the PyTorch reference, strategy {strategy}"))?,
                );
            }
        }
    }
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
    if torch_config.is_none() {
        println!(
            "PyTorch reference: skipped (python3 cannot import torch{})",
            if args.torch_device == "cuda" { " or sees no CUDA device" } else { "" }
        );
        return Ok(());
    }
    let processes =
        if args.torch_device == "cuda" { "1 process".to_string() } else { format!("1 thread per process, {cores} processes") };
    let mut fastest: Option<(&str, f64)> = None;
    for (strategy, times) in args.torch_strategies.iter().zip(&mut torch_times) {
        times.sort_by(f64::total_cmp);
        let torch = times[times.len() / 2];
        let how = match strategy.as_str() {
            "separate" => "model by model",
            "packed" => "the seeds of a width in one batched model",
            _ => "packed, the step under torch.compile",
        };
        println!(
            "{:<44} {torch:7.2} s {}   ddlab is {:.2}x faster",
            format!("PyTorch {strategy} ({how}, {processes}, {}):", args.torch_device),
            range_text(times),
            torch / packed.wall
        );
        if fastest.is_none_or(|(_, t)| torch < t) {
            fastest = Some((strategy, torch));
        }
    }
    if let Some((strategy, torch)) = fastest {
        println!("against the fastest PyTorch reference ({strategy}): ddlab is {:.2}x faster", torch / packed.wall);
    }
    Ok(())
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `ddlab bench --probes`: per width of the experiment, one model (first condition, first seed) trained in
/// a child process, then probed in another (load, observe, every single-model probe, as a sweep does for
/// each of its models), each measured by `wait4`: wall seconds and peak resident memory, side by side.
fn run_probes(args: &BenchArgs, file: &Path, mut spec: Spec) -> anyhow::Result<()> {
    if let Some(why) = spec.probes_not_applicable() {
        anyhow::bail!("{}: nothing to probe ({why})", file.display());
    }
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let probe_inputs = prepared[0].test.len().min(spec.probe.probe_set);
    let widths = spec.model.widths.clone();
    spec.seeds.truncate(1);
    spec.conditions.truncate(1);
    let jobs = default_jobs();
    let exe = std::env::current_exe()?;
    let tmp = tempfile::tempdir()?;
    println!(
        "ddlab bench --probes: {} ({} classes, {} probe inputs, {} epochs of training, {jobs} cores, {})",
        file.display(),
        prepared[0].classes,
        probe_inputs,
        spec.train.epochs,
        backend_flag(args.backend)
    );
    println!("| width | training s/model | training peak MiB | probe s/model | probe peak MiB | probe / training |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for width in widths {
        spec.model.widths = vec![width];
        let spec_path = tmp.path().join(format!("w{width}.toml"));
        std::fs::write(&spec_path, toml::to_string(&spec)?)?;
        let runs_dir = tmp.path().join(format!("w{width}"));
        let config = Config { label: String::new(), backend: args.backend, separate: true, plan: None, jobs };
        let train = measure(child(&exe, &spec_path, &runs_dir, &config)).with_context(|| format!("training width {width}"))?;
        let mut probe_command = child(&exe, &spec_path, &runs_dir, &config);
        probe_command.arg("--probe");
        let probe = measure(probe_command).with_context(|| format!("probing width {width}"))?;
        println!(
            "| {width} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} |",
            train.wall,
            train.max_rss_mib,
            probe.wall,
            probe.max_rss_mib,
            probe.wall / train.wall
        );
    }
    Ok(())
}

/// The PyTorch reference script: `DDLAB_TORCH_SCRIPT` (a binary carried to another machine, a GPU
/// machine, finds it so), else the repository's scripts/bench_torch.py.
fn torch_script() -> PathBuf {
    std::env::var_os("DDLAB_TORCH_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_torch.py"))
}

/// The hidden child of `ddlab bench`: trains a resolved spec with the given options, silently.
pub fn child_main(args: BenchChildArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.spec)?;
    let spec: Spec = toml::from_str(&text).with_context(|| format!("{}: unreadable spec", args.spec.display()))?;
    let prepared = prepare_conditions(&spec, &data_dir())?;
    let chosen = backend::choose(args.backend)?;
    let ctx = SweepContext::new(SweepDir::create(&args.runs_dir, &spec)?, prepared);
    let device_args = crate::cli::DeviceArgs { backend: args.backend, jobs: Some(args.jobs), device_memory_gib: None };
    let mut planned_on = chosen;
    if let Some(plan) = args.plan {
        planned_on.class = if plan == PlanKind::Cpu { DeviceClass::Cpu } else { DeviceClass::Gpu };
    }
    let (packing, _, device_memory) = backend::plan(&planned_on, &device_args, args.separate);
    let device = planned_on.device;
    if args.probe {
        let key = spec.runs().into_iter().next().context("the spec has no run")?;
        let metrics = ddlab_sweep::probe_one_model(&ctx, &key, &device)?;
        anyhow::ensure!(!metrics.is_empty(), "no probe metric computed");
        return Ok(());
    }
    let options = TrainOptions { jobs: args.jobs, packing, device_memory, retry_failed: false };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let outcome = train_sweep(&ctx, &device, &spec.runs(), options, Mode::Quiet, &stop)?;
    anyhow::ensure!(outcome.failed == 0, "{} runs failed", outcome.failed);
    Ok(())
}

/// Which gemm kernels flex's matmuls run here: the figures of a build with `--features avx512` on an
/// AVX-512 CPU are not comparable with the default build's (README, Speed).
fn matmul_kernels() -> &'static str {
    #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return "AVX-512 (the avx512 feature)";
    }
    if cfg!(feature = "avx512") {
        "AVX2 or narrower (the avx512 feature is on, but this CPU has no AVX-512)"
    } else {
        "AVX2 or narrower (the default build; `--features avx512` uses AVX-512 where the CPU has it)"
    }
}
