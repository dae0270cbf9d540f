//! Grouping runs into packed networks, and ordering the groups for the workers.
//!
//! Measured on 2 cores (flex, the default sweep cut to 200 epochs; see docs/PERFORMANCE.md):
//! a narrow model is all per-op overhead, so packing the narrow ones into one network makes them cheap;
//! a wide model is all arithmetic, and packing wide models (seeds of one width, or neighbouring widths)
//! made the sweep slower, not faster: 9.5 s packed against 7.0 s with every wide model alone, the two
//! workers each on its own model. So: runs no wider than `up_to` that share a training set and an epoch
//! train as one network; every wider run trains alone. Groups go to the workers largest first.

/// What the scheduler needs to know of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PendingRun {
    /// Runs with different keys never share a group (condition, resume epoch).
    pub key: (usize, usize),
    pub width: usize,
}

/// How runs are packed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Packing {
    /// One model per network (the reference).
    Separate,
    /// Runs of width at most `up_to` (per key) share one network; wider runs train alone. The CPU plan.
    Narrow { up_to: usize },
    /// The GPU plan: runs of a key, narrowest first, join one network while the padding a run adds
    /// (M times the rise of the padded width) costs no more than `overhead_units` hidden units (what one
    /// more network's fixed per-step cost is worth on the device) and the pack fits the memory budget.
    /// One stream of packs: on a GPU every step of every pack is launch-bound below thousands of units.
    Wide { overhead_units: usize },
}

impl Default for Packing {
    fn default() -> Self {
        Packing::Narrow { up_to: 16 }
    }
}

/// Cuts runs into groups (indices into `runs`), largest estimated cost first. `fits` says whether a
/// group fits the device's memory budget (only [`Packing::Wide`] asks). With the CPU plans the plan of
/// a set of runs does not depend on which other runs exist, so resuming part of a sweep packs what is
/// left as the whole sweep would have, bit for bit. The GPU plan's greedy packs depend on their
/// neighbours; packing is exact up to rounding (tests/training.rs) and a GPU's results are the same only
/// up to reduction order anyway (README, GPUs).
pub fn plan_groups(runs: &[PendingRun], packing: Packing, fits: &dyn Fn(&[usize]) -> bool) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| (runs[i].key, runs[i].width, i));
    let narrow = |i: usize| matches!(packing, Packing::Narrow { up_to } if runs[i].width <= up_to);
    let joins = |group: &Vec<usize>, i: usize| -> bool {
        if runs[group[0]].key != runs[i].key {
            return false;
        }
        match packing {
            Packing::Separate => false,
            Packing::Narrow { .. } => narrow(i) && narrow(group[0]),
            Packing::Wide { overhead_units } => {
                // Sorted by width: run i is the widest so far, and pads every member up to its width.
                let padded = group.iter().map(|&g| runs[g].width).max().unwrap_or(0);
                let added = group.len().saturating_mul(runs[i].width - padded);
                added <= overhead_units && {
                    let mut with = group.clone();
                    with.push(i);
                    fits(&with)
                }
            }
        }
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match groups.last_mut() {
            Some(group) if joins(group, i) => group.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(pack_cost(runs, g)));
    groups
}

/// Estimated cost of one training step of a group: a fixed per-step overhead plus its padded size.
pub fn pack_cost(runs: &[PendingRun], group: &[usize]) -> usize {
    const OVERHEAD_UNITS: usize = 64;
    OVERHEAD_UNITS + group.len() * group.iter().map(|&g| runs[g].width).max().unwrap_or(0)
}
