//! Shards: which runs of a sweep one task of a cluster job array trains.
//!
//! The assignment is a pure function of (resolved spec, I, N): the packs of the CPU plan of every run
//! (so packs stay whole and every run trains exactly as it would on one machine) go to the N shards
//! largest first, each to the shard with the least estimated cost so far (ties: the lowest index). It
//! does not depend on the machine a task lands on (a GPU task re-plans its own runs for its device), so
//! every task computes the same assignment and tasks never need a lock to agree on who trains what (run
//! locks stay as a second line: flock is unreliable on NFS and Lustre).

use std::fmt;
use std::str::FromStr;

use ddlab_config::{RunKey, Spec};
use ddlab_train::{Packing, pack_cost, plan_groups};

use crate::plan::scheduled;

/// Shard `index` of `count` (1-based, like `--shard 2/3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with 1 <= I <= N.
    fn from_str(text: &str) -> Result<Self, String> {
        let (i, n) = text.split_once('/').ok_or_else(|| format!("`{text}` is not I/N (for example 2/3)"))?;
        let number =
            |s: &str, what: &str| s.trim().parse::<usize>().map_err(|_| format!("`{text}`: {what} `{s}` is not a whole number"));
        let (index, count) = (number(i, "I")?, number(n, "N")?);
        if count == 0 {
            return Err(format!("`{text}`: N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(format!("`{text}`: I must be between 1 and N ({count}); shards count from 1"));
        }
        Ok(Shard { index, count })
    }
}

/// The shard of a Slurm array task, from `SLURM_ARRAY_TASK_ID`, `_COUNT`, `_MIN` and `_MAX` (`env` reads
/// a variable), or None outside an array. Task IDs may start anywhere and step (`--array=0-15:4`,
/// `--array=1,5,9`): they are normalised to 1..N when evenly spaced; other lists are refused.
pub fn shard_from_slurm(env: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
    let Some(id_text) = env("SLURM_ARRAY_TASK_ID") else {
        return Ok(None);
    };
    let read = |name: &str| -> Result<usize, String> {
        let value = env(name).ok_or_else(|| format!("{name} is not set although SLURM_ARRAY_TASK_ID is"))?;
        value.trim().parse::<usize>().map_err(|_| format!("{name}=`{value}` is not a whole number"))
    };
    let id = id_text.trim().parse::<usize>().map_err(|_| format!("SLURM_ARRAY_TASK_ID=`{id_text}` is not a whole number"))?;
    let count = read("SLURM_ARRAY_TASK_COUNT")?;
    let min = read("SLURM_ARRAY_TASK_MIN")?;
    let max = if env("SLURM_ARRAY_TASK_MAX").is_some() { read("SLURM_ARRAY_TASK_MAX")? } else { min + count.saturating_sub(1) };
    if count == 0 {
        return Err("SLURM_ARRAY_TASK_COUNT=0".into());
    }
    let uneven = || {
        format!(
            "SLURM_ARRAY_TASK_ID={id} is not one of {count} evenly spaced task IDs from {min} to {max}: give each task `--shard I/N` instead"
        )
    };
    if max < min {
        return Err(uneven());
    }
    let step = if count == 1 { 1 } else { (max - min) / (count - 1) };
    if id < min || id > max || step == 0 || (max - min) % (count.max(2) - 1) != 0 || (id - min) % step != 0 {
        return Err(uneven());
    }
    Ok(Some(Shard { index: (id - min) / step + 1, count }))
}

/// Whether the sweep may be split into `parts` shards (array tasks): a weight-reuse sweep trains its
/// widths below the threshold in a chain, each from the previous one's weights, so it may not. The one
/// rule `ddlab sweep --shard` and `ddlab slurm --tasks` both check; `what` names the split in the message.
pub fn check_shardable(spec: &Spec, parts: usize, what: &str) -> Result<(), String> {
    if spec.model.weight_reuse && parts > 1 {
        return Err(format!(
            "model.weight_reuse trains the widths below the threshold one after another, each from the previous one's weights, so the sweep cannot be split into shards ({what}): train it in one process (`ddlab slurm --tasks 1`, the default for such a sweep)"
        ));
    }
    Ok(())
}

/// The runs shard `shard` trains: whole packs of the CPU plan of every run of the spec, balanced by cost.
pub fn shard_runs(spec: &Spec, shard: Shard) -> Vec<RunKey> {
    let runs = spec.runs();
    let owners = assign_shards(spec, shard.count);
    runs.into_iter().zip(owners).filter(|(_, owner)| *owner == shard.index).map(|(key, _)| key).collect()
}

/// The shard (1-based) of every run of `spec.runs()`, in that order.
pub fn assign_shards(spec: &Spec, count: usize) -> Vec<usize> {
    let runs = spec.runs();
    let planned = scheduled(&runs);
    let groups = plan_groups(&planned, Packing::default(), &|_| true);
    // Cost of a pack: its per-step cost times the examples of its condition (every run has the same epochs).
    let cost = |group: &[usize]| pack_cost(&planned, group) as f64 * spec.condition_of(&runs[group[0]]).n_train as f64;
    let mut order: Vec<(f64, usize)> = groups.iter().enumerate().map(|(g, group)| (cost(group), g)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut load = vec![0.0f64; count.max(1)];
    let mut owner = vec![0usize; runs.len()];
    for (c, g) in order {
        let lightest = (0..load.len()).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).unwrap();
        load[lightest] += c;
        for &i in &groups[g] {
            owner[i] = lightest + 1;
        }
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flags_parse_and_refuse_what_is_not_a_shard() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "a/b", "3", "1/0", "-1/3", "1/3/4", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad} accepted");
        }
        assert!("0/3".parse::<Shard>().unwrap_err().contains("count from 1"));
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn slurm_task_ids_are_normalised_to_shards() {
        assert_eq!(shard_from_slurm(env(&[])), Ok(None));
        let task = |id: &str, count: &str, min: &str, max: &str| {
            shard_from_slurm(env(&[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
            ]))
        };
        assert_eq!(task("0", "3", "0", "2"), Ok(Some(Shard { index: 1, count: 3 })));
        assert_eq!(task("2", "3", "0", "2"), Ok(Some(Shard { index: 3, count: 3 })));
        // --array=1,5,9 and --array=0-15:4.
        assert_eq!(task("5", "3", "1", "9"), Ok(Some(Shard { index: 2, count: 3 })));
        assert_eq!(task("12", "4", "0", "12"), Ok(Some(Shard { index: 4, count: 4 })));
        assert_eq!(task("7", "1", "7", "7"), Ok(Some(Shard { index: 1, count: 1 })));
        // Uneven lists (--array=1,2,9), IDs outside, and values that are not numbers.
        assert!(task("2", "3", "1", "9").is_err());
        assert!(task("10", "3", "1", "9").is_err());
        let err = task("x", "3", "0", "2").unwrap_err();
        assert!(err.contains("SLURM_ARRAY_TASK_ID"), "{err}");
        let err = task("1", "three", "0", "2").unwrap_err();
        assert!(err.contains("SLURM_ARRAY_TASK_COUNT"), "{err}");
    }
}
