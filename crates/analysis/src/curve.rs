//! Per-width aggregation over seeds, with bootstrap 95% intervals of the mean.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::stats::{mean, quantile, sd, se};

/// One figure at one width, over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub width: usize,
    #[serde(with = "crate::json_float")]
    pub mean: f64,
    #[serde(with = "crate::json_float")]
    pub sd: f64,
    #[serde(with = "crate::json_float")]
    pub se: f64,
    /// Bootstrap 95% interval of the mean over seeds.
    #[serde(with = "crate::json_float")]
    pub lo: f64,
    #[serde(with = "crate::json_float")]
    pub hi: f64,
    pub n: usize,
}

/// Values of one figure: for each width (ascending), the per-seed values.
pub type SeedValues = Vec<(usize, Vec<f64>)>;

/// Means with bootstrap intervals, one point per width that has a finite value.
pub fn aggregate(values: &SeedValues, resamples: usize, rng: &mut ChaCha8Rng) -> Vec<CurvePoint> {
    values
        .iter()
        .filter_map(|(width, seeds)| {
            let finite: Vec<f64> = seeds.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.is_empty() {
                return None;
            }
            let boots: Vec<f64> = (0..resamples).map(|_| mean(&resample(&finite, rng))).collect();
            Some(CurvePoint {
                width: *width,
                mean: mean(&finite),
                sd: sd(&finite),
                se: se(&finite),
                lo: quantile(&boots, 0.025),
                hi: quantile(&boots, 0.975),
                n: finite.len(),
            })
        })
        .collect()
}

/// A bootstrap resample (with replacement) of `values`.
pub fn resample(values: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..values.len()).map(|_| values[rng.random_range(0..values.len())]).collect()
}
