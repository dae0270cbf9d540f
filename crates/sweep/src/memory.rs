//! The memory a sweep's training needs, estimated before anything trains, so that a width the machine
//! cannot hold is refused at once with the figures instead of dying (or swapping) minutes later.
//!
//! The estimate counts what training keeps alive for one pack (M models padded to the widest, as the
//! scheduler packs them), in f32: on the device the parameters, their gradients and the optimiser's
//! moments, and the activations of one batch (pre-activation, activation, ReLU mask and gradient of
//! every hidden layer); on the host the run states (weights and moments) and their checkpoint bytes.
//! Workers train packs side by side, so the sweep needs the sum of its `jobs` largest packs. It is a
//! lower bound (Burn's temporaries come on top): a sweep it refuses cannot fit.

use ddlab_config::{Optimizer, Spec};
use ddlab_data::Prepared;
use ddlab_model::MlpShape;
use ddlab_train::{Packing, PendingRun, plan_groups};

const F32: f64 = 4.0;

/// What one pack needs, in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct PackMemory {
    /// `w<lo>-<hi> x<M>` of the pack, as progress shows it.
    pub label: String,
    pub device_params: f64,
    pub activations: f64,
    pub host_states: f64,
}

impl PackMemory {
    pub fn total(&self) -> f64 {
        self.device_params + self.activations + self.host_states
    }
}

/// The sweep's training packs and their memory, largest first.
pub fn training_memory(spec: &Spec, prepared: &[Prepared], packing: Packing) -> Vec<PackMemory> {
    let moments = match spec.train.optimizer {
        Optimizer::Sgd { momentum } if momentum == 0.0 => 0.0,
        Optimizer::Sgd { .. } => 1.0,
        Optimizer::Adam { .. } => 2.0,
    };
    let runs = spec.runs();
    let condition_of = |i: usize| spec.conditions.iter().position(|c| *c == runs[i].condition).unwrap_or(0);
    let planned: Vec<PendingRun> =
        (0..runs.len()).map(|i| PendingRun { key: (condition_of(i), 0), width: runs[i].width }).collect();
    let mut packs: Vec<PackMemory> = plan_groups(&planned, packing)
        .into_iter()
        .map(|group| {
            let data = &prepared[condition_of(group[0])];
            let shape = |width: usize| MlpShape { input: data.train.dim, width, depth: spec.model.depth, classes: data.classes };
            let widest = group.iter().map(|&i| runs[i].width).max().unwrap_or(0);
            let narrowest = group.iter().map(|&i| runs[i].width).min().unwrap_or(0);
            let m = group.len() as f64;
            let padded_params = m * params(shape(widest));
            let own_params: f64 = group.iter().map(|&i| params(shape(runs[i].width))).sum();
            let batch = spec.train.batch_size.unwrap_or(data.train.len()).min(data.train.len()) as f64;
            let hidden = (spec.model.depth as f64) * m * (widest as f64);
            PackMemory {
                label: if narrowest == widest {
                    format!("w{widest} x{}", group.len())
                } else {
                    format!("w{narrowest}-{widest} x{}", group.len())
                },
                device_params: padded_params * (2.0 + moments) * F32,
                activations: 4.0 * hidden * batch * F32,
                host_states: 2.0 * own_params * (1.0 + moments) * F32,
            }
        })
        .collect();
    packs.sort_by(|a, b| b.total().total_cmp(&a.total()));
    packs
}

/// Parameters of a shape, in f64 so that absurd widths do not overflow.
fn params(shape: MlpShape) -> f64 {
    shape.layer_dims().iter().map(|&(i, o)| (i as f64 + 1.0) * o as f64).sum()
}

/// Bytes the sweep needs with `jobs` workers: its `jobs` largest packs at once.
pub fn peak_training_memory(packs: &[PackMemory], jobs: usize) -> f64 {
    packs.iter().take(jobs.max(1)).map(PackMemory::total).sum()
}

/// Memory the system can give a new process without swapping (Linux's MemAvailable), in bytes; `None`
/// where the kernel does not say.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Refuses a sweep whose training needs more memory than `available`, naming the pack and the figures.
pub fn check_training_memory(packs: &[PackMemory], jobs: usize, available: f64) -> Result<(), String> {
    let need = peak_training_memory(packs, jobs);
    if need <= available {
        return Ok(());
    }
    let largest = &packs[0];
    Err(format!(
        "model.widths: training needs at least {} of memory ({} pack(s) at once on {jobs} worker(s); the largest, {}, holds {} of parameters, gradients and optimiser state, {} of activations and {} of run states), but {} is available; narrow the widths, lower --jobs or train.batch_size, or pass --force to try anyway",
        bytes(need),
        jobs.max(1).min(packs.len()),
        largest.label,
        bytes(largest.device_params),
        bytes(largest.activations),
        bytes(largest.host_states),
        bytes(available),
    ))
}

/// `12.3 GB` style.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = b;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
