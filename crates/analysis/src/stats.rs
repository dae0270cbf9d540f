//! Small statistics: descriptive figures come from `statrs`; what is ddlab's own (bootstrap,
//! permutation, hinge fits) lives beside this module.

use statrs::statistics::{Data, OrderStatistics, RankTieBreaker, Statistics};

pub fn mean(values: &[f64]) -> f64 {
    values.iter().mean()
}

/// Sample standard deviation (n - 1); 0 for a single value.
pub fn sd(values: &[f64]) -> f64 {
    if values.len() < 2 { 0.0 } else { values.iter().std_dev() }
}

/// Standard error of the mean; NaN for fewer than 2 values.
pub fn se(values: &[f64]) -> f64 {
    if values.len() < 2 { f64::NAN } else { sd(values) / (values.len() as f64).sqrt() }
}

pub fn quantile(values: &[f64], tau: f64) -> f64 {
    Data::new(values.to_vec()).quantile(tau)
}

/// Average ranks (ties share their mean rank).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    Data::new(values.to_vec()).ranks(RankTieBreaker::Average)
}

/// Pearson correlation; NaN when either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    if sxx <= 0.0 || syy <= 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// Spearman rank correlation.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Partial correlation of x and y given z, from the three pairwise correlations.
pub fn partial_correlation(rxy: f64, rxz: f64, ryz: f64) -> f64 {
    let denom = ((1.0 - rxz * rxz) * (1.0 - ryz * ryz)).sqrt();
    if denom > 1e-12 { (rxy - rxz * ryz) / denom } else { f64::NAN }
}

/// Ordinary least squares of y on x: (intercept, slope).
pub fn ols(x: &[f64], y: &[f64]) -> (f64, f64) {
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / sxx } else { f64::NAN };
    (my - slope * mx, slope)
}
