//! The memory a sweep's training needs, estimated before anything trains, so that a width the machine
//! cannot hold is refused at once with the figures instead of dying (or swapping) minutes later.
//!
//! The estimate counts what training keeps alive for one pack (M models padded to the widest, as the
//! scheduler packs them), in f32: on the device the parameters, their gradients and the optimiser's
//! moments (and, for a centred network, its initial weights), and the activations of one batch (pre-activation, activation, ReLU mask and gradient of
//! every hidden layer, and the epoch's gathered mini-batches when the pack's runs draw their own); on the
//! host the run states (weights and moments) and their checkpoint bytes.
//! Workers train packs side by side, so the sweep needs the sum of its `jobs` largest packs. It is a
//! lower bound (Burn's temporaries come on top): a sweep it refuses cannot fit.

use ddlab_config::{Optimizer, RunKey, Spec};
use ddlab_data::Prepared;
use ddlab_model::MlpShape;
use ddlab_train::{Packing, plan_groups};

use crate::context::run_shape;
use crate::plan::scheduled;

const F32: f64 = 4.0;

/// What a GPU pack may use: bytes in all, and bytes in one buffer (the adapter's largest storage-buffer
/// binding: a bigger tensor cannot be bound to a kernel).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeviceBudget {
    pub bytes: f64,
    pub largest_buffer: f64,
}

/// What one pack needs, in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct PackMemory {
    /// `w<lo>-<hi> x<M>` of the pack, as progress shows it.
    pub label: String,
    pub device_params: f64,
    pub activations: f64,
    pub host_states: f64,
    /// The largest single tensor on the device: a layer's packed weights or one gathered mini-batch.
    pub largest_tensor: f64,
}

impl PackMemory {
    pub fn total(&self) -> f64 {
        self.device_params + self.activations + self.host_states
    }

    /// What the compute device holds: parameters, gradients, optimiser state and activations.
    pub fn device(&self) -> f64 {
        self.device_params + self.activations
    }
}

/// The sweep's training packs and their memory, largest first, planned as `options` would plan them.
pub fn training_memory(
    spec: &Spec,
    prepared: &[Prepared],
    packing: Packing,
    device_budget: Option<DeviceBudget>,
) -> Vec<PackMemory> {
    let runs = spec.runs();
    let fits = device_fits(spec, prepared, device_budget);
    let fits = |group: &[usize]| fits(&group.iter().map(|&i| runs[i]).collect::<Vec<_>>());
    let mut packs: Vec<PackMemory> = plan_groups(&scheduled(&runs), packing, &fits)
        .into_iter()
        .map(|group| pack_memory(spec, prepared, &group.iter().map(|&i| runs[i]).collect::<Vec<_>>()))
        .collect();
    packs.sort_by(|a, b| b.total().total_cmp(&a.total()));
    packs
}

/// The scheduler's memory question for a GPU plan: does a group of runs fit the device's budget, in all
/// and tensor by tensor? Always yes without a budget.
pub fn device_fits<'a>(
    spec: &'a Spec,
    prepared: &'a [Prepared],
    budget: Option<DeviceBudget>,
) -> impl Fn(&[RunKey]) -> bool + 'a {
    move |group: &[RunKey]| match budget {
        None => true,
        Some(budget) => {
            let pack = pack_memory(spec, prepared, group);
            pack.device() <= budget.bytes && pack.largest_tensor <= budget.largest_buffer
        }
    }
}

/// The memory of one pack of runs (all of one condition).
pub fn pack_memory(spec: &Spec, prepared: &[Prepared], pack: &[RunKey]) -> PackMemory {
    let moments = match spec.train.optimizer {
        Optimizer::Sgd { momentum: 0.0 } => 0.0,
        Optimizer::Sgd { .. } => 1.0,
        Optimizer::Adam { .. } => 2.0,
    };
    let data = &prepared[pack[0].index];
    // A centred pack keeps its initial networks on the device and their host weights (docs/SCIENCE.md,
    // interventions).
    let initial = if spec.condition_of(&pack[0]).centred { 1.0 } else { 0.0 };
    let shape = |width: usize| run_shape(spec, data, width);
    let widest = pack.iter().map(|k| k.width).max().unwrap_or(0);
    let m = pack.len() as f64;
    let padded_params = m * params(shape(widest));
    let own_params: f64 = pack.iter().map(|k| params(shape(k.width))).sum();
    let n = data.train.len();
    let batch = spec.train.batch_size.unwrap_or(n).min(n) as f64;
    let hidden = (spec.model.depth as f64) * m * (widest as f64);
    // Runs of different seeds draw their own mini-batches: the epoch's batches are gathered per model
    // up front (M copies of the training inputs and one-hot targets).
    let seeds_differ = pack.iter().any(|k| k.seed != pack[0].seed);
    let gathered = if seeds_differ && (batch as usize) < n { m * n as f64 * (data.train.dim + data.classes) as f64 } else { 0.0 };
    PackMemory {
        label: crate::pack_label(pack),
        device_params: padded_params * (2.0 + moments + initial) * F32,
        activations: (4.0 * hidden * batch + gathered) * F32,
        host_states: (2.0 * (1.0 + moments) + initial) * own_params * F32,
        largest_tensor: shape(widest)
            .layer_dims()
            .iter()
            .map(|&(i, o)| m * (i as f64) * (o as f64))
            .fold(if gathered > 0.0 { m * batch * data.train.dim as f64 } else { 0.0 }, f64::max)
            * F32,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const SWEEP: &str = "seeds = [0, 1]\n[data]\ndataset = \"teacher\"\npool = 300\ndim = 10\nclasses = 3\nn_train = 100\nn_test = 50\n[model]\nwidths = [4, 8, 64]\n[train]\nbatch_size = 20\noptimizer = \"sgd\"\nmomentum = 0.0\n";

    fn setup() -> (Spec, Vec<Prepared>) {
        let spec = ddlab_config::parse_spec(SWEEP, "m").unwrap();
        let prepared = crate::prepare_conditions(&spec, std::path::Path::new("/nonexistent")).unwrap();
        (spec, prepared)
    }

    /// Hand-computed: two runs (seeds 0 and 1) of widths 4 and 8 padded to 8, 10 inputs, 3 classes, plain
    /// SGD (no moments), batch 20 of 100 examples.
    #[test]
    fn a_gpu_pack_counts_its_parameters_batches_and_largest_tensor() {
        let (spec, prepared) = setup();
        let runs = spec.runs();
        let pack = [runs[0], runs[3]]; // w4-s0 and w8-s1
        let memory = pack_memory(&spec, &prepared, &pack);
        let padded_params = 2.0 * ((10.0 + 1.0) * 8.0 + (8.0 + 1.0) * 3.0);
        assert_eq!(memory.device_params, padded_params * 2.0 * F32);
        // Activations of one batch (4 per hidden unit) and the epoch's gathered inputs and targets.
        assert_eq!(memory.activations, (4.0 * 2.0 * 8.0 * 20.0 + 2.0 * 100.0 * 13.0) * F32);
        // The largest tensor: one gathered batch (2 x 20 x 10) against the first layer (2 x 10 x 8).
        assert_eq!(memory.largest_tensor, 2.0 * 20.0 * 10.0 * F32);
        assert_eq!(memory.label, "w4-8 x2");
        // Centred, the same pack also holds its initial networks: one more copy of the padded parameters
        // on the device, one more of its own on the host.
        let centred = ddlab_config::parse_spec(&format!("{SWEEP}[conditions]\ncentred = [true]\n"), "m").unwrap();
        let centred_memory = pack_memory(&centred, &prepared, &[centred.runs()[0], centred.runs()[3]]);
        assert_eq!(centred_memory.device_params, padded_params * 3.0 * F32);
        let own_params = (10.0 + 1.0) * 4.0 + (4.0 + 1.0) * 3.0 + (10.0 + 1.0) * 8.0 + (8.0 + 1.0) * 3.0;
        assert_eq!(centred_memory.host_states - memory.host_states, own_params * F32);
    }

    #[test]
    fn the_gpu_plan_keeps_every_pack_within_the_budget() {
        let (spec, prepared) = setup();
        let runs = spec.runs();
        let one_wide = pack_memory(&spec, &prepared, &[runs[4]]);
        let budget = DeviceBudget { bytes: 2.5 * one_wide.device(), largest_buffer: f64::INFINITY };
        let packs = training_memory(&spec, &prepared, Packing::Wide { overhead_units: 1 << 20 }, Some(budget));
        assert!(packs.len() > 1, "the budget splits the sweep");
        assert!(packs.iter().all(|p| p.device() <= budget.bytes), "{packs:?}");
        assert_eq!(training_memory(&spec, &prepared, Packing::Wide { overhead_units: 1 << 20 }, None).len(), 1);
        let fits = device_fits(&spec, &prepared, Some(DeviceBudget { bytes: f64::INFINITY, largest_buffer: 100.0 }));
        assert!(!fits(&runs[..1]), "a tensor larger than the adapter's largest buffer does not fit");
    }
}
