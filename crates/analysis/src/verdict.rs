//! docs/SCIENCE.md, Statistics: from per-run figures and probe values to a verdict per prediction
//! (docs/SCIENCE.md, Statistics: "Verdict").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use ddlab_config::metrics::*;

use crate::curve::{CurvePoint, SeedCurves, aggregate};
use crate::ensemble::{ExplicitEnsembles, WidthAdjusted, explicit_ensembles, width_adjusted};
use crate::epochs::{EpochFigures, EpochWise, SnapshotValue, epoch_wise};
use crate::onset::onset_test;
use crate::peak::{PeakTest, interpolation_threshold, peak_test};
use crate::stats::{deming_slope, holm, mean, ols_fit, within_group_slope};

/// The ensemble metrics the verdict is about (`probe/metric` in probes.csv). The ambiguity and the
/// seed variance live in the space of the training loss (docs/SCIENCE.md, Probes, P1 and P5).
pub fn verdict_metrics(loss: LossSpace) -> Vec<MetricId> {
    let mut names = vec![DISAGREEMENT_M2, N_EFF, EFFECTIVE_RANK, PARTICIPATION_RATIO, LINEAR_MAPS, ACTIVATION_PR, CKA_SEEDS];
    names.push(match loss {
        LossSpace::Squared => AMBIGUITY_SQ_M2,
        LossSpace::CrossEntropy => AMBIGUITY_KL_M2,
    });
    names.push(seed_variance_metric(loss));
    names
}

/// Settings of the analysis (recorded in analysis.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Level of every test (family-wise, after Holm, for the families of metrics).
    pub alpha: f64,
    /// A width interpolates when its mean training error is at most this.
    pub interp_tolerance: f64,
    /// Simulations of the null behind the peak and onset p-values (per design, cached).
    pub null_draws: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { alpha: 0.05, interp_tolerance: 0.01, null_draws: 2000, seed: 0 }
    }
}

/// The final figures of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    pub width: usize,
    pub seed: u64,
    pub train_err: f64,
    pub train_loss: f64,
    pub test_err: f64,
    pub test_loss: f64,
    /// Why the run diverged (`None`: it did not). A diverged run is left out of every curve and test.
    pub diverged: Option<String>,
}

/// One probe value. `seed` is `None` for seed-ensemble figures (one value per width); `value` is
/// `None` where the metric is undefined (competence at initialisation, say).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    pub width: usize,
    pub seed: Option<u64>,
    pub trained: bool,
    pub value: Option<f64>,
}

/// The training loss of a sweep: it decides the space (squared distances or the exact log-loss
/// decomposition) of the loss-sized metrics the verdict uses (docs/SCIENCE.md, Probes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossSpace {
    #[default]
    Squared,
    CrossEntropy,
}

impl std::fmt::Display for LossSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LossSpace::Squared => "squared",
            LossSpace::CrossEntropy => "cross_entropy",
        })
    }
}

/// Everything known about one condition.
#[derive(Clone, Debug, Default)]
pub struct ConditionInput {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    /// Picks the verdict metrics (see [`verdict_metrics`]).
    pub loss: LossSpace,
    pub runs: Vec<RunFigures>,
    /// Keyed by `probe/metric`. The seed-ensemble rows `seed_ensemble/ensemble_err_k{k}`
    /// (and, optionally, `seed_ensemble/kw_err_diff_k{k}`, `seed_ensemble/kw_disagreement_k{k}`) feed H5.
    pub metrics: BTreeMap<String, Vec<MetricValue>>,
    /// Per-epoch figures of every run (metrics.csv), for the epoch-wise view. May be empty.
    pub epochs: Vec<EpochFigures>,
    /// Probe values during training, keyed by `probe/metric`: the `snapshot` rows, plus `trained` at
    /// the final epoch and `init` at epoch 0 (the control). May be empty.
    pub snapshots: BTreeMap<String, Vec<SnapshotValue>>,
    /// The closed-form expected test error (risk) per width, where the model has one (the linear model
    /// on gaussian_linear; `None` where it is infinite). Empty: no known answer.
    pub theory: BTreeMap<usize, Option<f64>>,
    /// Real-valued targets: the error is a risk (a mean squared error), and the peak test runs on its
    /// logarithm (see [`analyze`]).
    pub regression: bool,
    /// Parameters of the network at each width (runs.csv `params`): H4 reports the seed variance's decay
    /// per parameter beside its decay per width. May be empty.
    pub params: BTreeMap<usize, usize>,
    /// The setting this condition replicates (its label without the data draw) and its data draw
    /// (`conditions.data_seed`): conditions of one setting with draws are summarised together
    /// ([`crate::ReplicatedSetting`]). Empty / None: not part of a replicated setting.
    pub setting: String,
    pub draw: Option<u64>,
}

/// What a test says about a prediction. The default is `NotTestable` (nothing known yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The test rejects its null in the predicted direction.
    Supported,
    /// The data exclude every effect at least as large as the prediction's smallest effect of interest,
    /// or show a significant effect of the opposite kind (the reason says which).
    Contradicted,
    /// Neither supported nor contradicted: the reason gives the interval and the power the design had
    /// at the smallest effect of interest.
    Inconclusive,
    /// The data cannot test the prediction (too few seeds, widths or conditions; no peak to refer to).
    #[default]
    NotTestable,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Supported => "supported",
            Outcome::Contradicted => "contradicted",
            Outcome::Inconclusive => "inconclusive",
            Outcome::NotTestable => "not testable",
        }
    }
}

/// The verdict on one prediction, with the numbers behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub prediction: String,
    pub metric: Option<String>,
    pub outcome: Outcome,
    pub reason: String,
    /// Named figures (finite values only).
    pub numbers: BTreeMap<String, f64>,
}

impl Verdict {
    pub(crate) fn new(
        prediction: &str,
        metric: Option<&str>,
        outcome: Outcome,
        reason: String,
        numbers: &[(&str, f64)],
    ) -> Verdict {
        Verdict {
            prediction: prediction.to_string(),
            metric: metric.map(str::to_string),
            outcome,
            reason,
            numbers: numbers.iter().filter(|(_, v)| v.is_finite()).map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }
}

/// The predictions, as named in every verdict.
pub mod prediction {
    pub const DOUBLE_DESCENT: &str = "double descent detected";
    pub const ONSET: &str = "H1 onset at the peak";
    pub const ONSET_FAMILY: &str = "H1 onset at the peak (any metric, Holm)";
    pub const PAST_PEAK: &str = "past-peak relation, width-adjusted";
    pub const PAST_PEAK_FAMILY: &str = "past-peak relation, width-adjusted (any metric, Holm)";
    pub const AVERAGING: &str = "H4 seed variance falls past the peak";
    pub const COMOVEMENT: &str = "H2 onset moves with the peak";
    pub const WIDTH_ADJUSTED: &str = "H3 metric predicts test error at fixed width across conditions";
    pub const WIDTH_ADJUSTED_FAMILY: &str = "H3 metric predicts test error at fixed width across conditions (any metric, Holm)";
    pub const ENSEMBLE_PEAK: &str = "H5 averaging seeds lowers the peak";
    pub const ENSEMBLE_KW: &str = "H5 one net of width kW predicts like k nets of width W";
    pub const EPOCH_PEAK: &str = "epoch-wise double descent (any width, Holm)";
    pub const EPOCH_ONSET: &str = "epoch-wise onset at the epoch-wise peak";
    pub const EPOCH_ONSET_FAMILY: &str = "epoch-wise onset at the epoch-wise peak (any width and metric, Holm)";
}

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

/// The onset test of one metric (H1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnsetSummary {
    /// Best change point (width) and its 95% likelihood-ratio interval.
    pub width: f64,
    pub lo: f64,
    pub hi: f64,
    /// Slope after minus slope before, per octave (the predicted sign: > 0 for a metric predicted to
    /// grow, < 0 for one predicted to fall).
    pub slope_change: f64,
    /// Where the changed slope returns (a width): growth that starts at the onset and saturates there;
    /// `None`: it keeps the changed slope to the widest width.
    #[serde(default)]
    pub end: Option<f64>,
    pub sup_f: f64,
    pub df_resid: usize,
    /// P-value of sup-F against a straight line (simulated null), and Holm-adjusted across metrics.
    pub p_value: f64,
    pub p_holm: f64,
    /// `p_holm < alpha` and `slope_change` has the predicted sign.
    pub detected: bool,
}

impl OnsetSummary {
    /// "onset at width 32 [24, 48]", and where the fit is a ramp ", saturating by width 64": the
    /// location words every onset verdict uses (`unit`: "width", "epoch").
    pub(crate) fn words(&self, unit: &str) -> String {
        let end = self.end.map_or(String::new(), |e| format!(", saturating by {unit} {e:.0}"));
        format!("onset at {unit} {:.0} [{:.0}, {:.0}]{end}", self.width, self.lo, self.hi)
    }
}

/// The width-adjusted past-peak relation: slope of test error on the metric's growth within widths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastPeak {
    pub slope: f64,
    /// Standard error of the slope.
    #[serde(default)]
    pub se: Option<f64>,
    /// Standard deviation of the growth within widths (the scale of the smallest effect of interest).
    #[serde(default)]
    pub sd_within: Option<f64>,
    pub lo: f64,
    pub hi: f64,
    pub p_value: f64,
    pub p_holm: f64,
    pub df: f64,
    pub observations: usize,
    pub widths: usize,
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

/// H2 for one metric: does W_ens move with W_peak across conditions?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcrossConditions {
    pub metric: String,
    /// (condition, W_peak, W_ens) of every condition with a detected peak and a detected onset.
    pub points: Vec<(String, f64, f64)>,
    /// Deming slope of log2 W_ens on log2 W_peak with its jackknife t interval (over the settings) at its Holm level.
    pub slope: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// The control: the same slope against log2 W_interp.
    pub control_slope: Option<f64>,
    pub control_lo: Option<f64>,
    pub control_hi: Option<f64>,
    pub verdict: Verdict,
}

/// How many headline verdicts came out each way.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub supported: usize,
    pub contradicted: usize,
    #[serde(default)]
    pub inconclusive: usize,
    pub not_testable: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Supported => self.supported += 1,
            Outcome::Contradicted => self.contradicted += 1,
            Outcome::Inconclusive => self.inconclusive += 1,
            Outcome::NotTestable => self.not_testable += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.supported + self.contradicted + self.inconclusive + self.not_testable
    }
}

/// The tally of one prediction (over conditions, or over metrics for H2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionTally {
    pub prediction: String,
    pub tally: Tally,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub options: Options,
    pub conditions: Vec<ConditionAnalysis>,
    pub across: Vec<AcrossConditions>,
    /// H3 per metric (Holm across metrics), and the family verdict counted in the tally.
    #[serde(default)]
    pub width_adjusted: Vec<WidthAdjusted>,
    #[serde(default)]
    pub width_adjusted_verdict: Verdict,
    /// Over every headline verdict: each condition's (double descent, H1, past-peak, H4, H5 twice,
    /// epoch-wise twice), H2 per metric, and the H3 family.
    pub tally: Tally,
    /// The same, per prediction, in the order they are reported.
    #[serde(default)]
    pub by_prediction: Vec<PredictionTally>,
    pub overall: String,
    /// Settings replicated over data draws: the variance split and every headline effect per draw.
    #[serde(default)]
    pub replicated: Vec<crate::replicate::ReplicatedSetting>,
    /// Why no probe ran on this sweep (a linear model, regression targets); `None` when they apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes_not_applicable: Option<String>,
}

/// A run whose figures are not all finite diverged even if nobody said so.
fn divergence(r: &RunFigures) -> Option<String> {
    r.diverged.clone().or_else(|| {
        [r.train_err, r.train_loss, r.test_err, r.test_loss]
            .iter()
            .any(|v| !v.is_finite())
            .then(|| "non-finite final figures".to_string())
    })
}

fn run_curves(runs: &[&RunFigures], pick: fn(&RunFigures) -> f64) -> SeedCurves {
    let mut c = SeedCurves::default();
    for r in runs {
        c.insert(r.width, Some(r.seed), pick(r));
    }
    c
}

/// The trained, init and growth values of one metric, with the counts of what was left out.
struct MetricData {
    trained: SeedCurves,
    init: SeedCurves,
    growth: SeedCurves,
    counts: ValueCounts,
}

fn metric_data(values: &[MetricValue], diverged: &BTreeSet<(usize, u64)>) -> MetricData {
    let (mut trained, mut init) = (SeedCurves::default(), SeedCurves::default());
    let mut counts = ValueCounts::default();
    for v in values {
        if v.seed.is_some_and(|s| diverged.contains(&(v.width, s))) {
            counts.from_diverged_runs += 1;
            continue;
        }
        match v.value.filter(|x| x.is_finite()) {
            None => counts.undefined += 1,
            Some(x) => {
                counts.used += 1;
                if v.trained { &mut trained } else { &mut init }.insert(v.width, v.seed, x);
            }
        }
    }
    let mut growth = SeedCurves::default();
    for (w, seeds) in &trained.0 {
        for (s, x) in seeds {
            match init.0.get(w).and_then(|m| m.get(s)) {
                Some(i) => growth.insert(*w, *s, x - i),
                None => counts.unpaired += 1,
            }
        }
    }
    for (w, seeds) in &init.0 {
        counts.unpaired += seeds.keys().filter(|s| !trained.0.get(w).is_some_and(|m| m.contains_key(*s))).count();
    }
    // A metric undefined at initialisation (N_eff: the untrained net is not better than chance, so it
    // holds no competent sub-network) has no control to subtract: its trained values are tested, when
    // fewer than half of them have a defined init partner.
    let paired: usize = growth.0.values().map(|m| m.len()).sum();
    let trained_count: usize = trained.0.values().map(|m| m.len()).sum();
    if 2 * paired < trained_count {
        counts.tested_trained_values = true;
        growth = trained.clone();
    }
    MetricData { trained, init, growth, counts }
}

/// The grid cell of the peak in log2 width: half-way to its neighbouring widths (the peak is an argmax
/// on the grid and cannot be placed finer).
pub(crate) fn peak_cell(widths: &[usize], index: usize) -> (f64, f64) {
    let t = |i: usize| (widths[i] as f64).log2();
    let lo = if index > 0 { (t(index - 1) + t(index)) / 2.0 } else { t(index) };
    let hi = if index + 1 < widths.len() { (t(index + 1) + t(index)) / 2.0 } else { t(index) };
    (lo, hi)
}

pub(crate) fn fmt_p(p: f64) -> String {
    if p < 0.001 { format!("{p:.1e}") } else { format!("{p:.3}") }
}

/// "p = x", or "p <= x" for a simulated p-value at its floor 1 / (draws + 1): the simulation cannot say
/// how much smaller it is.
pub(crate) fn p_equals(p: f64, draws: usize) -> String {
    if p <= 1.0 / (draws as f64 + 1.0) * (1.0 + 1e-9) { format!("p <= {}", fmt_p(p)) } else { format!("p = {}", fmt_p(p)) }
}

/// Where a peak test is not significant: contradicted when no interior width can stand the smallest
/// height of interest above both sides, inconclusive otherwise (docs/SCIENCE.md, "Four outcomes").
pub(crate) fn no_peak_outcome(bound: Option<&crate::sesoi::PeakBound>, what: &str) -> (Outcome, String) {
    match bound {
        Some(b) if b.excluded => (
            Outcome::Contradicted,
            format!(
                "no interior width stands {} above both sides (the tallest the data allow: {:.4} at width {})",
                b.sesoi, b.allowed, b.width
            ),
        ),
        Some(b) => (
            Outcome::Inconclusive,
            format!(
                "a peak of the smallest height of interest ({} {what}) is not excluded: up to {:.4} at width {}",
                b.sesoi, b.allowed, b.width
            ),
        ),
        None => (Outcome::Inconclusive, "the height a peak could have cannot be bounded".into()),
    }
}

fn peak_verdict(peak: &PeakTest, test_err: &SeedCurves, scaled: &[Vec<f64>], opts: &Options, log_risk: bool) -> Verdict {
    let alpha = opts.alpha;
    let name = prediction::DOUBLE_DESCENT;
    let Some(p) = peak.p_value else {
        let reason = if test_err.max_seeds() < 2 {
            "one seed per width: without seed-to-seed variance the peak cannot be told from noise".to_string()
        } else {
            format!("{} widths: too few to have an interior peak", test_err.0.len())
        };
        return Verdict::new(name, None, Outcome::NotTestable, reason, &[]);
    };
    let sesoi = if log_risk { crate::sesoi::PEAK_LOG_RISK } else { crate::sesoi::PEAK_ERROR };
    let bound = crate::sesoi::peak_bound(&test_err.widths(), scaled, sesoi, alpha);
    let bound_numbers: Vec<(&str, f64)> =
        bound.map_or(vec![], |b| vec![("sesoi", b.sesoi), ("height_allowed", b.allowed), ("height_allowed_at", b.width as f64)]);
    let what = if log_risk { "in log risk" } else { "test error" };
    let Some(pk) = &peak.peak else {
        let (outcome, why) = no_peak_outcome(bound.as_ref(), what);
        return Verdict::new(name, None, outcome, format!("no interior width stands above both sides; {why}"), &bound_numbers);
    };
    let mut numbers = vec![
        ("w_peak", pk.width as f64),
        ("p_value", p),
        ("drop_left", pk.drop_left),
        ("drop_right", pk.drop_right),
        ("t_left", pk.t_left.unwrap_or(f64::NAN)),
        ("t_right", pk.t_right.unwrap_or(f64::NAN)),
    ];
    numbers.extend(bound_numbers);
    let what = if log_risk { "log test risk" } else { "test error" };
    let sides = format!(
        "{what} at width {} is {:.3} above width {} and {:.3} above width {}",
        pk.width, pk.drop_left, pk.best_left, pk.drop_right, pk.best_right
    );
    if peak.detected {
        Verdict::new(
            name,
            None,
            Outcome::Supported,
            format!("{sides}; {} (corrected for picking the peak)", p_equals(p, opts.null_draws)),
            &numbers,
        )
    } else {
        let (outcome, why) = no_peak_outcome(bound.as_ref(), if log_risk { "in log risk" } else { "test error" });
        Verdict::new(
            name,
            None,
            outcome,
            format!("{sides}; p = {} >= {alpha}: not distinguishable from a curve without a peak; {why}", fmt_p(p)),
            &numbers,
        )
    }
}

/// Per metric: the data and the unadjusted tests, before Holm across metrics.
struct MetricWork {
    name: String,
    data: MetricData,
    onset: Option<crate::onset::OnsetTest>,
    past: Option<(crate::stats::SlopeFit, f64)>,
    past_untestable: Option<String>,
}

/// The within-width slope of test error on growth past the peak, and the growth's within-width sd.
fn past_peak_fit(growth: &SeedCurves, test_err: &SeedCurves, peak: &PeakTest) -> Result<(crate::stats::SlopeFit, f64), String> {
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return Err("no double descent detected: no peak to measure from".into());
    };
    let groups: Vec<Vec<(f64, f64)>> = growth
        .0
        .iter()
        .filter(|(w, _)| **w >= pk.width)
        .map(|(w, seeds)| seeds.iter().filter_map(|(s, g)| test_err.0.get(w).and_then(|m| m.get(s)).map(|e| (*g, *e))).collect())
        .collect();
    if growth.0.values().all(|m| m.keys().all(Option::is_none)) {
        return Err("one value per width (a seed-ensemble figure): no seed-to-seed variation to separate from width".into());
    }
    within_group_slope(&groups)
        .map(|fit| {
            let (ss, n, g) = groups.iter().filter(|gr| gr.len() >= 2).fold((0.0, 0usize, 0usize), |(ss, n, g), gr| {
                let m = mean(&gr.iter().map(|p| p.0).collect::<Vec<_>>());
                (ss + gr.iter().map(|p| (p.0 - m).powi(2)).sum::<f64>(), n + gr.len(), g + 1)
            });
            (fit, (ss / (n - g).max(1) as f64).sqrt())
        })
        .ok_or_else(|| "too few seeds per width past the peak (2 needed at some width, and residual degrees of freedom)".into())
}

/// `sign`: +1 where the metric is predicted to grow (an onset accelerates it), -1 where it is predicted to
/// fall (an onset bends it down).
pub(crate) fn onset_summary(test: &crate::onset::OnsetTest, p_holm: f64, alpha: f64, sign: f64) -> OnsetSummary {
    let f = &test.fit;
    OnsetSummary {
        width: f.tau.exp2(),
        lo: f.tau_lo.exp2(),
        hi: f.tau_hi.exp2(),
        slope_change: f.slope_change,
        end: f.tau_end.map(f64::exp2),
        sup_f: f.sup_f,
        df_resid: f.df_resid,
        p_value: test.p_value,
        p_holm,
        detected: p_holm < alpha && sign * f.slope_change > 0.0,
    }
}

/// How far (octaves) beyond the peak's grid cell an onset's interval may reach and still place the onset
/// at the peak (see [`AtPeak::places`]).
pub const PLACED_OCTAVES: f64 = 2.0;

/// What H1 needs beyond the onset test: the change of slope at the peak, replicate by replicate, and the
/// smallest change of interest on the metric's own scale (docs/SCIENCE.md, "Four outcomes").
pub(crate) struct AtPeak {
    pub change: Option<crate::sesoi::SlopeChange>,
    pub sesoi: f64,
    /// The tested values, the peak (log2) and its grid cell, to confirm a detected onset seed by seed.
    growth: SeedCurves,
    peak: f64,
    cell: (f64, f64),
}

impl AtPeak {
    /// `growth`: the tested values; `trained`: the metric's trained curve. Its size (the larger of its
    /// range over the sweep and its value at the widest width) sets the scale: a flat metric still has a
    /// size, so that "no change" can be told from "too noisy to say".
    pub(crate) fn new(growth: &SeedCurves, trained: &SeedCurves, peak_width: usize, cell: (f64, f64)) -> AtPeak {
        let means: Vec<f64> = trained.means().into_iter().filter(|v| v.is_finite()).collect();
        let range = means.iter().copied().fold(f64::NEG_INFINITY, f64::max) - means.iter().copied().fold(f64::INFINITY, f64::min);
        let size = range.max(means.last().map_or(0.0, |v| v.abs()));
        let widest = growth.widths().last().copied().unwrap_or(peak_width);
        let octaves = ((widest as f64) / (peak_width as f64)).log2().max(1.0);
        AtPeak {
            change: crate::sesoi::slope_change_at(growth, (peak_width as f64).log2(), None),
            sesoi: crate::sesoi::ONSET_SIZE_SHARE * size / octaves,
            growth: growth.clone(),
            peak: (peak_width as f64).log2(),
            cell,
        }
    }

    /// The change of slope, seed by seed, at the point of the peak's cell closest to a detected onset:
    /// the prediction places the onset at the peak, which is known only to its grid cell. Choosing the
    /// point from the data cannot raise the false-alarm rate: this test only confirms an onset that the
    /// change-point test (Holm) already found.
    /// A ramp's end (`end`, a width: the growth saturates there) is kept, so that a short rise is
    /// judged by the fit that found it.
    fn confirm(&self, onset_width: f64, end: Option<f64>) -> Option<crate::sesoi::SlopeChange> {
        crate::sesoi::slope_change_at(&self.growth, onset_width.log2().clamp(self.cell.0, self.cell.1), end.map(f64::log2))
    }

    /// Whether an onset's interval places it at the peak: it reaches no further than `PLACED_OCTAVES`
    /// beyond the peak's grid cell on either side. An interval that overlaps the cell but spans, say, 3
    /// to 16 for a peak at 18 (growth that starts at the narrow end and saturates at the peak) cannot
    /// say the growth starts there.
    pub(crate) fn places(&self, onset: &OnsetSummary) -> bool {
        onset.lo.log2() >= self.cell.0 - PLACED_OCTAVES && onset.hi.log2() <= self.cell.1 + PLACED_OCTAVES
    }

    /// The change of slope at the peak, seed by seed, with an onset's own change (found outside the
    /// peak's cell) held in the model (`sesoi::slope_change_beside`); `None` for an onset inside the
    /// cell (the two changes would be one).
    pub(crate) fn beside(&self, onset: &OnsetSummary) -> Option<crate::sesoi::SlopeChange> {
        let t = onset.width.log2();
        if (self.cell.0..=self.cell.1).contains(&t) {
            return None;
        }
        crate::sesoi::slope_change_beside(&self.growth, self.peak, t, onset.end.map(f64::log2))
    }

    /// [`AtPeak::confirm`] with its one-sided p-value in the predicted direction (`sign`).
    pub(crate) fn confirmation(&self, onset_width: f64, end: Option<f64>, sign: f64) -> Option<(crate::sesoi::SlopeChange, f64)> {
        self.confirm(onset_width, end).filter(|c| c.se.is_finite() && c.se > 0.0).map(|c| (c, c.p_growth_starts(sign)))
    }
}

/// The outcome of an onset prediction that is not supported: contradicted when the change of slope at
/// the peak, in the predicted direction, is bounded below the smallest change of interest; inconclusive
/// otherwise, with the power the design had. `at` names the location ("the peak", "the epoch-wise peak").
pub(crate) fn no_onset_outcome(
    at_peak: &AtPeak,
    sign: f64,
    alpha: f64,
    at: &str,
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    change_outcome(at_peak.change, at_peak.sesoi, sign, alpha, at, ("change_at_peak", "change_at_peak_upper", ""), numbers)
}

/// The outcome of an onset detected away from the peak: one change point elsewhere does not exclude a
/// second change at the peak, so it is contradicted only where the change at the peak, with the onset's
/// own change held in each seed's model (`sesoi::slope_change_beside`), is bounded below the smallest
/// change of interest; inconclusive otherwise. (Contradicting on the onset's interval alone made every
/// miss of that interval a false contradiction: 5.2% in calibration scenario (s) at 3 seeds.)
pub(crate) fn away_outcome(
    at_peak: &AtPeak,
    onset: &OnsetSummary,
    sign: f64,
    alpha: f64,
    at: &str,
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    let keys = ("change_beside", "change_beside_upper", ", the onset's own change held in the model");
    change_outcome(at_peak.beside(onset), at_peak.sesoi, sign, alpha, at, keys, numbers)
}

/// See [`no_onset_outcome`]: `keys` names the change and its bound in the numbers, and a phrase for
/// the model.
fn change_outcome(
    change: Option<crate::sesoi::SlopeChange>,
    sesoi: f64,
    sign: f64,
    alpha: f64,
    at: &str,
    keys: (&'static str, &'static str, &str),
    numbers: &mut Vec<(&'static str, f64)>,
) -> (Outcome, String) {
    let Some(c) = change.filter(|c| c.se.is_finite()) else {
        return (
            Outcome::Inconclusive,
            format!("the change of slope at {at} cannot be bounded (2 widths on each side needed){}", keys.2),
        );
    };
    let j = crate::sesoi::not_supported(sign * c.change, c.se, c.df, alpha, sesoi, numbers);
    let units = if c.replicates { format!("over {} seeds", c.units) } else { format!("one curve, {} d.o.f.", c.df) };
    numbers.extend([(keys.0, c.change), (keys.1, sign * j.upper)]);
    let text = format!(
        "at {at} the slope changes by {:.3} per octave ({units}{}; predicted direction bounded by {:.3}, smallest change of interest {:.3})",
        c.change, keys.2, j.upper, sesoi
    );
    let why = match j.outcome {
        Outcome::Contradicted => "no growth in the predicted direction starts there".to_string(),
        _ => format!("neither shown nor excluded (power {:.2} at the smallest change of interest)", j.power),
    };
    (j.outcome, format!("{text}: {why}"))
}

fn h1_verdict(
    name: &str,
    onset: Option<&OnsetSummary>,
    coincides: Option<bool>,
    at_peak: Option<&AtPeak>,
    peak: &PeakTest,
    alpha: f64,
) -> Verdict {
    let pred = prediction::ONSET;
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return Verdict::new(
            pred,
            Some(name),
            Outcome::NotTestable,
            "no double descent detected: no peak to coincide with".into(),
            &[],
        );
    };
    let (Some(o), Some(at_peak)) = (onset, at_peak) else {
        return Verdict::new(
            pred,
            Some(name),
            Outcome::NotTestable,
            "too few values for a change-point test (5 widths and 6 values needed)".into(),
            &[],
        );
    };
    let sign = crate::sesoi::predicted_sign(name);
    let mut numbers = vec![
        ("w_ens", o.width),
        ("w_ens_lo", o.lo),
        ("w_ens_hi", o.hi),
        ("w_peak", pk.width as f64),
        ("slope_change", o.slope_change),
        ("sup_f", o.sup_f),
        ("p_value", o.p_value),
        ("p_holm", o.p_holm),
    ];
    let direction = crate::sesoi::direction_words(name);
    let at = format!("{} (Holm p = {})", o.words("width"), fmt_p(o.p_holm));
    // The change of slope at the peak itself, replicate by replicate: an onset found by the stacked
    // change-point test must also show, seed by seed, at the peak (its interval can span many octaves).
    let at_peak_test = at_peak.confirmation(o.width, o.end, sign);
    if let Some((c, p)) = at_peak_test {
        numbers.extend([("confirm_change", c.change), ("confirm_p", p), ("confirm_slope_after", c.slope_after)]);
    }
    // The change at the peak's own width, whatever the outcome: the per-draw summary compares it; and,
    // for an onset fitted outside the peak's cell, the change at the peak beside it (the over-draws
    // verdict bounds it where the onsets lie away).
    if let Some(c) = at_peak.change {
        numbers.push(("change_at_peak", c.change));
    }
    if let Some(c) = at_peak.beside(o) {
        numbers.push(("change_beside", c.change));
    }
    numbers.push(("sesoi_change", at_peak.sesoi));
    if o.detected {
        return if coincides == Some(true) && !at_peak.places(o) {
            Verdict::new(
                pred,
                Some(name),
                Outcome::Inconclusive,
                format!(
                    "{at} overlaps the peak's cell at {} but reaches more than {PLACED_OCTAVES} octave beyond it: the data cannot place the onset at the peak",
                    pk.width
                ),
                &numbers,
            )
        } else if coincides == Some(true) {
            match at_peak_test {
                Some((c, p)) if p < alpha => Verdict::new(
                    pred,
                    Some(name),
                    Outcome::Supported,
                    format!(
                        "{at} covers the peak at {}, and there the slope changes by {:.3} per octave in the predicted direction to {:.3} ({}, one-sided p = {}, the larger of the change's and the slope after's)",
                        pk.width,
                        c.change,
                        c.slope_after,
                        if c.replicates { format!("over {} seeds", c.units) } else { "one curve".to_string() },
                        fmt_p(p)
                    ),
                    &numbers,
                ),
                _ => Verdict::new(
                    pred,
                    Some(name),
                    Outcome::Inconclusive,
                    format!(
                        "{at} covers the peak at {}, but seed by seed the metric does not significantly start moving in its predicted direction there (the change of slope and the slope after it must both be){}",
                        pk.width,
                        at_peak_test.map_or(" (it cannot be fitted)".to_string(), |(c, p)| format!(
                            " (change {:.3} per octave, slope after {:.3}, one-sided p = {})",
                            c.change,
                            c.slope_after,
                            fmt_p(p)
                        ))
                    ),
                    &numbers,
                ),
            }
        } else {
            let (outcome, why) = away_outcome(at_peak, o, sign, alpha, &format!("the peak ({})", pk.width), &mut numbers);
            Verdict::new(pred, Some(name), outcome, format!("{at} lies away from the peak at {}; {why}", pk.width), &numbers)
        };
    }
    // The fit is one-sided: with Holm p < alpha an onset in the predicted direction is detected.
    let first = format!(
        "no onset: no change of slope in the predicted direction (the metric {direction}) is significant against a straight line (Holm p = {})",
        fmt_p(o.p_holm)
    );
    let (outcome, why) = no_onset_outcome(at_peak, sign, alpha, &format!("the peak ({})", pk.width), &mut numbers);
    Verdict::new(pred, Some(name), outcome, format!("{first}; {why}"), &numbers)
}

fn past_peak_verdict(name: &str, fit: Option<&PastPeak>, untestable: Option<&str>, alpha: f64) -> Verdict {
    let pred = prediction::PAST_PEAK;
    let Some(f) = fit else {
        return Verdict::new(pred, Some(name), Outcome::NotTestable, untestable.unwrap_or("not testable").to_string(), &[]);
    };
    let mut numbers =
        vec![("slope", f.slope), ("lo", f.lo), ("hi", f.hi), ("p_value", f.p_value), ("p_holm", f.p_holm), ("df", f.df)];
    let text = format!(
        "within widths past the peak, test error changes by {:.3} [{:.3}, {:.3}] per unit of growth (Holm p = {}, {} values at {} widths)",
        f.slope,
        f.lo,
        f.hi,
        fmt_p(f.p_holm),
        f.observations,
        f.widths
    );
    // The prediction: a seed whose metric moved further in its predicted direction errs less.
    let sign = -crate::sesoi::predicted_sign(name);
    if f.p_holm < alpha && sign * f.slope > 0.0 {
        return Verdict::new(
            pred,
            Some(name),
            Outcome::Supported,
            format!("{text}: seeds whose metric moved further in its predicted direction err less at the same width"),
            &numbers,
        );
    }
    let opposite = if f.p_holm < alpha { ": the opposite sign" } else { ": not significant" };
    let (Some(se), Some(sd)) = (f.se, f.sd_within.filter(|s| *s > 0.0)) else {
        return Verdict::new(pred, Some(name), Outcome::Inconclusive, format!("{text}{opposite}"), &numbers);
    };
    // Smallest effect of interest: ERROR_PER_SD of test error per within-width sd of growth.
    let sesoi = crate::sesoi::ERROR_PER_SD / sd;
    numbers.push(("sd_within", sd));
    let j = crate::sesoi::not_supported(sign * f.slope, se, f.df, alpha, sesoi, &mut numbers);
    let scale = format!("{:.4} of error per within-width sd ({sd:.3}) of growth", j.upper * sd);
    let per_sd = crate::sesoi::ERROR_PER_SD;
    let why = match j.outcome {
        Outcome::Contradicted => {
            format!("an effect in the predicted direction is at most {scale}, below the smallest of interest ({per_sd})")
        }
        _ => format!("an effect of {per_sd} per sd is not excluded (up to {scale}; power {:.2})", j.power),
    };
    Verdict::new(pred, Some(name), j.outcome, format!("{text}{opposite}; {why}"), &numbers)
}

/// A family (any metric, Holm): supported when one member is; contradicted only when every tested member
/// is; inconclusive otherwise (docs/SCIENCE.md, "Four outcomes").
pub(crate) fn family_verdict(pred: &str, members: &[&Verdict], what: &str) -> Verdict {
    let supported: Vec<&str> =
        members.iter().filter(|v| v.outcome == Outcome::Supported).filter_map(|v| v.metric.as_deref()).collect();
    let tested = members.iter().filter(|v| v.outcome != Outcome::NotTestable).count();
    let contradicted = members.iter().filter(|v| v.outcome == Outcome::Contradicted).count();
    let inconclusive: Vec<&str> =
        members.iter().filter(|v| v.outcome == Outcome::Inconclusive).filter_map(|v| v.metric.as_deref()).collect();
    if tested == 0 {
        let reason = members.first().map_or("no verdict metrics measured".to_string(), |v| v.reason.clone());
        return Verdict::new(pred, None, Outcome::NotTestable, reason, &[]);
    }
    let numbers = [
        ("metrics_tested", tested as f64),
        ("metrics_supported", supported.len() as f64),
        ("metrics_contradicted", contradicted as f64),
        ("metrics_inconclusive", inconclusive.len() as f64),
    ];
    if !supported.is_empty() {
        Verdict::new(
            pred,
            None,
            Outcome::Supported,
            format!("{} of {tested} metrics {what} (family-wise level, Holm): {}", supported.len(), supported.join(", ")),
            &numbers,
        )
    } else if contradicted == tested {
        Verdict::new(
            pred,
            None,
            Outcome::Contradicted,
            format!(
                "none of {tested} metrics {what}, and each excludes the smallest effect of interest (family-wise level, Holm)"
            ),
            &numbers,
        )
    } else {
        Verdict::new(
            pred,
            None,
            Outcome::Inconclusive,
            format!(
                "none of {tested} metrics {what} (family-wise level, Holm); {contradicted} exclude the smallest effect of interest, {} cannot: {}",
                inconclusive.len(),
                inconclusive.join(", ")
            ),
            &numbers,
        )
    }
}

/// The seed-variance metric of a loss: the seeds' disagreement in the space of the training loss (P5).
pub fn seed_variance_metric(loss: LossSpace) -> MetricId {
    match loss {
        LossSpace::Squared => VARIANCE_SQ,
        LossSpace::CrossEntropy => VARIANCE_KL,
    }
}

/// The seed variance without each seed in turn (P5's leave-one-out rows), in the space of the loss.
pub fn seed_variance_without(loss: LossSpace) -> MetricId {
    match loss {
        LossSpace::Squared => VARIANCE_SQ_WITHOUT,
        LossSpace::CrossEntropy => VARIANCE_KL_WITHOUT,
    }
}

/// H4 (docs/SCIENCE.md, Statistics, "H4"): past the peak, the seeds' variance in the space of the training
/// loss (one value per width) against width: ln variance = c - alpha ln W, fitted from the variance's own
/// peak (its largest value at or past the test-error peak), alpha with its t interval over the widths, and
/// the same against the parameter count. Averaging k independent members divides a variance by k (alpha
/// = 1 with k proportional to W); the variance account of Geiger et al. 2020 predicts variance ~ P^-1/2.
/// The ratio var(first width) / var(W) is a data-driven ensemble size, reported at the widest width
/// beside N_eff and the effective rank there.
fn averaging_verdict(
    variance: Option<&SeedCurves>,
    without: Option<&SeedCurves>,
    beside: &[(&str, Option<&SeedCurves>)],
    params: &BTreeMap<usize, usize>,
    peak: &PeakTest,
    name: &str,
    alpha_level: f64,
) -> Verdict {
    let pred = prediction::AVERAGING;
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return Verdict::new(pred, None, Outcome::NotTestable, "no double descent detected: no peak to measure from".into(), &[]);
    };
    let Some(variance) = variance else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            format!("no {name} values (P5 needs 2 or more seeds per width)"),
            &[],
        );
    };
    let from_error_peak: Vec<(usize, f64)> =
        variance.widths().into_iter().zip(variance.means()).filter(|(w, v)| *w >= pk.width && v.is_finite()).collect();
    // The variance's own peak: its hump sits at or just past the error's, and a fit across the hump's
    // top would mix its rise into the decline. Where it lies past the error's peak the fit starts at the
    // next width: the maximum itself was selected as the largest value, and a fit that starts on it
    // finds a decline in a flat curve (measured: 8.3% false alarms at 5 seeds, scenario (p)).
    let own_peak = from_error_peak.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map_or(pk.width, |p| p.0);
    let past: Vec<(usize, f64)> = from_error_peak
        .iter()
        .copied()
        .filter(|(w, _)| if own_peak > pk.width { *w > own_peak } else { *w >= pk.width })
        .collect();
    let positive: Vec<(usize, f64)> = past.iter().copied().filter(|(_, v)| *v > 0.0).collect();
    let x: Vec<f64> = positive.iter().map(|(w, _)| (*w as f64).ln()).collect();
    let y: Vec<f64> = positive.iter().map(|(_, v)| v.ln()).collect();
    let Some(fit) = ols_fit(&x, &y) else {
        return Verdict::new(
            pred,
            None,
            Outcome::NotTestable,
            format!(
                "{} widths from the {name} peak at {own_peak} on with a positive value (3 needed; {} with zero variance left out)",
                positive.len(),
                past.len() - positive.len()
            ),
            &[],
        );
    };
    let (alpha, width_lo, width_hi) = (-fit.slope, -fit.hi, -fit.lo);
    let (first, widest) = (positive[0], positive[positive.len() - 1]);
    let fit_widths: Vec<usize> = positive.iter().map(|p| p.0).collect();
    // The interval that decides: from whole seeds (the jackknife over the leave-one-out variances) where
    // P5 wrote them, else over widths.
    let jack = without.and_then(|w| crate::curve::jackknife_log_slope(w, &fit_widths, |wd| (wd as f64).ln()));
    let (se, df, lo, hi) = match &jack {
        Some(j) => (j.se, j.df, alpha - j.half_width(), alpha + j.half_width()),
        None => (fit.se, fit.df, width_lo, width_hi),
    };
    let mut numbers = vec![
        ("alpha", alpha),
        ("lo", lo),
        ("hi", hi),
        ("width_lo", width_lo),
        ("width_hi", width_hi),
        ("widths", x.len() as f64),
        ("from_width", own_peak as f64),
        ("error_peak", pk.width as f64),
        ("ensemble_size_widest", first.1 / widest.1),
        ("widest", widest.0 as f64),
    ];
    let holds = |lo: f64, hi: f64, v: f64| if lo <= v && v <= hi { "holds" } else { "excludes" };
    let compare = |lo: f64, hi: f64| format!("{} 1, {} 1/2", holds(lo, hi, 1.0), holds(lo, hi, 0.5));
    // Per parameter: the same fit against ln P, where every width's parameter count is known.
    let per_param = positive
        .iter()
        .map(|(w, _)| params.get(w).map(|p| (*p as f64).ln()))
        .collect::<Option<Vec<f64>>>()
        .and_then(|xp| ols_fit(&xp, &y))
        .map(|f| {
            let jack = without.and_then(|w| {
                crate::curve::jackknife_log_slope(w, &fit_widths, |wd| params.get(&wd).map_or(f64::NAN, |p| (*p as f64).ln()))
            });
            match jack {
                Some(j) => (-f.slope, -f.slope - j.half_width(), -f.slope + j.half_width()),
                None => (-f.slope, -f.hi, -f.lo),
            }
        });
    let param_text =
        per_param.map_or(String::new(), |(a, lo, hi)| format!("; per parameter {a:.2} [{lo:.2}, {hi:.2}] ({})", compare(lo, hi)));
    if let Some((a, lo, hi)) = per_param {
        numbers.extend([("alpha_params", a), ("alpha_params_lo", lo), ("alpha_params_hi", hi)]);
    }
    if let Some(j) = &jack {
        numbers.extend([("jackknife_seeds", j.units as f64), ("jackknife_se", j.se)]);
    }
    let interval_words = match &jack {
        Some(j) => format!(
            "the interval is the jackknife over {} seeds, each left out at every width ({} d.o.f.); over widths it would be [{width_lo:.2}, {width_hi:.2}]",
            j.units, j.df
        ),
        None => "the interval is over widths, how far they sit off a power law: P5 wrote no leave-one-out rows (3 seeds needed) to resample whole seeds".to_string(),
    };
    for (label, curve) in beside {
        let at_widest = curve.and_then(|c| c.widths().into_iter().zip(c.means()).find(|(w, _)| *w == widest.0)).map(|p| p.1);
        if let Some(v) = at_widest.filter(|v| v.is_finite()) {
            numbers.push((label, v));
        }
    }
    let text = format!(
        "{name} ~ W^-alpha past its own peak at width {own_peak} (the error peaks at {}): alpha = {alpha:.2} [{lo:.2}, {hi:.2}] per width ({}){param_text}, over {} widths ({interval_words}; 1: averaging of independent members, 1/2: the variance account at depth 1); variance ratio from width {} to {}: {:.1}",
        pk.width,
        compare(lo, hi),
        x.len(),
        first.0,
        widest.0,
        first.1 / widest.1
    );
    // The prediction has a direction (the variance falls): one-sided at level alpha, as every
    // "supported" ("Four outcomes"); the 95% interval above is two-sided.
    let p_value = if se > 0.0 { crate::stats::t_upper_tail(alpha / se, df) } else { f64::NAN };
    numbers.push(("p_value", p_value));
    if p_value < alpha_level {
        return Verdict::new(pred, None, Outcome::Supported, format!("{text}; one-sided p = {}", fmt_p(p_value)), &numbers);
    }
    let sesoi = crate::sesoi::AVERAGING_ALPHA;
    let j = crate::sesoi::not_supported(alpha, se, df, alpha_level, sesoi, &mut numbers);
    let why = match j.outcome {
        Outcome::Contradicted => format!("alpha is at most {:.2}, below the smallest decline of interest ({sesoi})", j.upper),
        _ => format!("no significant decline, and a decline of {sesoi} is not excluded (power {:.2})", j.power),
    };
    Verdict::new(pred, None, j.outcome, format!("{text}: {why}"), &numbers)
}

/// What H3 needs of one condition's curves.
struct Behind {
    test_err: SeedCurves,
    growths: BTreeMap<String, SeedCurves>,
}

/// The whole analysis of a sweep.
pub fn analyze(conditions: &[ConditionInput], opts: &Options) -> Analysis {
    let mut analysed = Vec::new();
    let mut behind = Vec::new();
    for input in conditions {
        let (c, b) = analyze_condition(input, opts);
        analysed.push(c);
        behind.push(b);
    }
    let settings: Vec<(String, Option<u64>)> =
        conditions.iter().map(|c| (if c.setting.is_empty() { c.condition.clone() } else { c.setting.clone() }, c.draw)).collect();
    let test_errors: Vec<Vec<(usize, f64)>> = analysed
        .iter()
        .map(|c| c.curves.test_err.iter().flat_map(|p| p.values.iter().map(|v| (p.width, v.value))).collect())
        .collect();
    let replicated = crate::replicate::replicated(&analysed, &settings, &test_errors, opts.alpha);
    // H2 and H3 compare conditions that differ in their setting; the data draws of one setting are its
    // replicates, not conditions, so a sweep of one setting has nothing to compare.
    let one_setting = settings.iter().all(|s| s.1.is_some()) && settings.iter().map(|s| &s.0).collect::<BTreeSet<_>>().len() < 2;
    // H2's and H3's unit is the setting: the data draws of one setting share its threshold and whatever
    // else the setting fixes, so they are one unit, not several conditions.
    let mut setting_names: Vec<&String> = Vec::new();
    for (name, _) in &settings {
        if !setting_names.contains(&name) {
            setting_names.push(name);
        }
    }
    let unit_of: Vec<usize> = settings.iter().map(|s| setting_names.iter().position(|n| **n == s.0).unwrap()).collect();
    let across = if analysed.len() >= 2 && !one_setting { across_conditions(&analysed, &unit_of, opts) } else { Vec::new() };
    let per_condition: Vec<crate::ensemble::H3Input> =
        analysed.iter().zip(&behind).map(|(c, b)| (c.condition.as_str(), &b.test_err, &b.growths, c.w_interp)).collect();
    let merged = crate::ensemble::setting_means(&per_condition, &unit_of, &setting_names);
    let h3_inputs: Vec<crate::ensemble::H3Input> =
        merged.iter().map(|m| (m.setting.as_str(), &m.test_err, &m.growths, m.w_interp)).collect();
    let (width_adjusted, width_adjusted_verdict) = if one_setting && analysed.len() >= 2 {
        let reason =
            format!("one setting: its {} conditions are data draws of it (replicates), and H3 compares settings", analysed.len());
        (Vec::new(), Verdict::new(prediction::WIDTH_ADJUSTED_FAMILY, None, Outcome::NotTestable, reason, &[]))
    } else {
        width_adjusted(&h3_inputs, opts)
    };
    let mut tally = Tally::default();
    let mut by_prediction: Vec<PredictionTally> = Vec::new();
    // A setting replicated over data draws is counted once per prediction judged over its draws (the
    // draw is the unit); its draws' own verdicts of those predictions are reported, not counted.
    let judged_over_draws = |c: &ConditionAnalysis, v: &Verdict| {
        replicated.iter().any(|r| {
            r.draws.iter().any(|(_, label)| *label == c.condition) && r.verdicts.iter().any(|s| s.prediction == v.prediction)
        })
    };
    let headline = analysed
        .iter()
        .flat_map(|c| c.verdicts.iter().filter(move |v| !judged_over_draws(c, v)))
        .chain(replicated.iter().flat_map(|r| r.verdicts.iter()))
        .chain(across.iter().map(|a| &a.verdict))
        .chain(std::iter::once(&width_adjusted_verdict));
    for v in headline {
        tally.add(v.outcome);
        match by_prediction.iter_mut().find(|p| p.prediction == v.prediction) {
            Some(p) => p.tally.add(v.outcome),
            None => {
                let mut t = Tally::default();
                t.add(v.outcome);
                by_prediction.push(PredictionTally { prediction: v.prediction.clone(), tally: t });
            }
        }
    }
    let per: Vec<String> = by_prediction
        .iter()
        .map(|p| {
            format!(
                "{}: {} supported, {} contradicted, {} inconclusive, {} not testable",
                p.prediction, p.tally.supported, p.tally.contradicted, p.tally.inconclusive, p.tally.not_testable
            )
        })
        .collect();
    let over_draws = if replicated.is_empty() {
        String::new()
    } else {
        format!(
            " (double descent, H1, H4 and H5 judged once per setting over its data draws, the draw as the unit: {} setting(s) of {} draws)",
            replicated.len(),
            replicated.iter().map(|r| r.draws.len().to_string()).collect::<Vec<_>>().join(", ")
        )
    };
    let overall = format!(
        "Of {} headline verdicts over {} condition(s){over_draws} ({} prediction(s)), {} supported, {} contradicted, {} inconclusive, {} not testable. {}.",
        tally.total(),
        analysed.len(),
        by_prediction.len(),
        tally.supported,
        tally.contradicted,
        tally.inconclusive,
        tally.not_testable,
        per.join("; ")
    );
    Analysis {
        options: opts.clone(),
        conditions: analysed,
        across,
        width_adjusted,
        width_adjusted_verdict,
        tally,
        by_prediction,
        overall,
        replicated,
        probes_not_applicable: None,
    }
}

fn analyze_condition(input: &ConditionInput, opts: &Options) -> (ConditionAnalysis, Behind) {
    let mut diverged = Vec::new();
    let mut used = Vec::new();
    for r in &input.runs {
        match divergence(r) {
            Some(reason) => diverged.push(DivergedRun { width: r.width, seed: r.seed, reason }),
            None => used.push(r),
        }
    }
    let diverged_keys: BTreeSet<(usize, u64)> = diverged.iter().map(|d| (d.width, d.seed)).collect();
    let train_err = run_curves(&used, |r| r.train_err);
    let test_err = run_curves(&used, |r| r.test_err);
    let test_loss = run_curves(&used, |r| r.test_loss);
    let curves = Curves {
        train_err: aggregate(&train_err),
        train_loss: aggregate(&run_curves(&used, |r| r.train_loss)),
        test_err: aggregate(&test_err),
        test_loss: aggregate(&test_loss),
    };
    let w_interp = interpolation_threshold(&train_err.widths(), &train_err.means(), opts.interp_tolerance);
    // A regression risk is tested on its logarithm: at p = n the risk of the minimum-norm fit has an
    // infinite mean and a tail P(risk > r) ~ r^-1/2, so a mean over seeds is dominated by the largest
    // draw and a t statistic stays near 1 however many seeds there are. Its logarithm has light tails,
    // and a peak of the risk is a peak of its log.
    let scale = |curve: &SeedCurves| -> Vec<Vec<f64>> {
        let values = curve.per_width();
        if !input.regression {
            return values;
        }
        values.into_iter().map(|v| v.into_iter().map(|x| x.max(f64::MIN_POSITIVE).ln()).collect()).collect()
    };
    let peak = peak_test(&test_err.widths(), &scale(&test_err), opts.null_draws, opts.alpha);
    let peak_loss = peak_test(&test_loss.widths(), &scale(&test_loss), opts.null_draws, opts.alpha);

    let names = verdict_metrics(input.loss);
    let missing_metrics: Vec<String> =
        names.iter().filter(|n| !input.metrics.contains_key(n.as_str())).map(|n| n.to_string()).collect();
    let work: Vec<MetricWork> = names
        .iter()
        .filter_map(|n| input.metrics.get(n.as_str()).map(|v| (n.as_str(), v)))
        .map(|(name, values)| {
            let data = metric_data(values, &diverged_keys);
            let (t, y) = data.growth.stacked_log2();
            let onset = onset_test(&t, &y, crate::sesoi::predicted_sign(name), opts.null_draws, opts.alpha);
            let (past, past_untestable) = match past_peak_fit(&data.growth, &test_err, &peak) {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(e)),
            };
            MetricWork { name: name.to_string(), data, onset, past, past_untestable }
        })
        .collect();
    // Holm across the metrics that have a test, separately for the two families.
    let onset_holm = holm(&work.iter().map(|m| m.onset.as_ref().map_or(f64::NAN, |o| o.p_value)).collect::<Vec<_>>());
    let past_holm = holm(&work.iter().map(|m| m.past.as_ref().map_or(f64::NAN, |p| p.0.p_value)).collect::<Vec<_>>());
    let cell = peak.peak.as_ref().map(|p| peak_cell(&test_err.widths(), p.index));
    let growths: BTreeMap<String, SeedCurves> = work.iter().map(|m| (m.name.clone(), m.data.growth.clone())).collect();
    // H4 reads the trained values of three verdict metrics (seed variance, N_eff, effective rank).
    let trained: BTreeMap<String, SeedCurves> = work.iter().map(|m| (m.name.clone(), m.data.trained.clone())).collect();
    let metrics: Vec<MetricVerdict> = work
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let sign = crate::sesoi::predicted_sign(&m.name);
            let onset = m.onset.as_ref().map(|o| onset_summary(o, onset_holm[i], opts.alpha, sign));
            let at_peak = peak
                .peak
                .as_ref()
                .filter(|_| peak.detected)
                .zip(cell)
                .map(|(p, c)| AtPeak::new(&m.data.growth, &m.data.trained, p.width, c));
            let coincides = match (&onset, cell) {
                (Some(o), Some((lo, hi))) if o.detected => Some(o.lo.log2() <= hi && lo <= o.hi.log2()),
                _ => None,
            };
            let past_peak = m.past.as_ref().map(|(f, sd_within)| PastPeak {
                slope: f.slope,
                se: Some(f.se),
                sd_within: Some(*sd_within),
                lo: f.lo,
                hi: f.hi,
                p_value: f.p_value,
                p_holm: past_holm[i],
                df: f.df,
                observations: f.n,
                widths: m.data.growth.0.keys().filter(|w| peak.peak.as_ref().is_some_and(|p| **w >= p.width)).count(),
            });
            MetricVerdict {
                h1: h1_verdict(&m.name, onset.as_ref(), coincides, at_peak.as_ref(), &peak, opts.alpha),
                past_peak_verdict: past_peak_verdict(&m.name, past_peak.as_ref(), m.past_untestable.as_deref(), opts.alpha),
                metric: m.name,
                values: m.data.counts.clone(),
                trained: aggregate(&m.data.trained),
                init: aggregate(&m.data.init),
                growth: aggregate(&m.data.growth),
                w_ens: onset.as_ref().filter(|o| o.detected).map(|o| o.width),
                onset,
                coincides,
                past_peak,
            }
        })
        .collect();
    let mut verdicts = vec![peak_verdict(&peak, &test_err, &scale(&test_err), opts, input.regression)];
    // H1's family counts the metrics measured inside one network: a seed-level metric's change at the
    // peak is predicted by the variance account too (`sesoi::seed_level`).
    let h1_members: Vec<&Verdict> = metrics.iter().filter(|m| !crate::sesoi::seed_level(&m.metric)).map(|m| &m.h1).collect();
    let past_members: Vec<&Verdict> = metrics.iter().map(|m| &m.past_peak_verdict).collect();
    verdicts.push(family_verdict(prediction::ONSET_FAMILY, &h1_members, "start growing at the peak"));
    verdicts.push(family_verdict(prediction::PAST_PEAK_FAMILY, &past_members, "predict lower error within widths"));
    let variance_name = seed_variance_metric(input.loss);
    let without = input
        .metrics
        .get(seed_variance_without(input.loss).as_str())
        .map(|values| metric_data(values, &diverged_keys).trained)
        .filter(|c| !c.0.is_empty());
    verdicts.push(averaging_verdict(
        trained.get(variance_name.as_str()),
        without.as_ref(),
        &[("n_eff_widest", trained.get(N_EFF.as_str())), ("effective_rank_widest", trained.get(EFFECTIVE_RANK.as_str()))],
        &input.params,
        &peak,
        variance_name.as_str(),
        opts.alpha,
    ));
    let ensembles = explicit_ensembles(&input.metrics, &test_err, &peak, opts);
    verdicts.push(ensembles.verdict.clone());
    verdicts.push(ensembles.kw_verdict.clone());
    let peak_width = peak.peak.as_ref().map(|p| p.width);
    let keys: Vec<&str> = names.iter().map(MetricId::as_str).collect();
    let epochwise = epoch_wise(input, &diverged_keys, &keys, peak_width, w_interp, opts);
    verdicts.push(epochwise.peak_verdict.clone());
    verdicts.push(epochwise.onset_verdict.clone());
    let theory = (!input.theory.is_empty()).then(|| {
        let widths = test_err.widths();
        let expected: Vec<Option<f64>> = widths.iter().map(|w| input.theory.get(w).copied().flatten()).collect();
        crate::theory::theory_agreement(input.n_train, &widths, &test_err.per_width(), &expected, opts.alpha)
    });
    if let Some(t) = &theory {
        verdicts.insert(0, t.verdict.clone());
    }
    let behind = Behind { test_err, growths };
    let mut c = ConditionAnalysis {
        condition: input.condition.clone(),
        n_train: input.n_train,
        label_noise: input.label_noise,
        loss: input.loss,
        runs_used: used.len(),
        diverged,
        curves,
        w_interp,
        peak,
        peak_loss,
        metrics,
        missing_metrics,
        verdicts,
        ensembles,
        epochwise,
        theory,
        regression: input.regression,
        conclusion: String::new(),
    };
    c.conclusion = conclusion(&c);
    (c, behind)
}

fn conclusion(c: &ConditionAnalysis) -> String {
    let mut parts: Vec<String> =
        c.verdicts.iter().map(|v| format!("{}: {} ({})", v.prediction, v.outcome.label(), v.reason)).collect();
    if !c.diverged.is_empty() {
        let which: Vec<String> = c.diverged.iter().map(|d| format!("width {} seed {}", d.width, d.seed)).collect();
        parts.push(format!("{} run(s) diverged and were left out ({})", c.diverged.len(), which.join(", ")));
    }
    if !c.missing_metrics.is_empty() {
        parts.push(format!("not measured: {}", c.missing_metrics.join(", ")));
    }
    format!("{}: {}.", c.condition, parts.join("; "))
}

/// H2: across conditions with a detected peak and a detected onset, the Deming slope of log2 W_ens on
/// log2 W_peak, with a jackknife over the settings (H2's units; `unit_of[i]` is condition i's setting,
/// its own for a condition without data draws): each setting's (peak, onset) pairs, one per data draw,
/// are left out together, so the between-setting scatter and each condition's own estimation error (an
/// argmax and a change point, which a bootstrap of the seeds cannot resample validly) both enter the
/// spread, and nothing inside a condition is re-located.
fn across_conditions(analysed: &[ConditionAnalysis], unit_of: &[usize], opts: &Options) -> Vec<AcrossConditions> {
    let names: Vec<String> =
        analysed.iter().flat_map(|c| c.metrics.iter().map(|m| m.metric.clone())).collect::<BTreeSet<_>>().into_iter().collect();
    // An onset whose interval reaches the first candidate (the second width) is censored: the growth
    // started at or below the narrowest widths, and where cannot be told, so it cannot move with anything
    // (resampled, it sits on the edge every time and gives a slope of exactly 0).
    let censored = |m: &MetricVerdict| {
        m.onset.as_ref().is_some_and(|o| m.growth.get(1).is_some_and(|second| o.lo <= second.width as f64 * (1.0 + 1e-9)))
    };
    let included_for = |name: &str| -> Vec<usize> {
        (0..analysed.len())
            .filter(|&i| {
                analysed[i].peak.detected
                    && analysed[i].metrics.iter().any(|m| m.metric == name && m.w_ens.is_some() && !censored(m))
            })
            .collect()
    };
    // First every metric's slope and its bootstrap; then Holm over the metrics that have one.
    let work: Vec<H2Work> = names
        .into_iter()
        .map(|name| {
            let included = included_for(&name);
            let left_out: Vec<String> = (0..analysed.len())
                .filter(|i| !included.contains(i))
                .map(|i| {
                    let c = &analysed[i];
                    match c.metrics.iter().find(|m| m.metric == name) {
                        Some(m) if m.w_ens.is_some() && censored(m) => format!("{} (onset at the narrow edge)", c.condition),
                        _ => c.condition.clone(),
                    }
                })
                .collect();
            let points: Vec<(String, f64, f64)> = included
                .iter()
                .map(|&i| {
                    let c = &analysed[i];
                    let m = c.metrics.iter().find(|m| m.metric == name).unwrap();
                    (c.condition.clone(), c.peak.peak.as_ref().unwrap().width as f64, m.w_ens.unwrap())
                })
                .collect();
            let units: Vec<usize> = included.iter().map(|&i| unit_of[i]).collect();
            let mut w = H2Work { name, included, units, left_out, points, ..Default::default() };
            if w.settings() >= NEEDED_CONDITIONS {
                h2_jackknife(&mut w, analysed);
            }
            w
        })
        .collect();
    // Holm over the metrics with an interval, on the jackknife t test's two-sided p-value of a slope of 0
    // (the test behind "excludes 0"); each metric's interval is at the level Holm gives its rank.
    let p: Vec<f64> = work.iter().map(|w| w.jackknife.map_or(f64::NAN, |j| p_zero(w.slope, &j))).collect();
    let p_holm = holm(&p);
    let family = p.iter().filter(|p| p.is_finite()).count().max(1);
    let tails = holm_tails(&p, opts.alpha);
    work.into_iter().enumerate().map(|(i, w)| h2_verdict(w, tails[i], p[i], p_holm[i], family, opts.alpha)).collect()
}

/// Each test's two-sided tail at its Holm step: the smallest p-value of m is tested at alpha / m, the
/// next at alpha / (m - 1), and so on (half of it in each tail). Tests without a p-value (NaN) are not
/// in the family and get the first step's tail.
fn holm_tails(p: &[f64], alpha: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let family = order.len().max(1);
    let mut tails = vec![alpha / 2.0 / family as f64; p.len()];
    for (rank, &i) in order.iter().enumerate() {
        tails[i] = alpha / 2.0 / (family - rank) as f64;
    }
    tails
}

/// Fewest settings (with a detected peak and onset in some draw) for H2's slope: five leave its fit
/// residual degrees of freedom.
const NEEDED_CONDITIONS: usize = 5;

/// One metric's H2 material before Holm.
#[derive(Default)]
struct H2Work {
    name: String,
    /// Indices of the conditions in the fit, the setting (jackknife unit) of each, and the names of the
    /// conditions left out.
    included: Vec<usize>,
    units: Vec<usize>,
    left_out: Vec<String>,
    points: Vec<(String, f64, f64)>,
    /// log2 W_peak span of the points.
    span: f64,
    slope: f64,
    control: Option<f64>,
    jackknife: Option<crate::curve::Jackknife>,
    control_jackknife: Option<crate::curve::Jackknife>,
}

impl H2Work {
    /// Settings in the fit: the jackknife's units.
    fn settings(&self) -> usize {
        self.units.iter().collect::<BTreeSet<_>>().len()
    }
}

/// The two-sided p-value of a slope of 0: the jackknife t on its degrees of freedom (0 for an exact
/// slope other than 0: every leave-one-out slope equal).
fn p_zero(slope: f64, j: &crate::curve::Jackknife) -> f64 {
    if j.se > 0.0 {
        (2.0 * crate::stats::t_upper_tail(slope.abs() / j.se, j.df)).min(1.0)
    } else if slope != 0.0 {
        0.0
    } else {
        1.0
    }
}

/// Deming's slope of `y` on `x` and its jackknife over the units: the points of unit `units[i]` are
/// left out together (the delete-a-group jackknife), each unit in turn.
fn deming_jackknife(x: &[f64], y: &[f64], units: &[usize]) -> (f64, Option<crate::curve::Jackknife>) {
    let distinct: BTreeSet<usize> = units.iter().copied().collect();
    let without = |v: &[f64], u: usize| -> Vec<f64> { v.iter().zip(units).filter(|(_, g)| **g != u).map(|(a, _)| *a).collect() };
    let loo: Vec<f64> = distinct.iter().map(|&u| deming_slope(&without(x, u), &without(y, u))).collect();
    (deming_slope(x, y), crate::curve::Jackknife::of(&loo))
}

/// The Deming slope of one metric (and of the interpolation threshold's control) with their jackknifes
/// over the conditions.
fn h2_jackknife(w: &mut H2Work, analysed: &[ConditionAnalysis]) {
    let x: Vec<f64> = w.points.iter().map(|p| p.1.log2()).collect();
    let y: Vec<f64> = w.points.iter().map(|p| p.2.log2()).collect();
    w.span = x.iter().copied().fold(f64::NEG_INFINITY, f64::max) - x.iter().copied().fold(f64::INFINITY, f64::min);
    (w.slope, w.jackknife) = deming_jackknife(&x, &y, &w.units);
    let interp: Option<Vec<f64>> = w.included.iter().map(|&i| analysed[i].w_interp.map(|w| (w as f64).log2())).collect();
    if let Some(interp) = interp {
        let (slope, j) = deming_jackknife(&interp, &y, &w.units);
        (w.control, w.control_jackknife) = (Some(slope), j);
    }
}

/// One metric's H2 verdict: its jackknife t interval at two-sided tail `tail` (its Holm level), its raw
/// and Holm-adjusted p-value of a slope of 0.
fn h2_verdict(w: H2Work, tail: f64, p: f64, p_holm: f64, family: usize, alpha: f64) -> AcrossConditions {
    let pred = prediction::COMOVEMENT;
    let name = w.name.clone();
    let empty = |reason: String, points| AcrossConditions {
        metric: name.clone(),
        points,
        slope: None,
        lo: None,
        hi: None,
        control_slope: None,
        control_lo: None,
        control_hi: None,
        verdict: Verdict::new(pred, Some(&name), Outcome::NotTestable, reason, &[]),
    };
    let settings = w.settings();
    // "over 6 conditions", or "over 12 conditions of 4 settings" where settings have data draws.
    let over = if settings == w.included.len() {
        format!("{settings} conditions")
    } else {
        format!("{} conditions of {settings} settings", w.included.len())
    };
    if settings < NEEDED_CONDITIONS {
        return empty(
            format!(
                "{} with a detected peak and onset ({NEEDED_CONDITIONS} needed); left out: {}",
                if settings == w.included.len() { format!("{settings} condition(s)") } else { format!("{settings} setting(s)") },
                if w.left_out.is_empty() { "none".to_string() } else { w.left_out.join(", ") }
            ),
            w.points,
        );
    }
    let slope = w.slope;
    let ci = |s: Option<f64>, j: Option<crate::curve::Jackknife>| match (s.filter(|s| s.is_finite()), j) {
        (Some(s), Some(j)) => {
            let half = crate::stats::t_quantile(1.0 - tail, j.df) * j.se;
            (Some(s - half), Some(s + half))
        }
        _ => (None, None),
    };
    let (lo, hi) = ci(Some(slope), w.jackknife);
    let (control_lo, control_hi) = ci(w.control, w.control_jackknife);
    let numbers = [
        ("slope", slope),
        ("lo", lo.unwrap_or(f64::NAN)),
        ("hi", hi.unwrap_or(f64::NAN)),
        ("control_slope", w.control.unwrap_or(f64::NAN)),
        ("conditions", w.included.len() as f64),
        ("settings", settings as f64),
        ("metrics_in_family", family as f64),
        ("p_zero", p),
        ("p_holm", p_holm),
    ];
    let verdict = match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let text = format!(
                "slope of log W_ens on log W_peak {slope:.2} [{lo:.2}, {hi:.2}] over {over} (jackknife over the {}, t on {} d.o.f.; interval at {:.1}%, this metric's Holm level over {family} metric(s); slope 0: p = {}, Holm p = {})",
                if settings == w.included.len() { "conditions" } else { "settings, each with its data draws" },
                settings - 1,
                100.0 * (1.0 - 2.0 * tail),
                fmt_p(p),
                fmt_p(p_holm),
            );
            let sesoi = crate::sesoi::COMOVEMENT_SLOPE;
            // A seed-level metric's change at the peak is predicted by the variance account too.
            let rival = if crate::sesoi::seed_level(&name) {
                " (a seed-level metric: the variance account predicts this too, so it does not favour the hypothesis)"
            } else {
                ""
            };
            if lo <= 1.0 && hi >= 1.0 && lo > 0.0 && p_holm < alpha {
                Verdict::new(pred, Some(&name), Outcome::Supported, format!("{text}: contains 1, excludes 0{rival}"), &numbers)
            } else if hi < sesoi {
                Verdict::new(
                    pred,
                    Some(&name),
                    Outcome::Contradicted,
                    format!("{text}: excludes every slope of {sesoi} or more (the onset does not move with the peak)"),
                    &numbers,
                )
            } else {
                Verdict::new(
                    pred,
                    Some(&name),
                    Outcome::Inconclusive,
                    format!("{text}: does not show a slope near 1, and does not exclude a slope of {sesoi} or more"),
                    &numbers,
                )
            }
        }
        // Deming's slope is undefined when the points have no spread along either axis, or when it is
        // undefined without one of them.
        _ => Verdict::new(
            pred,
            Some(&name),
            Outcome::NotTestable,
            format!(
                "unstable fit: Deming's slope is undefined with or without some {} (the peaks span {:.2} octaves over {over})",
                if settings == w.included.len() { "condition" } else { "setting" },
                w.span,
            ),
            &numbers,
        ),
    };
    AcrossConditions {
        metric: name.clone(),
        points: w.points,
        slope: slope.is_finite().then_some(slope),
        lo,
        hi,
        control_slope: w.control.filter(|s| s.is_finite()),
        control_lo,
        control_hi,
        verdict,
    }
}

/// The share of true flags (a rate in the calibration table).
pub(crate) fn share(flags: &[bool]) -> f64 {
    mean(&flags.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_holm_gives_each_metric_the_tail_of_its_step() {
        // Ranks by p: index 2 (0.001) first of three, then index 0, then index 3; index 1 has none.
        let tails = holm_tails(&[0.01, f64::NAN, 0.001, 0.2], 0.05);
        let expected = [0.05 / 2.0 / 2.0, 0.05 / 2.0 / 3.0, 0.05 / 2.0 / 3.0, 0.05 / 2.0];
        for (t, e) in tails.iter().zip(expected) {
            assert!((t - e).abs() < 1e-15, "{tails:?}");
        }
    }

    #[test]
    fn h2_jackknife_leaves_each_setting_out_and_tests_zero_by_t() {
        // Points on a line of slope 2: every leave-one-out slope is 2, so the spread is 0 and a slope
        // other than 0 has p = 0.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let each = [0, 1, 2, 3, 4];
        let (slope, j) = deming_jackknife(&x, &x.map(|v| 2.0 * v + 1.0), &each);
        let j = j.unwrap();
        assert!((slope - 2.0).abs() < 1e-12 && j.se < 1e-12 && j.df == 4.0, "{slope} {j:?}");
        assert_eq!(p_zero(slope, &j), 0.0);
        // Symmetric scatter about y = x (+-0.5 at x = 1 and 3, in opposite directions): Deming's slope
        // changes when either is left out, so the jackknife has a spread.
        let (slope, j) = deming_jackknife(&x, &[0.0, 1.5, 2.0, 2.5, 4.0], &each);
        assert!(slope < 1.0 && j.unwrap().se > 0.01, "{slope} {j:?}");
        // Two data draws per setting: the setting's points are left out together, so there are as many
        // jackknife units as settings and the spread is that of the leave-one-setting-out slopes.
        let x2 = [0.0, 0.2, 1.0, 1.1, 2.0, 2.3, 3.0, 2.9, 4.0, 4.2];
        let y2 = [0.1, 0.0, 1.4, 1.0, 2.0, 2.6, 2.5, 3.3, 4.0, 3.7];
        let units = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
        let (slope, j) = deming_jackknife(&x2, &y2, &units);
        let j = j.unwrap();
        assert_eq!((j.units, j.df), (5, 4.0));
        assert!((slope - deming_slope(&x2, &y2)).abs() < 1e-15);
        let loo: Vec<f64> = (0..5)
            .map(|u| {
                let keep =
                    |v: &[f64]| -> Vec<f64> { v.iter().enumerate().filter(|(i, _)| i / 2 != u).map(|(_, a)| *a).collect() };
                deming_slope(&keep(&x2), &keep(&y2))
            })
            .collect();
        let mean = loo.iter().sum::<f64>() / 5.0;
        let se = (4.0 / 5.0 * loo.iter().map(|s| (s - mean).powi(2)).sum::<f64>()).sqrt();
        assert!((j.se - se).abs() < 1e-12 && se > 0.01, "{} {se}", j.se);
        // The p-value is the two-sided t tail: on 2 d.o.f. the upper tail of t is (1 - t / sqrt(t^2 + 2)) / 2.
        let j = crate::curve::Jackknife { se: 1.0, df: 2.0, units: 3 };
        let t: f64 = 1.5;
        assert!((p_zero(-t, &j) - (1.0 - t / (t * t + 2.0).sqrt())).abs() < 1e-12);
    }

    #[test]
    fn an_onset_interval_places_the_onset_only_within_two_octaves_of_the_peak_cell() {
        // Widths 10, 18, 32: the cell of a peak at 18 is [log2 sqrt(180), log2 sqrt(576)] = [3.75, 4.58].
        let at_peak = AtPeak {
            change: None,
            sesoi: 0.0,
            growth: SeedCurves::default(),
            peak: 18f64.log2(),
            cell: peak_cell(&[10, 18, 32], 1),
        };
        let onset = |lo: f64, hi: f64| OnsetSummary {
            width: lo,
            lo,
            hi,
            slope_change: 1.0,
            end: None,
            sup_f: 10.0,
            df_resid: 10,
            p_value: 0.001,
            p_holm: 0.001,
            detected: true,
        };
        // Growth from 3 that saturates at the peak: its interval [3, 16] overlaps the cell but reaches
        // 2.2 octaves below it (log2 3 = 1.58).
        assert!(!at_peak.places(&onset(3.0, 16.0)));
        assert!(at_peak.places(&onset(4.0, 40.0)), "2 octaves below the cell is 3.36, above 6.58");
        assert!(!at_peak.places(&onset(12.0, 100.0)), "log2 100 = 6.64 is past 6.58");
    }
}
