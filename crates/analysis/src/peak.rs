//! The interpolation threshold and the double-descent peak of an error curve.

use serde::{Deserialize, Serialize};

/// The peak of a curve and how far it stands above the best width on each side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    pub width: usize,
    pub index: usize,
    /// Width of the lowest mean to the left / right of the peak.
    pub best_left: usize,
    pub best_right: usize,
    /// (peak mean - best mean on that side) / sqrt(se_peak^2 + se_best^2): the z-score of the drop.
    #[serde(with = "crate::json_float")]
    pub prominence_left: f64,
    #[serde(with = "crate::json_float")]
    pub prominence_right: f64,
}

/// The smallest width whose mean training error is at most `tolerance`.
pub fn interpolation_threshold(widths: &[usize], train_err: &[f64], tolerance: f64) -> Option<usize> {
    widths.iter().zip(train_err).find(|(_, e)| **e <= tolerance).map(|(w, _)| *w)
}

/// The double-descent peak: among interior widths, the one whose mean stands highest above the best
/// width on both sides (the larger of the two smaller drops). Not simply the maximum: the narrowest,
/// underfitting nets often have the highest error of all. `None` when no interior width stands above
/// both sides.
pub fn find_peak(widths: &[usize], means: &[f64], ses: &[f64]) -> Option<Peak> {
    let n = means.len();
    let argmin = |range: std::ops::Range<usize>| range.min_by(|&a, &b| means[a].total_cmp(&means[b]));
    let mut best: Option<(f64, usize, usize, usize)> = None;
    for i in 1..n.saturating_sub(1) {
        let (l, r) = (argmin(0..i).unwrap(), argmin(i + 1..n).unwrap());
        let score = (means[i] - means[l]).min(means[i] - means[r]);
        if score > 0.0 && best.is_none_or(|b| score > b.0) {
            best = Some((score, i, l, r));
        }
    }
    let (_, i, l, r) = best?;
    let z = |j: usize| {
        let drop = means[i] - means[j];
        let spread = (ses[i].powi(2) + ses[j].powi(2)).sqrt();
        if spread > 0.0 {
            drop / spread
        } else if drop > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    };
    Some(Peak {
        width: widths[i],
        index: i,
        best_left: widths[l],
        best_right: widths[r],
        prominence_left: z(l),
        prominence_right: z(r),
    })
}
