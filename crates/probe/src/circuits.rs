//! P4, activation circuits: each input switches on a binary pattern s(x) of units, i.e. selects one
//! linear map. How many distinct patterns, how far apart, how evenly each unit fires, and the effective
//! number of distinct local linear maps (effective rank of the Jacobian Gram). For depth > 1 the
//! patterns are those of all hidden layers together.

use crate::metric::Metric;
use crate::spectrum::{effective_rank, psd_eigenvalues};
use crate::view::ModelView;
use ddlab_config::metrics::LINEAR_MAPS;

/// Binary entropy in bits.
fn entropy_bits(p: f64) -> f64 {
    if p <= 0.0 || p >= 1.0 { 0.0 } else { -p * p.log2() - (1.0 - p) * (1.0 - p).log2() }
}

pub fn circuits(view: &ModelView) -> Vec<Metric> {
    let n = view.n;
    let units = view.patterns.len() / n.max(1);
    let rows: Vec<&[bool]> = view.patterns.chunks(units.max(1)).collect();
    let distinct = rows.iter().collect::<std::collections::HashSet<_>>().len();
    let active: Vec<usize> = (0..units).map(|i| rows.iter().filter(|r| r[i]).count()).collect();
    // Mean over ordered pairs x != x' of the share of units that differ: each unit with c active inputs
    // differs on 2 c (n - c) ordered pairs.
    let hamming = if n > 1 && units > 0 {
        active.iter().map(|&c| 2.0 * c as f64 * (n - c) as f64).sum::<f64>() / (n as f64 * (n - 1) as f64 * units as f64)
    } else {
        0.0
    };
    let entropy = active.iter().map(|&c| entropy_bits(c as f64 / n as f64)).sum::<f64>() / units.max(1) as f64;
    let maps = psd_eigenvalues(&view.jacobian_gram, n).map(|e| effective_rank(&e));
    vec![
        Metric::new("circuits", "distinct_patterns", distinct as f64 / n as f64),
        Metric::new("circuits", "hamming", hamming),
        Metric::new("circuits", "firing_entropy", entropy),
        Metric::of(LINEAR_MAPS, maps),
    ]
}
