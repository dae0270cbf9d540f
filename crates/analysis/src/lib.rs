//! # ddlab-analysis
//!
//! Pure numbers: per-width curves with t intervals over seeds, the interpolation threshold, the
//! double-descent peak test, the onset test of ensemble growth, the width-adjusted past-peak relation,
//! and a verdict per prediction (supported / contradicted / inconclusive / not testable) (docs/SCIENCE.md, Statistics). [`calibrate`] runs the same code on simulated sweeps of known truth.
//! It knows nothing of Burn, of files or of the sweep folder: callers hand it plain values.

mod calibrate;
mod curve;
mod ensemble;
mod epochs;
mod json_float;
mod onset;
mod over_draws;
mod peak;
mod replicate;
pub mod sesoi;
mod stats;
mod theory;
mod verdict;

pub use calibrate::{
    CALIBRATION_WIDTHS, COVERAGE_TOLERANCE, CalibrationOptions, CalibrationRow, Coverage, FALSE_ALARM_SLACK, ONSET_SLOPE,
    PEAK_HEIGHT, PLANTED_AT, Target, WITHIN_WIDTH_EFFECT, calibrate, calibration_table_markdown, scenario_letters,
    simulated_seed_variance,
};
pub use curve::{CurvePoint, Jackknife, ReplicateValue, SeedCurves, SeedKey, aggregate, jackknife_log_slope};
pub use ensemble::{
    ENSEMBLE_ERR_PREFIX, EnsembleCurve, Estimate, ExplicitEnsembles, KW_DISAGREEMENT_PREFIX, KW_EQUIVALENCE_MARGIN,
    KW_ERR_DIFF_PREFIX, KwComparison, PermutationSlope, RelativeWidth, WidthAdjusted, WidthPoint, permutation_slope_test,
};
pub use epochs::{EPOCH_BINS_PER_OCTAVE, EpochFigures, EpochMetric, EpochWidth, EpochWise, SnapshotValue};
pub use onset::{HingeFit, OnsetTest, hinge_fit, onset_test};
pub use over_draws::fisher_combined;
pub use peak::{Peak, PeakTest, find_peak, interpolation_threshold, one_sided_t, peak_test};
pub use replicate::{DrawEffect, DrawOutcomes, ReplicatedSetting, VarianceSplit, variance_split};
pub use stats::{
    SlopeFit, deming_slope, f_quantile, holm, mean, ols, ols_fit, pearson, quantile, ranks, sd, se, spearman, t_interval,
    t_quantile, t_two_sided, t_upper_tail, within_group_slope,
};
pub use theory::{
    KNOWN_ANSWER, MIN_DISTANCE, TheoryAgreement, TheoryPoint, linear_expected_risk, tested_distance, theory_agreement,
};
pub use verdict::{
    AcrossConditions, Analysis, ConditionAnalysis, ConditionInput, Curves, DivergedRun, LossSpace, MetricValue, MetricVerdict,
    OnsetSummary, Options, Outcome, PastPeak, PredictionTally, RunFigures, Tally, ValueCounts, Verdict, analyze, prediction,
    seed_variance_metric, seed_variance_without, verdict_metrics,
};
