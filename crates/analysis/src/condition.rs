//! One condition's analysis as analysis.json holds it: its curves, each metric's tests and verdicts,
//! and the condition's headline verdicts.

use serde::{Deserialize, Serialize};

use crate::curve::CurvePoint;
use crate::ensemble::ExplicitEnsembles;
use crate::epochs::EpochWise;
use crate::h1::OnsetSummary;
use crate::input::LossSpace;
use crate::outcome::Verdict;
use crate::past_peak::PastPeak;
use crate::peak::PeakTest;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    pub train_err: Vec<CurvePoint>,
    pub train_loss: Vec<CurvePoint>,
    pub test_err: Vec<CurvePoint>,
    pub test_loss: Vec<CurvePoint>,
}

/// A run left out because it diverged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DivergedRun {
    pub width: usize,
    pub seed: u64,
    pub reason: String,
}

/// How many of a metric's values were used, and why the others were left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueCounts {
    /// Values (trained or init) that entered the curves.
    pub used: usize,
    /// Values recorded as undefined (or not finite).
    pub undefined: usize,
    /// Values of runs that diverged.
    pub from_diverged_runs: usize,
    /// Trained values without a defined init value of the same width and seed (or the reverse):
    /// they enter the trained (init) curve but not the growth.
    pub unpaired: usize,
    /// True when no trained value had a defined init control, so the tests use the trained values.
    pub tested_trained_values: bool,
}
/// Everything about one metric in one condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    pub metric: String,
    pub values: ValueCounts,
    pub trained: Vec<CurvePoint>,
    pub init: Vec<CurvePoint>,
    /// Trained minus init, paired by seed.
    pub growth: Vec<CurvePoint>,
    pub onset: Option<OnsetSummary>,
    /// The onset width, only where an onset is detected.
    pub w_ens: Option<f64>,
    /// The onset's interval overlaps the peak's grid cell (only where both exist).
    pub coincides: Option<bool>,
    pub past_peak: Option<PastPeak>,
    pub h1: Verdict,
    pub past_peak_verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionAnalysis {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub loss: LossSpace,
    /// Runs that entered the curves.
    pub runs_used: usize,
    pub diverged: Vec<DivergedRun>,
    pub curves: Curves,
    pub w_interp: Option<usize>,
    pub peak: PeakTest,
    /// The peak of the test loss (it peaks harder than the error).
    pub peak_loss: PeakTest,
    pub metrics: Vec<MetricVerdict>,
    /// Verdict metrics with no values at all in this condition.
    pub missing_metrics: Vec<String>,
    /// The condition's headline verdicts: double descent, H1 (family), past-peak (family), H4,
    /// H5 (averaging lowers the peak; one net of width kW against k nets of width W), epoch-wise
    /// double descent and epoch-wise onset (family).
    pub verdicts: Vec<Verdict>,
    /// H5: the k-seed ensemble curves and the kW comparison.
    #[serde(default)]
    pub ensembles: ExplicitEnsembles,
    /// The epoch-wise view: test error and probe snapshots against epochs.
    #[serde(default)]
    pub epochwise: EpochWise,
    /// The measured risk against its closed form, where the model has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory: Option<crate::theory::TheoryAgreement>,
    /// Real-valued targets: the errors are risks (mean squared errors).
    #[serde(default)]
    pub regression: bool,
    pub conclusion: String,
}
