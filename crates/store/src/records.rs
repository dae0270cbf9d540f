//! The rows of the sweep folder's CSV files other than runs.csv: a run's evaluations (metrics.csv), probe
//! values (probes.csv, per run, per width and across widths), the flipped labels (noise.csv), and the
//! figures' index.

use serde::{Deserialize, Serialize};

/// One evaluation of one run: a row of its metrics.csv. Losses are the training loss (squared loss on
/// one-hot targets or cross-entropy, mean over examples); errors are the share of misclassified
/// examples. Train metrics use the training labels as given (noisy ones included); test labels are clean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_err: f64,
    pub test_loss: f64,
    pub test_err: f64,
    /// Wall-clock seconds of training up to this evaluation.
    pub seconds: f64,
}

/// When a model was probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The initial weights: the null control.
    Init,
    /// The final trained weights.
    Trained,
    /// Weights saved at a probe-schedule epoch.
    Snapshot,
}

/// One metric of one probe of one model (or, with `seed` empty, of the seed ensemble of one width), in
/// long form. A metric is either a finite number or undefined with a reason: probes.csv never holds NaN
/// or inf (docs/SCIENCE.md, Probes); an undefined metric is an empty `value` and its reason in
/// `undefined`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeRow {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub width: usize,
    pub seed: Option<u64>,
    pub phase: Phase,
    pub epoch: usize,
    pub probe: String,
    pub metric: String,
    /// The value; empty when the metric is undefined for this model.
    pub value: Option<f64>,
    /// Empty when `value` is defined, else why it is not (e.g. "full network not clearly better than
    /// chance"). Files written before this column existed read as defined.
    #[serde(default)]
    pub undefined: String,
}

impl ProbeRow {
    /// The header line of a probes.csv, for a file with no rows (csv writes no header without one).
    pub const HEADER: &'static str = "condition,n_train,label_noise,width,seed,phase,epoch,probe,metric,value,undefined\n";

    /// The value as a [`Result`]: `Err(reason)` when undefined. A non-finite value (which ddlab no longer
    /// writes) reads as undefined too.
    pub fn result(&self) -> Result<f64, String> {
        match self.value {
            Some(v) if v.is_finite() && self.undefined.is_empty() => Ok(v),
            Some(v) if self.undefined.is_empty() => Err(format!("not finite ({v})")),
            _ if self.undefined.is_empty() => Err("no value".into()),
            _ => Err(self.undefined.clone()),
        }
    }

    /// Sets value and reason from a metric value (a number, or why there is none).
    pub fn set(&mut self, value: &Result<f64, String>) {
        match value {
            Ok(v) => {
                self.value = Some(*v);
                self.undefined.clear();
            }
            Err(reason) => {
                self.value = None;
                self.undefined = reason.clone();
            }
        }
    }
}

/// One flipped training label of a condition (data/<condition>/noise.csv).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseRow {
    /// The example's index in the condition's training set.
    pub index: usize,
    pub original: u32,
    pub noisy: u32,
}

impl NoiseRow {
    pub const HEADER: &'static str = "index,original,noisy\n";
}

/// The figures' order and titles (figures/index.json), for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FigureIndex {
    /// `(name, title)`: `figures/<name>.svg` and `.png`.
    pub figures: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of<T: Serialize>(row: &T) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_string() + "\n"
    }

    #[test]
    fn the_header_constants_are_what_csv_writes() {
        let row = ProbeRow {
            condition: "c".into(),
            n_train: 1,
            label_noise: 0.0,
            width: 1,
            seed: None,
            phase: Phase::Init,
            epoch: 0,
            probe: "p".into(),
            metric: "m".into(),
            value: None,
            undefined: String::new(),
        };
        assert_eq!(header_of(&row), ProbeRow::HEADER);
        assert_eq!(header_of(&NoiseRow { index: 0, original: 1, noisy: 2 }), NoiseRow::HEADER);
    }
}
