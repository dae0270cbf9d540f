//! The training plan (`ddlab_sweep::plan`), decided from phases and checkpoints given by hand: which runs
//! are left, in which weight-reuse steps, which start from what their sources left, how resumed runs go
//! back into their packs at a common epoch, and how fresh runs are packed and ordered.

use std::collections::BTreeMap;

use ddlab_config::{RunKey, Spec, parse_spec};
use ddlab_model::{MlpShape, MlpWeights};
use ddlab_store::{Phases, RunOutcome, RunPhase, RunRecord, RunSummary};
use ddlab_sweep::plan::{
    Checkpoints, Packer, SourceState, check_sources, plan_step, reuse_steps, scheduled, triage, with_sources,
};
use ddlab_train::{PackId, Packing, RunState, RunStatus, plan_groups};

/// Digits (64 inputs, 10 classes), n = 100: with weight reuse, widths up to 13 (75 W + 10 < 1000
/// parameters) are below the threshold and start from the next smaller width.
fn sweep_spec(extra_model: &str) -> Spec {
    let text = format!(
        "seeds = [0, 1, 2]\n[data]\ndataset = \"digits\"\nn_train = 100\n[model]\nwidths = [1, 2, 4, 8, 16, 32, 64]\n{extra_model}"
    );
    parse_spec(&text, "training-plan").unwrap()
}

fn shape(key: &RunKey) -> MlpShape {
    MlpShape { input: 64, width: key.width, depth: 1, classes: 10 }
}

fn key(spec: &Spec, width: usize, seed: u64) -> RunKey {
    spec.run_key(0, width, seed)
}

fn finished(key: &RunKey, status: RunOutcome) -> RunPhase {
    let summary = RunSummary {
        condition: "n100-noise0".into(),
        n_train: 100,
        label_noise: 0.0,
        width: key.width,
        depth: 1,
        seed: key.seed,
        params: shape(key).params(),
        epochs: 10,
        train_err: None,
        train_loss: None,
        test_err: None,
        test_loss: None,
        noisy_fit: None,
        seconds: 0.0,
        reason: (status == RunOutcome::Diverged).then(|| "loss is NaN".to_string()),
        status,
    };
    RunPhase::Finished(RunRecord { summary })
}

/// A run's state at `epoch`, packed in `pack`.
fn state(spec: &Spec, key: &RunKey, epoch: usize, pack: &PackId) -> RunState {
    let fresh = RunState::fresh(key.seed, MlpWeights::init(shape(key), spec.model.init, key.seed));
    RunState { epoch, pack: pack.clone(), ..fresh }
}

fn cpu() -> Packer<'static> {
    Packer { packing: Packing::default(), fits: &|_| true }
}

#[test]
fn runs_are_sorted_by_their_phase() {
    let spec = sweep_spec("");
    let runs = spec.runs();
    let phases: Phases = [
        (runs[0], finished(&runs[0], RunOutcome::Done)),
        (runs[1], finished(&runs[1], RunOutcome::Diverged)),
        (runs[2], RunPhase::Failed("out of memory".into())),
        (runs[3], RunPhase::Started),
    ]
    .into_iter()
    .collect();
    let t = triage(&runs, &phases);
    assert_eq!(t.done, 2);
    assert_eq!(t.failed, vec![(runs[2], "out of memory".to_string())]);
    assert_eq!(t.todo, runs[3..].to_vec(), "started and never-started runs are to train, in sweep order");
}

#[test]
fn weight_reuse_orders_runs_by_their_place_in_the_chain() {
    let spec = sweep_spec("weight_reuse = true");
    let seed0: Vec<RunKey> = spec.runs().into_iter().filter(|k| k.seed == 0).collect();
    let steps = reuse_steps(&spec, &shape, &seed0, &seed0, &Phases::default()).unwrap();
    let widths: Vec<Vec<usize>> = steps.iter().map(|s| s.iter().map(|k| k.width).collect()).collect();
    // Width 1 has no smaller width; 16 and wider are past the threshold: fresh. 2 <- 1, 4 <- 2, 8 <- 4.
    assert_eq!(widths, vec![vec![1, 16, 32, 64], vec![2], vec![4], vec![8]]);
    // Without weight reuse, one step.
    let plain = sweep_spec("");
    assert_eq!(reuse_steps(&plain, &shape, &seed0, &seed0, &Phases::default()).unwrap().len(), 1);
    // Width 2 finished already: 4 starts from it at once.
    let left: Vec<RunKey> = seed0.iter().copied().filter(|k| k.width != 2).collect();
    let phases: Phases = [(key(&spec, 2, 0), finished(&key(&spec, 2, 0), RunOutcome::Done))].into_iter().collect();
    let steps = reuse_steps(&spec, &shape, &left, &seed0, &phases).unwrap();
    assert_eq!(steps[0].iter().map(|k| k.width).collect::<Vec<_>>(), vec![1, 4, 16, 32, 64]);
    // A shard whose width 4 starts from a width 2 that another shard has not trained cannot start it.
    let error = reuse_steps(&spec, &shape, &left, &left, &Phases::default()).unwrap_err().to_string();
    assert!(error.contains("w4-s0 starts from the trained weights of") && error.contains("w2-s0"), "{error}");
}

#[test]
fn a_run_starts_only_from_a_source_that_finished_without_diverging() {
    let spec = sweep_spec("weight_reuse = true");
    let (w1, w2, w4, w8, w16) = (key(&spec, 1, 0), key(&spec, 2, 0), key(&spec, 4, 0), key(&spec, 8, 0), key(&spec, 16, 0));
    let phases: Phases =
        [(w1, finished(&w1, RunOutcome::Done)), (w2, finished(&w2, RunOutcome::Diverged)), (w4, RunPhase::Started)]
            .into_iter()
            .collect();
    let checked = check_sources(&spec, &shape, &[w2, w4, w8, w16], &phases);
    let keys: Vec<RunKey> = checked.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, vec![w2, w4, w8, w16], "in the step's order");
    assert_eq!(checked[0].1, SourceState::Ready, "w2's source finished");
    assert_eq!(checked[3].1, SourceState::Ready, "w16 is fresh");
    let SourceState::Fails(why) = &checked[1].1 else { panic!("{:?}", checked[1]) };
    assert!(why.contains("w2-s0 (model.weight_reuse), which diverged (loss is NaN)"), "{why}");
    assert_eq!(checked[2].1, SourceState::Waits(w4), "w8 waits for w4, still in training");
    // What a process training w8 reads: w8 and its chain down to width 1.
    assert_eq!(with_sources(&spec, &shape, &[w8]), vec![w1, w2, w4, w8]);
    assert_eq!(with_sources(&spec, &shape, &[w16]), vec![w16], "fresh: itself only");
}

#[test]
fn resumed_runs_go_back_into_their_pack_at_a_common_epoch() {
    let spec = sweep_spec("");
    let keys = [key(&spec, 1, 0), key(&spec, 2, 0), key(&spec, 4, 0)];
    let pack = PackId::of(&spec, &keys);
    let mut checkpoints = BTreeMap::new();
    checkpoints.insert(keys[0], Checkpoints { current: Some(state(&spec, &keys[0], 20, &pack)), previous: None });
    // One round ahead of its pack: steps back to its previous checkpoint.
    checkpoints.insert(
        keys[1],
        Checkpoints { current: Some(state(&spec, &keys[1], 30, &pack)), previous: Some(state(&spec, &keys[1], 20, &pack)) },
    );
    checkpoints.insert(keys[2], Checkpoints { current: Some(state(&spec, &keys[2], 20, &pack)), previous: None });
    // The runs given in another order still go back in the pack's order.
    let ready = [keys[2], keys[0], keys[1]];
    let plan = plan_step(&spec, &shape, checkpoints.clone(), &ready, &cpu()).unwrap();
    assert_eq!(plan.packs.len(), 1);
    let p = &plan.packs[0];
    assert_eq!(p.keys(), keys.to_vec());
    assert!(!p.finished);
    assert!(p.runs.iter().all(|r| r.resume.as_ref().is_some_and(|s| s.epoch == 20)), "every run at epoch 20");
    assert_eq!(p.runs.iter().map(|r| r.seen).collect::<Vec<_>>(), vec![Some(20), Some(30), Some(20)]);
    assert!(plan.warnings.is_empty());

    // The run ahead has no checkpoint at epoch 20: the pack cannot be aligned and starts again.
    checkpoints.get_mut(&keys[1]).unwrap().previous = Some(state(&spec, &keys[1], 10, &pack));
    let plan = plan_step(&spec, &shape, checkpoints.clone(), &ready, &cpu()).unwrap();
    assert!(plan.packs[0].runs.iter().all(|r| r.resume.is_none()), "every run from its initial weights");

    // A run of the pack finished meanwhile: the others resume in a smaller pack, with a warning.
    let plan = plan_step(&spec, &shape, checkpoints, &[keys[0], keys[2]], &cpu()).unwrap();
    assert_eq!(plan.packs[0].keys(), vec![keys[0], keys[2]]);
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(plan.warnings[0].contains("1 of the 3 runs packed with"), "{}", plan.warnings[0]);
}

#[test]
fn a_pack_whose_checkpoints_say_done_is_finished_first_and_not_trained() {
    let spec = sweep_spec("");
    let done = [key(&spec, 1, 0), key(&spec, 1, 1)];
    let pack = PackId::of(&spec, &done);
    let mut checkpoints = BTreeMap::new();
    for k in &done {
        let mut s = state(&spec, k, 40, &pack);
        s.status = RunStatus::Done;
        checkpoints.insert(*k, Checkpoints { current: Some(s), previous: None });
    }
    let fresh = [key(&spec, 64, 0)];
    let ready: Vec<RunKey> = fresh.iter().chain(&done).copied().collect();
    let plan = plan_step(&spec, &shape, checkpoints, &ready, &cpu()).unwrap();
    assert_eq!(plan.packs.len(), 2);
    assert!(plan.packs[0].finished && plan.packs[0].keys() == done.to_vec(), "finishing comes first");
    assert!(!plan.packs[1].finished && plan.packs[1].runs[0].resume.is_none());
}

#[test]
fn fresh_runs_are_packed_by_the_scheduler_largest_first() {
    let spec = sweep_spec("");
    let runs = spec.runs();
    let plan = plan_step(&spec, &shape, BTreeMap::new(), &runs, &cpu()).unwrap();
    let mut planned: Vec<Vec<RunKey>> = plan.packs.iter().map(|p| p.keys()).collect();
    assert!(planned.iter().any(|p| p.len() > 1), "narrow runs are packed");
    let cost = |p: &Vec<RunKey>| p.len() * p.iter().map(|k| k.width).max().unwrap();
    assert!(planned.windows(2).all(|w| cost(&w[0]) >= cost(&w[1])), "largest first: {planned:?}");
    assert!(plan.packs.iter().flat_map(|p| &p.runs).all(|r| r.resume.is_none() && r.seen.is_none()));
    // The same packs as the scheduler's, whatever order they are trained in.
    let mut scheduler: Vec<Vec<RunKey>> = plan_groups(&scheduled(&runs), Packing::default(), &|_| true)
        .into_iter()
        .map(|g| g.iter().map(|&i| runs[i]).collect())
        .collect();
    planned.sort();
    scheduler.sort();
    assert_eq!(planned, scheduler);
    // A memory budget that holds one run at a time: every pack has one run.
    let one = Packer { packing: Packing::Wide { overhead_units: 1 << 20 }, fits: &|group: &[RunKey]| group.len() == 1 };
    let plan = plan_step(&spec, &shape, BTreeMap::new(), &runs, &one).unwrap();
    assert!(plan.packs.iter().all(|p| p.runs.len() == 1) && plan.packs.len() == runs.len());
}

#[test]
fn a_checkpoint_of_another_shape_is_refused_naming_its_run() {
    let spec = sweep_spec("");
    let k = key(&spec, 4, 0);
    let other = key(&spec, 8, 0);
    let pack = PackId::of(&spec, &[k]);
    let wrong = RunState { pack, ..RunState::fresh(0, MlpWeights::init(shape(&other), spec.model.init, 0)) };
    let checkpoints = BTreeMap::from([(k, Checkpoints { current: Some(wrong), previous: None })]);
    let (at, why) = plan_step(&spec, &shape, checkpoints, &[k], &cpu()).unwrap_err();
    assert_eq!(at, k);
    assert!(why.contains("does not match the spec"), "{why}");
}
