//! Data draws as replicates (docs/SCIENCE.md, Statistics: "Data draws"): conditions that differ only in
//! their data draw (`conditions.data_seed`) are replicates of one setting. Per width, the test error's
//! variance splits into the initialisation variance (between seeds of one draw) and the sampling variance
//! of the data (between draws); each headline effect is estimated per draw and summarised over draws, the
//! draw being the unit (a t interval on draws - 1 degrees of freedom).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::condition::ConditionAnalysis;
use crate::outcome::{Outcome, Verdict};
use crate::stats::{mean, t_interval, variance};

/// Per width: the variance of one run's test error, split into its sources (Adlam & Pennington 2020).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarianceSplit {
    pub width: usize,
    /// Mean over draws of the seeds' sample variance within a draw (initialisation and batch order).
    pub init: f64,
    /// Variance of the draw means minus init / S (the one-way random-effects estimate, floored at 0):
    /// what a new training set, label flips and test set add.
    pub data: f64,
    pub draws: usize,
    pub seeds: usize,
}

/// One effect measured in every draw of a setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawEffect {
    pub name: String,
    /// (data seed, value) of every draw where the effect is defined.
    pub values: Vec<(u64, f64)>,
    pub mean: Option<f64>,
    /// 95% t interval over draws (None with fewer than 2).
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

/// How one headline prediction came out in each draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawOutcomes {
    pub prediction: String,
    pub outcomes: Vec<(u64, Outcome)>,
}

/// A setting replicated over data draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedSetting {
    pub setting: String,
    /// The setting without its intervention (docs/SCIENCE.md, "Studies: several sweeps as one"): the
    /// settings sharing it share their data draws. Empty: no intervention is known (analysis.json of an
    /// earlier version); the setting is its own base.
    #[serde(default)]
    pub base_setting: String,
    /// (data seed, condition label) of every draw.
    pub draws: Vec<(u64, String)>,
    pub variance: Vec<VarianceSplit>,
    pub effects: Vec<DrawEffect>,
    pub outcomes: Vec<DrawOutcomes>,
    /// The setting's counted verdicts, the draw being the unit (double descent, H1's family, the
    /// past-peak family, H4, H5's peak and kW, the epoch-wise peak and onset: [`crate::over_draws`]);
    /// they replace the draws' own in the tally.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// The families' members over draws: H1 and the past-peak relation per metric, the epoch-wise
    /// onset per metric and width.
    #[serde(default)]
    pub metric_verdicts: Vec<Verdict>,
}

/// The variance split of one width from its values grouped by draw: `None` with fewer than 2 draws
/// or no draw with 2 seeds.
pub fn variance_split(width: usize, by_draw: &[Vec<f64>]) -> Option<VarianceSplit> {
    let draws: Vec<&Vec<f64>> = by_draw.iter().filter(|v| !v.is_empty()).collect();
    let within: Vec<f64> = draws.iter().filter(|v| v.len() >= 2).map(|v| variance(v)).collect();
    if draws.len() < 2 || within.is_empty() {
        return None;
    }
    let init = mean(&within);
    let means: Vec<f64> = draws.iter().map(|v| mean(v)).collect();
    let between = variance(&means);
    // Harmonic mean of the seeds per draw: the variance of a draw mean carries init / S_d.
    let s = draws.len() as f64 / draws.iter().map(|v| 1.0 / v.len() as f64).sum::<f64>();
    Some(VarianceSplit {
        width,
        init,
        data: (between - init / s).max(0.0),
        draws: draws.len(),
        seeds: draws.iter().map(|v| v.len()).min().unwrap_or(0),
    })
}

fn effect(name: &str, values: Vec<(u64, f64)>) -> DrawEffect {
    let xs: Vec<f64> = values.iter().map(|v| v.1).collect();
    let (lo, hi) = t_interval(&xs, 0.95);
    DrawEffect {
        name: name.to_string(),
        mean: (!xs.is_empty()).then(|| mean(&xs)),
        lo: lo.is_finite().then_some(lo),
        hi: hi.is_finite().then_some(hi),
        values,
    }
}

/// Groups the analysed conditions by setting (`inputs`: (setting, base setting, data draw) per
/// condition, in the same order) and summarises every setting with at least two draws. `runs`: per condition, the test error of
/// every run as (width, value).
pub(crate) fn replicated(
    analysed: &[ConditionAnalysis],
    inputs: &[(String, String, Option<u64>)],
    runs: &[Vec<(usize, f64)>],
    alpha: f64,
) -> Vec<ReplicatedSetting> {
    let mut groups: BTreeMap<&str, Vec<(u64, usize)>> = BTreeMap::new();
    for (i, (setting, _, draw)) in inputs.iter().enumerate() {
        if let Some(d) = draw {
            groups.entry(setting.as_str()).or_default().push((*d, i));
        }
    }
    groups
        .into_iter()
        .filter(|(_, members)| members.len() >= 2)
        .map(|(setting, members)| {
            let mut widths: BTreeMap<usize, Vec<Vec<f64>>> = BTreeMap::new();
            for (k, (_, i)) in members.iter().enumerate() {
                for (w, e) in &runs[*i] {
                    let by_draw = widths.entry(*w).or_insert_with(|| vec![Vec::new(); members.len()]);
                    by_draw[k].push(*e);
                }
            }
            let variance = widths.iter().filter_map(|(w, by_draw)| variance_split(*w, by_draw)).collect();
            let per_draw = |f: &dyn Fn(&ConditionAnalysis) -> Option<f64>| -> Vec<(u64, f64)> {
                members.iter().filter_map(|(d, i)| f(&analysed[*i]).filter(|v| v.is_finite()).map(|v| (*d, v))).collect()
            };
            let number = |c: &ConditionAnalysis, prediction: &str, key: &str| {
                c.verdicts.iter().find(|v| v.prediction == prediction).and_then(|v| v.numbers.get(key).copied())
            };
            use crate::outcome::prediction as p;
            let mut effects = vec![
                effect("peak width (log2)", per_draw(&|c| c.peak.peak.as_ref().map(|k| (k.width as f64).log2()))),
                effect(
                    "peak height above both sides (test error)",
                    per_draw(&|c| c.peak.peak.as_ref().map(|k| k.drop_left.min(k.drop_right))),
                ),
                effect("H4 alpha (seed variance ~ W^-alpha)", per_draw(&|c| number(c, p::AVERAGING, "alpha"))),
                effect("H5 peak lowered by averaging seeds", per_draw(&|c| number(c, p::ENSEMBLE_PEAK, "reduction"))),
                effect("H5 one net of width kW minus k nets of width W", per_draw(&|c| number(c, p::ENSEMBLE_KW, "mean_diff"))),
            ];
            let metric_names: Vec<String> = analysed[members[0].1].metrics.iter().map(|m| m.metric.clone()).collect();
            for name in metric_names {
                // H1's confirmation statistic, as the verdicts over draws use it (crate::over_draws).
                effects.push(effect(
                    &format!("H1 change of slope at the onset placed in the peak's cell: {name}"),
                    per_draw(&|c| {
                        c.metrics.iter().find(|m| m.metric == name).and_then(|m| m.h1.numbers.get("confirm_change").copied())
                    }),
                ));
            }
            let predictions: Vec<String> = analysed[members[0].1].verdicts.iter().map(|v| v.prediction.clone()).collect();
            let outcomes = predictions
                .into_iter()
                .map(|prediction| DrawOutcomes {
                    outcomes: members
                        .iter()
                        .filter_map(|(d, i)| {
                            analysed[*i].verdicts.iter().find(|v| v.prediction == prediction).map(|v| (*d, v.outcome))
                        })
                        .collect(),
                    prediction,
                })
                .collect();
            let draws: Vec<&ConditionAnalysis> = members.iter().map(|(_, i)| &analysed[*i]).collect();
            let (verdicts, metric_verdicts) = crate::over_draws::verdicts(&draws, alpha);
            ReplicatedSetting {
                verdicts,
                metric_verdicts,
                setting: setting.to_string(),
                base_setting: inputs[members[0].1].1.clone(),
                draws: members.iter().map(|(d, i)| (*d, analysed[*i].condition.clone())).collect(),
                variance,
                effects,
                outcomes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_splits_into_init_and_data_exactly() {
        // Draw means 0, 1, 2 (variance 1); within each draw the seeds are m - 1, m + 1 (variance 2).
        // init = 2; data = 1 - 2 / 2 = 0.
        let split = variance_split(8, &[vec![-1.0, 1.0], vec![0.0, 2.0], vec![1.0, 3.0]]).unwrap();
        assert_eq!((split.init, split.data, split.draws, split.seeds), (2.0, 0.0, 3, 2));
        // Draw means 0, 4, 8 (variance 16), within variance 2 over 2 seeds: data = 16 - 1 = 15.
        let split = variance_split(8, &[vec![-1.0, 1.0], vec![3.0, 5.0], vec![7.0, 9.0]]).unwrap();
        assert_eq!((split.init, split.data), (2.0, 15.0));
        assert!(variance_split(8, &[vec![1.0, 2.0]]).is_none(), "one draw: no data variance");
    }
}
