//! P3, unit functional diversity: the Gram of the unit contributions u_i over the probe set,
//! <u_i, u_j> = (A^T A)_ij (V^T V)_ij, its effective rank and participation ratio; dead units; groups of
//! near-duplicate units. The Gram itself is summarised in [`crate::unit_gram`] without being held.

use crate::metric::Metric;
use crate::unit_gram::{UnitSpectrum, duplicate_groups_of};
use crate::view::ModelView;
use ddlab_config::metrics::{EFFECTIVE_RANK, PARTICIPATION_RATIO};

/// Units whose contributions have cosine similarity at least this are near-duplicates.
pub const DUPLICATE_COSINE: f64 = 0.95;

/// Groups (of two or more units) of near-duplicate units of a model, by single linkage on the cosine
/// similarity of their contributions.
pub fn duplicate_groups(view: &ModelView) -> Vec<Vec<usize>> {
    duplicate_groups_of(view.width, &view.unit_gram.duplicate_pairs)
}

pub fn diversity(view: &ModelView) -> Vec<Metric> {
    let h = view.width;
    let gram = &view.unit_gram;
    let erank = gram.effective_rank();
    let pr = gram.participation_ratio();
    let dead = view.hidden_sq_norms.iter().filter(|&&s| s == 0.0).count();
    let groups = duplicate_groups(view);
    let mut out = vec![
        Metric::of(EFFECTIVE_RANK, erank.clone()),
        Metric::from_value("diversity", "effective_rank_per_unit", erank.map(|e| e / h as f64)),
        Metric::of(PARTICIPATION_RATIO, pr.clone()),
        Metric::from_value("diversity", "participation_ratio_per_unit", pr.map(|p| p / h as f64)),
        Metric::new("diversity", "dead_units", dead as f64),
        Metric::new("diversity", "dead_share", dead as f64 / h as f64),
        Metric::new("diversity", "duplicate_groups", groups.len() as f64),
        Metric::new("diversity", "duplicate_units", groups.iter().map(Vec::len).sum::<usize>() as f64),
    ];
    // Only a wide model's estimated spectrum adds a row: exact ones have no sampling error.
    if let Ok(UnitSpectrum::Estimated { standard_error, quadrature_error, .. }) = &gram.spectrum {
        out.push(Metric::new("diversity", "effective_rank_se", *standard_error));
        out.push(Metric::new("diversity", "effective_rank_quadrature_error", *quadrature_error));
    }
    out
}
