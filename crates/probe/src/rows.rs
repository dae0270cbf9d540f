//! probes.csv rows, in long form, and the metric values the probes produce before they are placed.
//!
//! A metric is either a finite number or undefined with a reason: probes.csv never holds NaN or inf
//! (docs/SCIENCE.md, Probes). An undefined metric is an empty `value` cell and its reason in `undefined`.

use serde::{Deserialize, Serialize};

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

/// One metric of one probe of one model (or, with `seed` empty, of the seed ensemble of one width).
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

    /// Sets value and reason from a metric value.
    pub fn set(&mut self, value: &Value) {
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

/// A metric value: a finite number, or why the metric is undefined for this model.
pub type Value = Result<f64, String>;

/// A metric before it is placed in a row: which probe, which metric, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub probe: &'static str,
    pub name: String,
    pub value: Value,
}

impl Metric {
    /// A metric from a computed number; a NaN or infinite number becomes undefined (a safety net: each
    /// probe gives its own reason where it knows one).
    pub fn new(probe: &'static str, name: impl Into<String>, value: f64) -> Self {
        Metric::from_value(probe, name, Ok(value))
    }

    /// A metric the verdict tests, by its shared identity ([`ddlab_config::metrics`]).
    pub fn of(id: ddlab_config::metrics::MetricId, value: Value) -> Self {
        Metric::from_value(id.probe(), id.name(), value)
    }

    /// A metric that is undefined for this model, with the reason.
    pub fn undefined(probe: &'static str, name: impl Into<String>, reason: impl Into<String>) -> Self {
        Metric::from_value(probe, name, Err(reason.into()))
    }

    /// A metric from a value; a non-finite number becomes undefined.
    pub fn from_value(probe: &'static str, name: impl Into<String>, value: Value) -> Self {
        let value = match value {
            Ok(v) if !v.is_finite() => Err(format!("computation gave a non-finite number ({v})")),
            other => other,
        };
        Metric { probe, name: name.into(), value }
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn the_header_constant_is_what_csv_writes() {
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
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(&row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap().to_string() + "\n", ProbeRow::HEADER);
    }
}
