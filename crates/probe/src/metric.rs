//! The metric values the probes produce, before the driver places them in probes.csv's rows
//! (`ddlab_store::ProbeRow`).
//!
//! A metric is either a finite number or undefined with a reason: probes.csv never holds NaN or inf
//! (docs/SCIENCE.md, Probes).

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
