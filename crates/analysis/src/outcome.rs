//! What every verdict is made of (docs/SCIENCE.md, Statistics: "Four outcomes"): the analysis's
//! options, the four outcomes, a verdict with its numbers, the predictions' names, the tally, and the
//! rule that makes a family's verdict from its members'.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::mean;

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
    pub(crate) fn add(&mut self, outcome: Outcome) {
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
pub(crate) fn fmt_p(p: f64) -> String {
    if p < 0.001 { format!("{p:.1e}") } else { format!("{p:.3}") }
}

/// "p = x", or "p <= x" for a simulated p-value at its floor 1 / (draws + 1): the simulation cannot say
/// how much smaller it is.
pub(crate) fn p_equals(p: f64, draws: usize) -> String {
    if p <= 1.0 / (draws as f64 + 1.0) * (1.0 + 1e-9) { format!("p <= {}", fmt_p(p)) } else { format!("p = {}", fmt_p(p)) }
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
/// The share of true flags (a rate in the calibration table).
pub(crate) fn share(flags: &[bool]) -> f64 {
    mean(&flags.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect::<Vec<_>>())
}
