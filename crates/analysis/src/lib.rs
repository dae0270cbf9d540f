//! # ddlab-analysis
//!
//! Pure numbers: per-width curves with t intervals over seeds, the interpolation threshold, the
//! double-descent peak test, the onset test of ensemble growth, the width-adjusted past-peak relation,
//! and a verdict per prediction (supported / contradicted / inconclusive / not testable) (docs/SCIENCE.md, Statistics). [`calibrate`] runs the same code on simulated sweeps of known truth.
//! It knows nothing of Burn, of files or of the sweep folder: callers hand it plain values.

mod analyze;
mod averaging;
mod calibrate;
mod condition;
mod curve;
mod decision;
mod ensemble;
mod epochs;
mod h1;
mod h2;
mod input;
mod json_float;
#[cfg(test)]
mod known_answers;
mod onset;
mod outcome;
mod over_draws;
mod past_peak;
mod peak;
mod replicate;
pub mod sesoi;
mod stats;
mod study;
mod theory;

pub use analyze::{Analysis, analyze};
pub use calibrate::{
    CALIBRATION_WIDTHS, COVERAGE_TOLERANCE, CalibrationOptions, CalibrationRow, Coverage, FALSE_ALARM_SLACK, ONSET_SLOPE,
    PEAK_HEIGHT, PLANTED_AT, Target, WITHIN_WIDTH_EFFECT, calibrate, calibration_table_markdown, scenario_letters,
    simulated_seed_variance,
};
pub use condition::{ConditionAnalysis, Curves, DivergedRun, MetricVerdict, ValueCounts};
pub use curve::{CurvePoint, ReplicateValue};
pub use decision::{
    Coefficient, DECISION_SESOI, Decision, DecisionCell, DecisionInput, DecisionReplicate, Favoured, InterventionCurves, decide,
    decision_input,
};
pub use ensemble::{
    EnsembleCurve, Estimate, ExplicitEnsembles, KW_EQUIVALENCE_MARGIN, KwComparison, PermutationSlope, RelativeWidth,
    WidthAdjusted, WidthPoint, permutation_slope_test,
};
pub use epochs::{EPOCH_BINS_PER_OCTAVE, EpochMetric, EpochWidth, EpochWise};
pub use h1::OnsetSummary;
pub use h2::AcrossConditions;
pub use input::{
    ConditionInput, EpochFigures, LossSpace, MetricValue, RunFigures, SnapshotValue, seed_variance_metric, seed_variance_without,
    verdict_metrics,
};
pub use outcome::{Options, Outcome, PredictionTally, Tally, Verdict, prediction};
pub use past_peak::PastPeak;
pub use peak::{Peak, PeakTest};
pub use replicate::{DrawEffect, DrawOutcomes, ReplicatedSetting, VarianceSplit};
pub use study::{
    Pooled, SettingEstimate, StudyAnalysis, StudyEffect, StudySweep, random_effects, setting_estimate, study_analysis,
};
pub use theory::{
    KNOWN_ANSWER, MIN_DISTANCE, TheoryAgreement, TheoryPoint, known_answer, linear_expected_risk, tested_distance,
    theory_agreement,
};
