//! Small statistics (docs/SCIENCE.md, Statistics). Distributions (t, F) come from `statrs`; what is
//! ddlab's own (t intervals of few seeds, Holm, the within-width slope, Deming) lives here, each with a
//! known-answer test.

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::Statistics;

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { f64::NAN } else { values.iter().mean() }
}

/// Sample standard deviation (n - 1); NaN for a single value (the spread of one seed is unknown, not 0).
pub fn sd(values: &[f64]) -> f64 {
    if values.len() < 2 { f64::NAN } else { values.iter().std_dev() }
}

/// Sample variance (n - 1); NaN for a single value.
pub fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 { f64::NAN } else { values.iter().variance() }
}

/// Standard error of the mean; NaN for fewer than 2 values.
pub fn se(values: &[f64]) -> f64 {
    sd(values) / (values.len() as f64).sqrt()
}

/// The mean of replicate values (seeds, data draws) with its standard error on n - 1 degrees of
/// freedom: the replicates are the units of every t interval and one-sided test built on it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanOver {
    pub mean: f64,
    pub se: f64,
    pub df: f64,
    pub n: usize,
}

impl MeanOver {
    /// `None` with fewer than 2 values or a value that is not finite (a replicate without the figure
    /// is filtered out by the caller, where that is meant).
    pub fn of(values: &[f64]) -> Option<MeanOver> {
        let (m, s) = (mean(values), se(values));
        (values.len() >= 2 && values.iter().all(|v| v.is_finite()) && s.is_finite()).then(|| MeanOver {
            mean: m,
            se: s,
            df: (values.len() - 1) as f64,
            n: values.len(),
        })
    }

    /// Two-sided t interval at `level`.
    pub fn interval(&self, level: f64) -> (f64, f64) {
        let half = t_quantile(0.5 + level / 2.0, self.df) * self.se;
        (self.mean - half, self.mean + half)
    }

    /// One-sided (1 - alpha) upper bound.
    pub fn upper(&self, alpha: f64) -> f64 {
        self.mean + t_quantile(1.0 - alpha, self.df) * self.se
    }

    /// One-sided p-value of mean > 0 (1 when the spread is 0 and the mean is not positive).
    pub fn p_positive(&self) -> f64 {
        if self.se > 0.0 {
            t_upper_tail(self.mean / self.se, self.df)
        } else if self.mean > 0.0 {
            0.0
        } else {
            1.0
        }
    }
}

/// Quantile `p` of Student's t with `df` degrees of freedom; NaN where df is not positive.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// P(T >= t) for Student's t with `df` degrees of freedom (one-sided upper tail); NaN for a NaN t (0 / 0:
/// no effect and no spread), which statrs would panic on.
pub fn t_upper_tail(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| d.sf(t))
}

/// Two-sided p-value of a t statistic.
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    (2.0 * t_upper_tail(t.abs(), df)).min(1.0)
}

/// The 95% (or `level`) interval of the mean from Student's t with n - 1 degrees of freedom.
/// It keeps its coverage at three seeds (where a percentile bootstrap returns [min, max], which
/// covers about 75%); NaN for a single value.
pub fn t_interval(values: &[f64], level: f64) -> (f64, f64) {
    let n = values.len();
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    let half = t_quantile(0.5 + level / 2.0, (n - 1) as f64) * se(values);
    (mean(values) - half, mean(values) + half)
}

/// Ordinary least squares of y on x: (intercept, slope).
pub fn ols(x: &[f64], y: &[f64]) -> (f64, f64) {
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / sxx } else { f64::NAN };
    (my - slope * mx, slope)
}

/// A slope with its standard error, degrees of freedom, two-sided p-value (slope = 0) and 95% interval.
#[derive(Clone, Debug, PartialEq)]
pub struct SlopeFit {
    pub slope: f64,
    pub se: f64,
    pub df: f64,
    pub p_value: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
}

impl SlopeFit {
    fn from(slope: f64, se: f64, df: f64, n: usize) -> Option<SlopeFit> {
        if !(df >= 1.0 && se.is_finite() && slope.is_finite()) {
            return None;
        }
        let half = t_quantile(0.975, df) * se;
        let p_value = if se > 0.0 {
            t_two_sided(slope / se, df)
        } else if slope == 0.0 {
            1.0
        } else {
            0.0
        };
        Some(SlopeFit { slope, se, df, p_value, lo: slope - half, hi: slope + half, n })
    }
}

/// OLS slope of y on x with its t-based standard error (n - 2 degrees of freedom).
pub fn ols_fit(x: &[f64], y: &[f64]) -> Option<SlopeFit> {
    let n = x.len();
    if n < 3 {
        return None;
    }
    let (a, b) = ols(x, y);
    let mx = mean(x);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sse: f64 = x.iter().zip(y).map(|(xi, yi)| (yi - a - b * xi).powi(2)).sum();
    let df = (n - 2) as f64;
    SlopeFit::from(b, (sse / df / sxx).sqrt(), df, n)
}

/// The common slope of y on x within groups (a fixed effect per group): each group is centred on its
/// own means, so anything constant within a group (the width, in the past-peak test) cannot make the
/// slope. Degrees of freedom: observations - groups - 1. `None` without variation of x within groups.
pub fn within_group_slope(groups: &[Vec<(f64, f64)>]) -> Option<SlopeFit> {
    let (mut sxx, mut sxy, mut n, mut g) = (0.0, 0.0, 0usize, 0usize);
    let mut centred: Vec<(f64, f64)> = Vec::new();
    for group in groups.iter().filter(|gr| gr.len() >= 2) {
        let mx = mean(&group.iter().map(|p| p.0).collect::<Vec<_>>());
        let my = mean(&group.iter().map(|p| p.1).collect::<Vec<_>>());
        for &(x, y) in group {
            centred.push((x - mx, y - my));
            sxx += (x - mx).powi(2);
            sxy += (x - mx) * (y - my);
        }
        n += group.len();
        g += 1;
    }
    if sxx <= 0.0 || n < g + 2 {
        return None;
    }
    let slope = sxy / sxx;
    let sse: f64 = centred.iter().map(|(x, y)| (y - slope * x).powi(2)).sum();
    let df = (n - g - 1) as f64;
    SlopeFit::from(slope, (sse / df / sxx).sqrt(), df, n)
}

/// Deming (orthogonal, error-variance ratio 1) regression slope of y on x: both coordinates are
/// measured with error, so OLS would bias the slope towards 0 (regression dilution).
pub fn deming_slope(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let n = x.len() as f64;
    let sxx = x.iter().map(|a| (a - mx).powi(2)).sum::<f64>() / n;
    let syy = y.iter().map(|b| (b - my).powi(2)).sum::<f64>() / n;
    let sxy = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / n;
    if sxy == 0.0 {
        return if syy < sxx { 0.0 } else { f64::NAN };
    }
    (syy - sxx + ((syy - sxx).powi(2) + 4.0 * sxy * sxy).sqrt()) / (2.0 * sxy)
}

/// Holm's step-down adjustment of a family of p-values (NaN entries are not part of the family and
/// stay NaN). Controls the family-wise error rate at any dependence between the tests.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}
