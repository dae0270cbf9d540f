//! From per-run figures and probe values to a verdict per prediction (docs/SCIENCE.md, Statistics:
//! "Verdict"): each condition's curves and tests, then the settings over their data draws, H2 and H3
//! across settings, and the tally.

use std::collections::{BTreeMap, BTreeSet};

use ddlab_config::metrics::*;
use serde::{Deserialize, Serialize};

use crate::averaging::averaging_verdict;
use crate::condition::{ConditionAnalysis, Curves, DivergedRun, MetricVerdict, ValueCounts};
use crate::curve::{SeedCurves, aggregate};
use crate::ensemble::{WidthAdjusted, explicit_ensembles, width_adjusted};
use crate::epochs::epoch_wise;
use crate::h1::{AtPeak, OnsetAxis, onset_summary, onset_verdict, peak_cell};
use crate::h2::{AcrossConditions, across_conditions};
use crate::input::{ConditionInput, MetricValue, RunFigures, seed_variance_metric, seed_variance_without, verdict_metrics};
use crate::onset::onset_test;
use crate::outcome::{Options, Outcome, PredictionTally, Tally, Verdict, family_verdict, prediction};
use crate::past_peak::{PastPeak, past_peak_fit, past_peak_verdict};
use crate::peak::{interpolation_threshold, peak_test, peak_verdict};
use crate::stats::holm;

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
    /// The decision between the accounts, when the sweep crosses interventions (docs/SCIENCE.md,
    /// Statistics, "Deciding between the accounts").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::decision::Decision>,
}
/// A run the curves use: its four final figures, each present and finite.
struct UsedRun {
    width: usize,
    seed: u64,
    train_err: f64,
    train_loss: f64,
    test_err: f64,
    test_loss: f64,
}

/// The run's figures, or why it is left out: it diverged, or a figure is missing or not finite (a run
/// without all four diverged even if nobody said so).
fn used_run(r: &RunFigures) -> Result<UsedRun, String> {
    if let Some(reason) = &r.diverged {
        return Err(reason.clone());
    }
    // runs.csv stores a figure that is not finite as missing: one reason for both.
    let figure = |v: Option<f64>| v.filter(|v| v.is_finite()).ok_or_else(|| "missing or non-finite final figures".to_string());
    Ok(UsedRun {
        width: r.width,
        seed: r.seed,
        train_err: figure(r.train_err)?,
        train_loss: figure(r.train_loss)?,
        test_err: figure(r.test_err)?,
        test_loss: figure(r.test_loss)?,
    })
}

fn run_curves(runs: &[UsedRun], pick: fn(&UsedRun) -> f64) -> SeedCurves {
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
/// Per metric: the data and the unadjusted tests, before Holm across metrics.
struct MetricWork {
    name: String,
    data: MetricData,
    onset: Option<crate::onset::OnsetTest>,
    past: Option<(crate::stats::SlopeFit, f64)>,
    past_untestable: Option<String>,
}
/// What H3 needs of one condition's curves.
struct Behind {
    test_err: SeedCurves,
    growths: BTreeMap<String, SeedCurves>,
    /// The seed ensemble's variance per width (the decision between the accounts reads it).
    seed_variance: Option<SeedCurves>,
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
    let settings: Vec<(String, String, Option<u64>)> = conditions
        .iter()
        .map(|c| {
            let setting = if c.setting.is_empty() { c.condition.clone() } else { c.setting.clone() };
            let base = if c.base_setting.is_empty() { setting.clone() } else { c.base_setting.clone() };
            (setting, base, c.draw)
        })
        .collect();
    let test_errors: Vec<Vec<(usize, f64)>> = analysed
        .iter()
        .map(|c| c.curves.test_err.iter().flat_map(|p| p.values.iter().map(|v| (p.width, v.value))).collect())
        .collect();
    let replicated = crate::replicate::replicated(&analysed, &settings, &test_errors, opts.alpha);
    // H2 and H3 compare conditions that differ in their setting; the data draws of one setting are its
    // replicates, not conditions, so a sweep of one setting has nothing to compare.
    let one_setting = settings.iter().all(|s| s.2.is_some()) && settings.iter().map(|s| &s.0).collect::<BTreeSet<_>>().len() < 2;
    // H2's and H3's unit is the setting: the data draws of one setting share its threshold and whatever
    // else the setting fixes, so they are one unit, not several conditions. A condition without a data
    // draw is a unit of its own, whatever its label.
    let mut unit_names: Vec<String> = Vec::new();
    let mut unit_of: Vec<usize> = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        let grouped = c.draw.is_some() && !c.setting.is_empty();
        let existing =
            grouped.then(|| (0..i).find(|&j| conditions[j].draw.is_some() && conditions[j].setting == c.setting)).flatten();
        match existing {
            Some(j) => unit_of.push(unit_of[j]),
            None => {
                unit_of.push(unit_names.len());
                unit_names.push(if grouped { c.setting.clone() } else { c.condition.clone() });
            }
        }
    }
    let across = if analysed.len() >= 2 && !one_setting { across_conditions(&analysed, &unit_of, opts) } else { Vec::new() };
    let per_condition: Vec<crate::ensemble::H3Input> =
        analysed.iter().zip(&behind).map(|(c, b)| (c.condition.as_str(), &b.test_err, &b.growths, c.w_interp)).collect();
    let merged = crate::ensemble::setting_means(&per_condition, &unit_of, &unit_names);
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
    let decision = decision_over(conditions, &analysed, &behind, opts);
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
        decision,
    }
}

/// The decision between the accounts over the conditions that carry an intervention.
fn decision_over(
    conditions: &[ConditionInput],
    analysed: &[ConditionAnalysis],
    behind: &[Behind],
    opts: &Options,
) -> Option<crate::decision::Decision> {
    let curves: Vec<crate::decision::InterventionCurves> = conditions
        .iter()
        .zip(analysed)
        .zip(behind)
        .filter(|((input, _), _)| !input.base_setting.is_empty())
        .map(|((input, c), b)| crate::decision::InterventionCurves {
            base_setting: &input.base_setting,
            draw: input.draw,
            intervention: &input.intervention,
            w_interp: c.w_interp,
            test_err: &b.test_err,
            seed_variance: b.seed_variance.as_ref(),
            growths: &b.growths,
        })
        .collect();
    let loss = conditions.first().map(|c| c.loss).unwrap_or_default();
    let measures = crate::input::decision_measures(loss);
    let names: Vec<&str> = measures.iter().map(MetricId::as_str).collect();
    let (input, left_out) = crate::decision::decision_input(&curves, &names)?;
    let mut decision = crate::decision::decide(&input, opts.alpha);
    decision.without_cells = left_out;
    Some(decision)
}

fn analyze_condition(input: &ConditionInput, opts: &Options) -> (ConditionAnalysis, Behind) {
    let mut diverged = Vec::new();
    let mut used = Vec::new();
    for r in &input.runs {
        match used_run(r) {
            Err(reason) => diverged.push(DivergedRun { width: r.width, seed: r.seed, reason }),
            Ok(run) => used.push(run),
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
                h1: onset_verdict(
                    &OnsetAxis::MODEL_WISE,
                    &m.name,
                    &m.name,
                    onset.as_ref(),
                    coincides,
                    peak.peak.as_ref().map(|p| p.width).zip(at_peak.as_ref()),
                    opts.alpha,
                ),
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
    let seed_variance = trained.get(variance_name.as_str()).cloned();
    let behind = Behind { test_err, growths, seed_variance };
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
