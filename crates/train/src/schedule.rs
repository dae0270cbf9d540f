//! Grouping runs into packed networks, and ordering the groups for the workers.
//!
//! Measured on 2 cores (see ARCHITECTURE.md, "Scheduling"): small models are all per-op overhead, so
//! packing many of them into one network makes their cost nearly free; wide models are all matmul, so
//! packing them gains little and padding a narrow model up to a wide one wastes work. The rule here:
//! runs that can share a network (same condition, same epoch) are sorted by width and cut into groups
//! whose padded size (models x widest width) stays within `max_waste` of their real size, except that
//! models no wider than `free_width` always pack together (their cost is overhead, not arithmetic).
//! Groups are then handed to the workers largest first, which balances two workers well.

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
    /// Pack by width as described in the module docs.
    ByWidth { max_waste: f64, free_width: usize },
}

impl Default for Packing {
    fn default() -> Self {
        Packing::ByWidth { max_waste: 0.3, free_width: 32 }
    }
}

/// Cuts runs into groups (indices into `runs`), largest estimated cost first.
pub fn plan_groups(runs: &[PendingRun], packing: Packing) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| (runs[i].key, runs[i].width, i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let joinable = match (packing, groups.last()) {
            (Packing::ByWidth { max_waste, free_width }, Some(group)) if runs[group[0]].key == runs[i].key => {
                let widths: Vec<usize> = group.iter().map(|&g| runs[g].width).chain([runs[i].width]).collect();
                let widest = *widths.iter().max().unwrap();
                let real: usize = widths.iter().sum();
                widest <= free_width || (widths.len() * widest) as f64 <= (1.0 + max_waste) * real as f64
            }
            _ => false,
        };
        if joinable {
            groups.last_mut().unwrap().push(i);
        } else {
            groups.push(vec![i]);
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(group_cost(runs, g)));
    groups
}

/// Estimated cost of a group: a fixed per-step overhead plus its padded size.
fn group_cost(runs: &[PendingRun], group: &[usize]) -> usize {
    const OVERHEAD_UNITS: usize = 64;
    OVERHEAD_UNITS + group.len() * group.iter().map(|&g| runs[g].width).max().unwrap_or(0)
}
