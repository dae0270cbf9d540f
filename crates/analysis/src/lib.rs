//! # ddlab-analysis
//!
//! Pure numbers: per-width curves with bootstrap intervals, the interpolation threshold, the
//! double-descent peak and its prominence, the onset of ensemble growth, and the verdict on whether
//! the second descent coincides with that growth (DESIGN.md section 4). It knows nothing of Burn, of
//! files or of the sweep folder: callers hand it plain values.

mod curve;
mod json_float;
mod onset;
mod peak;
mod stats;
mod verdict;

pub use curve::{CurvePoint, SeedValues, aggregate, resample};
pub use onset::{hinge_onset, hinge_sse};
pub use peak::{Peak, find_peak, interpolation_threshold};
pub use stats::{mean, ols, partial_correlation, pearson, quantile, ranks, sd, se, spearman};
pub use verdict::{
    AcrossConditions, Analysis, ConditionAnalysis, ConditionInput, Curves, MetricValue, MetricVerdict, Options, PeakSummary,
    RunFigures, VERDICT_METRICS, analyze,
};
