//! Packed training is exact, training learns, checkpoints are checked, resumed runs equal
//! uninterrupted ones, and divergence is caught.

use burn::tensor::Device;
use ddlab_config::{Condition, Init, Loss, Optimizer, Standardize, TrainSpec};
use ddlab_data::{Pools, Prepared, prepare, split, teacher};
use ddlab_model::{MlpShape, MlpWeights};
use ddlab_train::*;

struct Quiet {
    checkpoints: Vec<(usize, RunState)>,
    stop_after: Option<usize>,
    epoch: usize,
}

impl Quiet {
    fn new() -> Self {
        Quiet { checkpoints: Vec::new(), stop_after: None, epoch: 0 }
    }
}

impl Observer for Quiet {
    fn epoch_done(&mut self, epoch: usize) {
        self.epoch = epoch;
    }
    fn checkpoint(&mut self, run: usize, state: &RunState) -> Result<(), String> {
        self.checkpoints.push((run, state.clone()));
        Ok(())
    }
    fn stop_requested(&self) -> bool {
        self.stop_after.is_some_and(|e| self.epoch >= e)
    }
}

fn data(n: usize) -> Prepared {
    let pools = Pools { train: teacher(400, 6, 3, 8, 7).unwrap(), test: None };
    let split = split(pools, Some(100), 0).unwrap();
    prepare(&split, Condition::new(n, 0.2), Standardize::Feature, 0).unwrap()
}

fn spec(loss: Loss, optimizer: Optimizer, epochs: usize, batch_size: Option<usize>) -> TrainSpec {
    TrainSpec {
        loss,
        optimizer,
        lr: 0.01,
        lr_decay: None,
        epochs,
        batch_size,
        eval_every: epochs,
        checkpoint_every: 0,
        intervention: Default::default(),
    }
}

fn fresh(width: usize, depth: usize, seed: u64) -> RunState {
    let shape = MlpShape { input: 6, width, depth, classes: 3 };
    RunState::fresh(seed, MlpWeights::init(shape, Init::KaimingUniform, seed))
}

fn train(spec: &TrainSpec, data: &DeviceData, runs: Vec<RunState>) -> Vec<RunState> {
    train_group(spec, Hooks::default(), data, runs, &[], &mut Quiet::new()).unwrap().0
}

const SGD: Optimizer = Optimizer::Sgd { momentum: 0.9 };
const ADAM: Optimizer = Optimizer::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/// Grouped and separate training from the same initial weights and batch order give the same weights
/// after 20 steps (max abs difference <= 1e-5), for every grouping the scheduler uses.
#[test]
fn packed_training_equals_separate_training() {
    let device = Device::flex();
    let prepared = data(40);
    let data = DeviceData::new(&prepared, &device);
    for loss in [Loss::Mse, Loss::Ce] {
        for optimizer in [SGD, ADAM] {
            for depth in [1, 2] {
                // (batch size, epochs) giving 20 steps; runs of one seed share batches, of several seeds do not.
                for (batch, epochs, seeds) in
                    [(None, 20, vec![3, 3, 3]), (Some(10), 5, vec![3, 3, 3]), (Some(10), 5, vec![1, 2, 3])]
                {
                    let widths = [2, 5, 8];
                    let spec = spec(loss, optimizer, epochs, batch);
                    let runs: Vec<RunState> = widths.iter().zip(&seeds).map(|(&w, &s)| fresh(w, depth, s)).collect();
                    let packed = train(&spec, &data, runs.clone());
                    for (run, grouped) in runs.into_iter().zip(&packed) {
                        let alone = &train(&spec, &data, vec![run])[0];
                        let diff = alone.weights.max_abs_diff(&grouped.weights);
                        assert!(diff <= 1e-5, "{loss:?} {optimizer:?} depth {depth} batch {batch:?} seeds {seeds:?}: {diff}");
                        assert_eq!(alone.optim_step, 20);
                    }
                }
            }
        }
    }
}

#[test]
fn training_lowers_the_training_loss() {
    let device = Device::flex();
    let data = DeviceData::new(&data(200), &device);
    let mut spec = spec(Loss::Ce, ADAM, 60, Some(32));
    spec.eval_every = 10;
    let out = &train(&spec, &data, vec![fresh(32, 1, 0)])[0];
    let first = out.metrics.first().unwrap().train_loss;
    let last = out.metrics.last().unwrap().train_loss;
    assert!(last < 0.8 * first, "loss {first} -> {last}");
    assert_eq!(out.metrics.len(), 6);
    assert_eq!(out.status, RunStatus::Done);
    assert!(out.noisy_fit.is_some_and(|f| (0.0..=1.0).contains(&f)));
}

#[test]
fn checkpoints_round_trip_and_damage_is_detected() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    let mut spec = spec(Loss::Mse, ADAM, 6, Some(16));
    spec.checkpoint_every = 3;
    let mut observer = Quiet::new();
    train_group(&spec, Hooks::default(), &data, vec![fresh(4, 2, 1)], &[], &mut observer).unwrap();
    let (_, state) = &observer.checkpoints[0];
    assert_eq!(state.epoch, 3);
    assert_eq!(state.moments.len(), 2);
    let bytes = state.to_bytes();
    assert_eq!(&RunState::from_bytes(&bytes).unwrap(), state);
    let mut flipped = bytes.clone();
    flipped[40] ^= 1;
    assert!(RunState::from_bytes(&flipped).unwrap_err().to_string().contains("checksum"));
    assert!(RunState::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(RunState::from_bytes(b"garbage").is_err());
    // The pack's identity round-trips and is stored as it always was: a JSON list of the runs' folders.
    let spec_text = "seeds = [0, 1]\n[data]\ndataset = \"digits\"\nn_train = 100\n[model]\nwidths = [2]\n";
    let spec = ddlab_config::parse_spec(spec_text, "p").unwrap();
    let keys = spec.runs();
    let packed = RunState { pack: PackId::of(&spec, &keys), ..state.clone() };
    let bytes = packed.to_bytes();
    assert_eq!(RunState::from_bytes(&bytes).unwrap().pack, packed.pack);
    let header =
        String::from_utf8_lossy(&bytes[16..16 + u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize]).to_string();
    assert!(header.contains(&format!("\"pack\":[\"{}\",\"{}\"]", spec.run_name(&keys[0]), spec.run_name(&keys[1]))), "{header}");
    assert_eq!(spec.run_name(&keys[1]), "n100-noise0/w2-s1");
    assert_eq!((packed.pack.position(&spec, &keys[1]), packed.pack.len()), (Some(1), 2));
}

/// Stopping after epoch 4 and resuming from the checkpoint gives exactly the uninterrupted run.
#[test]
fn resumed_run_equals_uninterrupted_run() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    for optimizer in [SGD, ADAM] {
        let mut spec = spec(Loss::Ce, optimizer, 9, Some(16));
        spec.eval_every = 2;
        let straight = &train(&spec, &data, vec![fresh(6, 1, 2), fresh(3, 1, 5)]);
        let mut observer = Quiet::new();
        observer.stop_after = Some(4);
        let (partial, end) =
            train_group(&spec, Hooks::default(), &data, vec![fresh(6, 1, 2), fresh(3, 1, 5)], &[], &mut observer).unwrap();
        assert_eq!(end, GroupEnd::Interrupted);
        assert!(partial.iter().all(|p| p.epoch == 4));
        let saved: Vec<RunState> =
            observer.checkpoints.iter().map(|(_, s)| RunState::from_bytes(&s.to_bytes()).unwrap()).collect();
        let resumed = train(&spec, &data, saved);
        for (a, b) in straight.iter().zip(&resumed) {
            assert_eq!(a.weights, b.weights, "{optimizer:?}: weights differ");
            assert_eq!(a.metrics.len(), b.metrics.len());
            // Weights are bit-identical; an evaluation's loss is a multi-threaded sum on the device whose
            // order may vary, so it agrees to rounding.
            for (x, y) in a.metrics.iter().zip(&b.metrics) {
                assert_eq!((x.epoch, x.train_err, x.test_err), (y.epoch, y.train_err, y.test_err));
                assert!((x.train_loss - y.train_loss).abs() <= 1e-9 * x.train_loss.abs().max(1.0));
                assert!((x.test_loss - y.test_loss).abs() <= 1e-9 * x.test_loss.abs().max(1.0));
            }
        }
    }
}

#[test]
fn a_diverging_run_stops_with_a_reason_and_the_others_go_on() {
    let device = Device::flex();
    let data = DeviceData::new(&data(40), &device);
    let mut spec = spec(Loss::Mse, SGD, 30, None);
    spec.eval_every = 1;
    let mut exploding = fresh(8, 1, 0);
    exploding.weights.layers.iter_mut().for_each(|l| l.w.iter_mut().for_each(|w| *w *= 1e20));
    let out = train(&spec, &data, vec![exploding, fresh(4, 1, 1)]);
    match &out[0].status {
        RunStatus::Diverged { reason } => assert!(reason.contains("epoch 1"), "{reason}"),
        other => panic!("expected divergence, got {other:?}"),
    }
    assert_eq!(out[0].metrics.len(), 1, "no metrics after divergence");
    assert_eq!(out[1].status, RunStatus::Done);
    assert_eq!(out[1].metrics.len(), 30);
    assert!(out[1].metrics.iter().all(|m| m.train_loss.is_finite()));
}

#[test]
fn scheduler_packs_narrow_models_and_keeps_keys_apart() {
    let runs: Vec<PendingRun> = [1, 2, 4, 8, 16, 32, 64, 96, 128, 1024]
        .iter()
        .flat_map(|&w| [(0, 0), (1, 0)].map(|key| PendingRun { key, width: w }))
        .collect();
    let groups = plan_groups(&runs, Packing::Narrow { up_to: 16 }, &|_| true);
    let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
    seen.sort();
    assert_eq!(seen, (0..runs.len()).collect::<Vec<_>>(), "every run in exactly one group");
    for g in &groups {
        assert!(g.iter().all(|&i| runs[i].key == runs[g[0]].key), "one key per group");
        if g.len() > 1 {
            assert!(g.iter().all(|&i| runs[i].width <= 16), "only narrow runs share a network");
        }
    }
    let narrow: Vec<&Vec<usize>> = groups.iter().filter(|g| g.len() > 1).collect();
    assert_eq!(narrow.len(), 2, "one narrow pack per key");
    assert!(narrow.iter().all(|g| g.len() == 5));
    assert_eq!(groups.len(), 2 + 2 * 5);
    assert_eq!(runs[groups[0][0]].width, 1024, "the largest group goes first");
    assert_eq!(plan_groups(&runs, Packing::Separate, &|_| true).len(), runs.len());
    // The plan of the runs that remain is the plan of the whole, restricted.
    let rest: Vec<PendingRun> = runs.iter().copied().filter(|r| r.width != 1024).collect();
    assert_eq!(plan_groups(&rest, Packing::default(), &|_| true).iter().filter(|g| g.len() > 1).count(), 2);
}

/// The GPU plan: every run in one group, one key per group, each group within the memory budget, and
/// a run joins a group only when the padding it adds (members times the rise of the padded width) is
/// within the overhead allowance.
#[test]
fn gpu_plan_packs_across_widths_and_seeds_within_the_budget() {
    let widths = [1, 2, 4, 8, 16, 64, 256, 1024, 4096];
    let runs: Vec<PendingRun> = widths
        .iter()
        .flat_map(|&w| [(0, 0), (1, 0)].into_iter().flat_map(move |key| (0..5).map(move |_| PendingRun { key, width: w })))
        .collect();
    let overhead_units = 8192;
    for max_models in [usize::MAX, 12, 1] {
        let fits = |g: &[usize]| g.len() <= max_models;
        let groups = plan_groups(&runs, Packing::Wide { overhead_units }, &fits);
        let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..runs.len()).collect::<Vec<_>>(), "every run in exactly one group");
        for g in &groups {
            assert!(g.iter().all(|&i| runs[i].key == runs[g[0]].key), "one key per group");
            assert!(fits(g), "group of {} over the budget of {max_models}", g.len());
            for j in 1..g.len() {
                let padded = g[..j].iter().map(|&i| runs[i].width).max().unwrap();
                assert!(runs[g[j]].width >= padded, "members join narrowest first");
                assert!(j * (runs[g[j]].width - padded) <= overhead_units, "padding added beyond the allowance");
            }
        }
        if max_models == 1 {
            assert_eq!(groups.len(), runs.len());
        }
        if max_models == usize::MAX {
            // Per key: widths 1..256 (30 runs) cost at most 8192 units of padding together; 1024 would add
            // 30 x 768; 1024 and 4096 each make their own pack of 5 seeds.
            assert_eq!(groups.len(), 2 * 3);
            assert!(groups.iter().any(|g| g.len() == 35 && g.iter().all(|&i| runs[i].width <= 256)));
        }
    }
    // experiments/gpu.toml (widths 1-4096 in octaves, 5 seeds): 4 packs, as README says.
    let octaves: Vec<PendingRun> = (0..13).flat_map(|k| (0..5).map(move |_| PendingRun { key: (0, 0), width: 1 << k })).collect();
    let mut packs: Vec<Vec<usize>> = plan_groups(&octaves, Packing::Wide { overhead_units }, &|_| true)
        .iter()
        .map(|g| {
            let mut w: Vec<usize> = g.iter().map(|&i| octaves[i].width).collect();
            w.dedup();
            w
        })
        .collect();
    packs.sort();
    assert_eq!(packs, vec![vec![1, 2, 4, 8, 16, 32, 64, 128, 256], vec![512, 1024], vec![2048], vec![4096]]);
    // With no allowance only runs of one width (seeds) share a pack.
    let groups = plan_groups(&runs, Packing::Wide { overhead_units: 0 }, &|_| true);
    assert_eq!(groups.len(), 2 * widths.len());
}

/// Every kind of pack the GPU plan makes (widths far apart padded to the widest, several seeds with
/// their own mini-batches, packs cut by the memory budget) trains exactly as its runs would alone.
#[test]
fn gpu_plan_packs_train_exactly_as_separate_runs() {
    let device = Device::flex();
    let prepared = data(40);
    let data = DeviceData::new(&prepared, &device);
    let widths = [1, 3, 8, 20];
    let seeds = [0u64, 1, 2];
    let pending: Vec<PendingRun> =
        widths.iter().flat_map(|&w| seeds.iter().map(move |_| PendingRun { key: (0, 0), width: w })).collect();
    let groups = plan_groups(&pending, Packing::Wide { overhead_units: 64 }, &|g| g.len() <= 7);
    assert!(groups.iter().any(|g| g.len() > 1 && g.iter().any(|&i| pending[i].width != pending[g[0]].width)), "a mixed pack");
    assert!(groups.len() > 1, "the budget cuts the sweep into several packs");
    for loss in [Loss::Mse, Loss::Ce] {
        for optimizer in [SGD, ADAM] {
            for depth in [1, 2] {
                for (batch, epochs) in [(None, 20), (Some(10), 5)] {
                    let spec = spec(loss, optimizer, epochs, batch);
                    for g in &groups {
                        let runs: Vec<RunState> =
                            g.iter().map(|&i| fresh(pending[i].width, depth, seeds[i % seeds.len()])).collect();
                        let packed = train(&spec, &data, runs.clone());
                        for (run, grouped) in runs.into_iter().zip(&packed) {
                            let alone = &train(&spec, &data, vec![run])[0];
                            let diff = alone.weights.max_abs_diff(&grouped.weights);
                            assert!(diff <= 1e-5, "{loss:?} {optimizer:?} depth {depth} batch {batch:?} pack {g:?}: {diff}");
                        }
                    }
                }
            }
        }
    }
}
