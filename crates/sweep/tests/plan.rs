//! The sweep crate's pure rules, checked on specs of known shape: how a sweep is split into shards
//! (every run in exactly one shard, the CPU plan's packs kept whole, the same answer every time) and
//! when it may not be split.

use ddlab_config::{RunKey, Spec, parse_spec};
use ddlab_sweep::plan::scheduled;
use ddlab_sweep::{Shard, assign_shards, check_shardable, shard_runs};
use ddlab_train::{Packing, plan_groups};

/// Two conditions, narrow and wide widths (the CPU plan packs the narrow ones), three seeds.
fn spec(extra_model: &str) -> Spec {
    let text = format!(
        "seeds = [0, 1, 2]\n[data]\ndataset = \"digits\"\n[conditions]\nn_train = [100, 200]\n[model]\nwidths = [1, 2, 4, 8, 16, 32, 64]\n{extra_model}"
    );
    parse_spec(&text, "plan").unwrap()
}

/// The CPU plan's packs of every run, as lists of keys.
fn packs(spec: &Spec) -> Vec<Vec<RunKey>> {
    let runs = spec.runs();
    plan_groups(&scheduled(&runs), Packing::default(), &|_| true)
        .into_iter()
        .map(|g| g.iter().map(|&i| runs[i]).collect())
        .collect()
}

#[test]
fn every_run_is_in_exactly_one_shard_and_packs_stay_whole() {
    let spec = spec("");
    let runs = spec.runs();
    let packs = packs(&spec);
    assert!(packs.iter().any(|p| p.len() > 1), "the plan packs the narrow runs");
    for count in 1..=6 {
        let owners = assign_shards(&spec, count);
        assert_eq!(owners.len(), runs.len());
        assert!(owners.iter().all(|&o| (1..=count).contains(&o)), "{count} shards: {owners:?}");
        // shard_runs over all shards is a partition of the runs, in the spec's order.
        let mut all: Vec<RunKey> = (1..=count).flat_map(|index| shard_runs(&spec, Shard { index, count })).collect();
        all.sort();
        assert_eq!(all, runs, "{count} shards");
        for pack in &packs {
            let owner = |k: &RunKey| owners[runs.iter().position(|r| r == k).unwrap()];
            assert!(pack.iter().all(|k| owner(k) == owner(&pack[0])), "{count} shards split a pack");
        }
        assert_eq!(assign_shards(&spec, count), owners, "the assignment is a function of the spec and the count");
    }
    // With more shards than packs, some shards get nothing, and no run is lost.
    let many = assign_shards(&spec, packs.len() + 3);
    assert_eq!(many.iter().collect::<std::collections::BTreeSet<_>>().len(), packs.len());
}

#[test]
fn a_weight_reuse_sweep_is_not_split() {
    let reuse = spec("weight_reuse = true\n");
    assert!(check_shardable(&reuse, 1, "shard 1/1").is_ok());
    let refused = check_shardable(&reuse, 2, "--tasks 2").unwrap_err();
    assert!(refused.contains("model.weight_reuse") && refused.contains("(--tasks 2)"), "{refused}");
    assert!(check_shardable(&spec(""), 8, "--tasks 8").is_ok());
}
