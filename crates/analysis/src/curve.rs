//! Per-width values over seeds, and their aggregation into curves with t intervals
//! (docs/SCIENCE.md, Statistics: "Curves").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::{mean, sd, se, t_interval};

/// One figure at one width, over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub width: usize,
    #[serde(with = "crate::json_float")]
    pub mean: f64,
    /// Sample standard deviation over seeds (undefined, null, for one seed).
    #[serde(with = "crate::json_float")]
    pub sd: f64,
    #[serde(with = "crate::json_float")]
    pub se: f64,
    /// 95% interval of the mean from Student's t with n - 1 degrees of freedom (null for one seed).
    #[serde(with = "crate::json_float")]
    pub lo: f64,
    #[serde(with = "crate::json_float")]
    pub hi: f64,
    pub n: usize,
    /// The replicates' own values (seed, value), so a reader can see what the mean summarises: the
    /// report shows them on hover. Absent in analysis files written before they were kept.
    #[serde(default)]
    pub values: Vec<ReplicateValue>,
}

/// One replicate's value at one width: `seed` is None for figures with one value per width (the seed
/// ensemble's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicateValue {
    pub seed: Option<u64>,
    #[serde(with = "crate::json_float")]
    pub value: f64,
}

/// Identifies a replicate: `Some(seed)`, or `None` for figures with one value per width (seed ensemble).
pub type SeedKey = Option<u64>;

/// Finite values of one figure: width (ascending) -> seed -> value. A seed's values at all widths
/// stay together, so that resampling draws whole seed curves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeedCurves(pub BTreeMap<usize, BTreeMap<SeedKey, f64>>);

impl SeedCurves {
    /// Adds a value; a non-finite one is not stored (callers count what they leave out).
    pub fn insert(&mut self, width: usize, seed: SeedKey, value: f64) {
        if value.is_finite() {
            self.0.entry(width).or_default().insert(seed, value);
        }
    }

    pub fn widths(&self) -> Vec<usize> {
        self.0.keys().copied().collect()
    }

    /// The values at each width, widths ascending.
    pub fn per_width(&self) -> Vec<Vec<f64>> {
        self.0.values().map(|m| m.values().copied().collect()).collect()
    }

    pub fn means(&self) -> Vec<f64> {
        self.per_width().iter().map(|v| mean(v)).collect()
    }

    /// The most seeds at any width.
    pub fn max_seeds(&self) -> usize {
        self.0.values().map(BTreeMap::len).max().unwrap_or(0)
    }

    /// Every (log2 width, value) pair: the stacked observations of a regression on log2 W.
    pub fn stacked_log2(&self) -> (Vec<f64>, Vec<f64>) {
        self.0.iter().flat_map(|(w, m)| m.values().map(move |v| ((*w as f64).log2(), *v))).unzip()
    }
}

/// Mean, spread and t interval per width.
pub fn aggregate(values: &SeedCurves) -> Vec<CurvePoint> {
    values
        .0
        .iter()
        .map(|(width, seeds)| {
            let v: Vec<f64> = seeds.values().copied().collect();
            let (lo, hi) = t_interval(&v, 0.95);
            let values = seeds.iter().map(|(seed, value)| ReplicateValue { seed: *seed, value: *value }).collect();
            CurvePoint { width: *width, mean: mean(&v), sd: sd(&v), se: se(&v), lo, hi, n: v.len(), values }
        })
        .collect()
}
/// A jackknife over whole seeds: the spread of a statistic recomputed without each seed in turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jackknife {
    /// sqrt((m - 1) / m * sum (theta_-s - mean)^2) (Efron & Tibshirani 1993, ch. 11).
    pub se: f64,
    /// m - 1.
    pub df: f64,
    /// m, the seeds left out in turn.
    pub units: usize,
}

impl Jackknife {
    /// From the statistic without each unit; `None` with fewer than 3 (two would leave one degree of
    /// freedom and a t quantile of 12.7).
    pub fn of(without: &[f64]) -> Option<Jackknife> {
        let m = without.len();
        if m < 3 || without.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mean = crate::stats::mean(without);
        let ss: f64 = without.iter().map(|v| (v - mean).powi(2)).sum();
        Some(Jackknife { se: ((m - 1) as f64 / m as f64 * ss).sqrt(), df: (m - 1) as f64, units: m })
    }

    /// Half the width of the 95% t interval.
    pub fn half_width(&self) -> f64 {
        crate::stats::t_quantile(0.975, self.df) * self.se
    }
}

/// The slope of ln(value) on `x(width)` over `widths`, jackknifed over seeds: `without` holds, at each
/// width and under each seed, the figure computed without that seed (P5's leave-one-out rows), so each
/// seed's curve is the statistic's curve with that seed left out at every width. Seeds present with a
/// positive value at every width enter; `None` with fewer than 3 of them.
pub fn jackknife_log_slope(without: &SeedCurves, widths: &[usize], x: impl Fn(usize) -> f64) -> Option<Jackknife> {
    let xs: Vec<f64> = widths.iter().map(|w| x(*w)).collect();
    let seeds: Vec<u64> = without.0.get(widths.first()?)?.keys().filter_map(|s| *s).collect();
    let slopes: Vec<f64> = seeds
        .iter()
        .filter_map(|s| {
            let ys: Option<Vec<f64>> =
                widths.iter().map(|w| without.0.get(w)?.get(&Some(*s)).copied().filter(|v| *v > 0.0).map(f64::ln)).collect();
            crate::stats::ols_fit(&xs, &ys?).map(|f| f.slope)
        })
        .collect();
    Jackknife::of(&slopes)
}
