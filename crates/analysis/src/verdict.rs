//! DESIGN.md section 4: from per-run figures and probe values to the verdict on the hypothesis.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::curve::{CurvePoint, SeedValues, aggregate, resample};
use crate::onset::hinge_onset;
use crate::peak::{Peak, find_peak, interpolation_threshold};
use crate::stats::{mean, ols, partial_correlation, quantile, se, spearman};

/// The ensemble metrics the verdict is about (`probe/metric` in probes.csv).
pub const VERDICT_METRICS: &[&str] = &[
    "partition/ambiguity_m2",
    "partition/disagreement_m2",
    "competence/n_eff",
    "diversity/effective_rank",
    "diversity/participation_ratio",
    "circuits/linear_maps",
    "geometry/activation_pr",
    "seed_ensemble/variance",
    "geometry/cka_seeds",
];

/// Settings of the analysis (fixed defaults, recorded in analysis.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    pub resamples: usize,
    pub permutations: usize,
    /// A width interpolates when its mean training error is at most this.
    pub interp_tolerance: f64,
    /// "Double descent detected" needs this prominence (in standard errors) on both sides.
    pub prominence: f64,
    /// Onset and peak coincide when within this many octaves (and their intervals overlap).
    pub coincidence_octaves: f64,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resamples: 1000,
            permutations: 9999,
            interp_tolerance: 0.01,
            prominence: 3.0,
            coincidence_octaves: 1.0,
            seed: 0,
        }
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
}

/// One probe value. `seed` is `None` for seed-ensemble figures (one value per width).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    pub width: usize,
    pub seed: Option<u64>,
    pub trained: bool,
    pub value: f64,
}

/// Everything known about one condition.
#[derive(Clone, Debug, Default)]
pub struct ConditionInput {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub runs: Vec<RunFigures>,
    /// Keyed by `probe/metric`.
    pub metrics: BTreeMap<String, Vec<MetricValue>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    pub train_err: Vec<CurvePoint>,
    pub train_loss: Vec<CurvePoint>,
    pub test_err: Vec<CurvePoint>,
    pub test_loss: Vec<CurvePoint>,
}

/// A peak with its bootstrap interval over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeakSummary {
    pub peak: Option<Peak>,
    /// 95% bootstrap interval of the peak width (from resamples that have a peak), widened by the grid's
    /// resolution: half-way, in log2 width, to the neighbouring widths.
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// Share of bootstrap resamples that have an interior peak.
    pub resamples_with_peak: f64,
    /// Prominence on both sides at least `Options::prominence`.
    pub detected: bool,
}

/// The verdict for one metric in one condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    pub metric: String,
    pub trained: Vec<CurvePoint>,
    pub init: Vec<CurvePoint>,
    /// Trained minus init, paired by seed.
    pub growth: Vec<CurvePoint>,
    /// Onset of growth (width, from the segmented-regression change point in log2 width) and its 95% bootstrap
    /// interval; the interval is absent for seed-ensemble metrics (one value per width).
    pub w_ens: Option<f64>,
    pub w_ens_lo: Option<f64>,
    pub w_ens_hi: Option<f64>,
    /// |log2 W_ens - log2 W_peak| <= coincidence_octaves and the intervals overlap.
    pub coincides: Option<bool>,
    /// Spearman correlation of growth and test error over the widths from the peak on.
    pub rho: Option<f64>,
    /// Two-sided permutation p-value of rho.
    pub p_value: Option<f64>,
    /// Partial Spearman correlation given log W.
    pub partial_rho: Option<f64>,
    pub n_past_peak: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionAnalysis {
    pub condition: String,
    pub n_train: usize,
    pub label_noise: f64,
    pub curves: Curves,
    pub w_interp: Option<usize>,
    pub peak: PeakSummary,
    /// The peak of the test loss (it peaks harder than the error).
    pub peak_loss: PeakSummary,
    pub metrics: Vec<MetricVerdict>,
    pub conclusion: String,
}

/// Does W_ens move with W_peak across conditions?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcrossConditions {
    pub metric: String,
    /// (condition, W_peak, W_ens) of every condition that has both.
    pub points: Vec<(String, f64, f64)>,
    /// Slope of log2 W_ens on log2 W_peak (1: the onset moves with the peak), with a 95% bootstrap interval.
    pub slope: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub options: Options,
    pub conditions: Vec<ConditionAnalysis>,
    pub across: Vec<AcrossConditions>,
    pub overall: String,
}

/// Per-seed values of a run figure by width.
fn run_values(runs: &[RunFigures], pick: fn(&RunFigures) -> f64) -> SeedValues {
    let mut by_width: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in runs {
        by_width.entry(r.width).or_default().push(pick(r));
    }
    by_width.into_iter().collect()
}

/// Per-seed values of a metric by width, for one phase, or paired trained-minus-init.
fn metric_values(values: &[MetricValue], select: Select) -> SeedValues {
    let mut trained: BTreeMap<(usize, Option<u64>), f64> = BTreeMap::new();
    let mut init: BTreeMap<(usize, Option<u64>), f64> = BTreeMap::new();
    for v in values {
        let map = if v.trained { &mut trained } else { &mut init };
        map.insert((v.width, v.seed), v.value);
    }
    let mut by_width: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let source = match select {
        Select::Init => &init,
        _ => &trained,
    };
    for (&(width, seed), &value) in source {
        let value = match select {
            Select::Growth => match init.get(&(width, seed)) {
                Some(i) => value - i,
                None => continue,
            },
            _ => value,
        };
        by_width.entry(width).or_default().push(value);
    }
    by_width.into_iter().collect()
}

#[derive(Clone, Copy)]
enum Select {
    Trained,
    Init,
    Growth,
}

fn means(values: &SeedValues) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let finite: Vec<(usize, Vec<f64>)> = values
        .iter()
        .map(|(w, v)| (*w, v.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    (
        finite.iter().map(|(w, _)| *w).collect(),
        finite.iter().map(|(_, v)| mean(v)).collect(),
        finite.iter().map(|(_, v)| se(v)).collect(),
    )
}

fn resample_all(values: &SeedValues, rng: &mut ChaCha8Rng) -> SeedValues {
    values.iter().map(|(w, v)| (*w, resample(v, rng))).collect()
}

fn onset_of(values: &SeedValues) -> Option<f64> {
    let (widths, m, _) = means(values);
    let t: Vec<f64> = widths.iter().map(|&w| (w as f64).log2()).collect();
    hinge_onset(&t, &m)
}

fn peak_of(values: &SeedValues) -> Option<Peak> {
    let (widths, m, s) = means(values);
    find_peak(&widths, &m, &s)
}

fn interval(samples: &[f64]) -> (Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None);
    }
    let logs: Vec<f64> = samples.iter().map(|w| w.log2()).collect();
    (Some(quantile(&logs, 0.025).exp2()), Some(quantile(&logs, 0.975).exp2()))
}

fn peak_summary(values: &SeedValues, opts: &Options, rng: &mut ChaCha8Rng) -> PeakSummary {
    let peak = peak_of(values);
    let widths: Vec<f64> =
        (0..opts.resamples).filter_map(|_| peak_of(&resample_all(values, rng)).map(|p| p.width as f64)).collect();
    // The peak is an argmax on a grid, so it cannot be placed finer than the grid: each resample's
    // peak stands for the span half-way (in log2 width) to its neighbouring widths.
    let grid: Vec<f64> = values.iter().map(|(w, _)| *w as f64).collect();
    let half_way = |w: f64, step: isize| {
        let i = grid.iter().position(|g| *g == w).unwrap() as isize;
        grid.get((i + step) as usize).filter(|_| i + step >= 0).map_or(w, |n| (w * n).sqrt())
    };
    let lows: Vec<f64> = widths.iter().map(|&w| half_way(w, -1)).collect();
    let highs: Vec<f64> = widths.iter().map(|&w| half_way(w, 1)).collect();
    let (lo, hi) = (interval(&lows).0, interval(&highs).1);
    let detected = peak.as_ref().is_some_and(|p| p.prominence_left >= opts.prominence && p.prominence_right >= opts.prominence);
    PeakSummary { peak, lo, hi, resamples_with_peak: widths.len() as f64 / opts.resamples.max(1) as f64, detected }
}

/// Two-sided permutation p-value of the Spearman correlation of x and y.
fn permutation_p(x: &[f64], y: &[f64], observed: f64, permutations: usize, rng: &mut ChaCha8Rng) -> f64 {
    let mut shuffled = x.to_vec();
    let mut extreme = 0;
    for _ in 0..permutations {
        shuffled.shuffle(rng);
        let r = spearman(&shuffled, y);
        if r.is_finite() && r.abs() >= observed.abs() - 1e-12 {
            extreme += 1;
        }
    }
    (1 + extreme) as f64 / (1 + permutations) as f64
}

fn analyze_metric(
    name: &str,
    values: &[MetricValue],
    test_err: &SeedValues,
    peak: &PeakSummary,
    opts: &Options,
    rng: &mut ChaCha8Rng,
) -> MetricVerdict {
    let growth = metric_values(values, Select::Growth);
    let per_seed = values.iter().any(|v| v.seed.is_some());
    let w_ens = onset_of(&growth).map(f64::exp2);
    let (w_ens_lo, w_ens_hi) = if per_seed {
        let samples: Vec<f64> =
            (0..opts.resamples).filter_map(|_| onset_of(&resample_all(&growth, rng)).map(f64::exp2)).collect();
        interval(&samples)
    } else {
        (None, None)
    };
    let coincides = match (w_ens, &peak.peak) {
        (Some(e), Some(p)) => {
            let close = (e.log2() - (p.width as f64).log2()).abs() <= opts.coincidence_octaves;
            let (elo, ehi) = (w_ens_lo.unwrap_or(e), w_ens_hi.unwrap_or(e));
            let (plo, phi) = (peak.lo.unwrap_or(p.width as f64), peak.hi.unwrap_or(p.width as f64));
            Some(close && elo <= phi && plo <= ehi)
        }
        _ => None,
    };
    // Correlation past the peak, on per-width means.
    let (gw, gm, _) = means(&growth);
    let (ew, em, _) = means(test_err);
    let from = peak.peak.as_ref().map(|p| p.width).unwrap_or(usize::MAX);
    let paired: Vec<(f64, f64, f64)> = gw
        .iter()
        .zip(&gm)
        .filter(|(w, _)| **w >= from)
        .filter_map(|(w, g)| ew.iter().position(|x| x == w).map(|i| ((*w as f64).log2(), *g, em[i])))
        .collect();
    let (t, g, e): (Vec<f64>, Vec<f64>, Vec<f64>) =
        (paired.iter().map(|p| p.0).collect(), paired.iter().map(|p| p.1).collect(), paired.iter().map(|p| p.2).collect());
    let (rho, p_value, partial_rho) = if paired.len() >= 3 {
        let rho = spearman(&g, &e);
        let p = if rho.is_finite() { Some(permutation_p(&g, &e, rho, opts.permutations, rng)) } else { None };
        let partial = partial_correlation(rho, spearman(&g, &t), spearman(&e, &t));
        (rho.is_finite().then_some(rho), p, partial.is_finite().then_some(partial))
    } else {
        (None, None, None)
    };
    MetricVerdict {
        metric: name.to_string(),
        trained: aggregate(&metric_values(values, Select::Trained), opts.resamples, rng),
        init: aggregate(&metric_values(values, Select::Init), opts.resamples, rng),
        growth: aggregate(&growth, opts.resamples, rng),
        w_ens,
        w_ens_lo,
        w_ens_hi,
        coincides,
        rho,
        p_value,
        partial_rho,
        n_past_peak: paired.len(),
    }
}

fn conclusion(c: &ConditionAnalysis, opts: &Options) -> String {
    let Some(peak) = &c.peak.peak else {
        return format!(
            "{}: no interior test-error peak, so no double descent to compare the ensemble metrics with.",
            c.condition
        );
    };
    let detected = if c.peak.detected {
        format!(
            "double descent detected: test error peaks at width {} ({:.1} and {:.1} standard errors above the best widths on either side)",
            peak.width, peak.prominence_left, peak.prominence_right
        )
    } else {
        format!(
            "the test-error peak at width {} is not prominent enough to call double descent ({:.1} / {:.1} standard errors; {} needed on both sides)",
            peak.width, peak.prominence_left, peak.prominence_right, opts.prominence
        )
    };
    let coinciding: Vec<&str> = c.metrics.iter().filter(|m| m.coincides == Some(true)).map(|m| m.metric.as_str()).collect();
    let supporting: Vec<&str> = c
        .metrics
        .iter()
        .filter(|m| m.coincides == Some(true) && m.rho.is_some_and(|r| r < 0.0) && m.p_value.is_some_and(|p| p < 0.05))
        .map(|m| m.metric.as_str())
        .collect();
    let tested = c.metrics.iter().filter(|m| m.w_ens.is_some()).count();
    format!(
        "{}: {detected}; {} of {tested} ensemble metrics {} growing within {} octave of the peak{}; of these, {} {} as the test error falls past the peak (rho < 0, p < 0.05){}.",
        c.condition,
        coinciding.len(),
        if coinciding.len() == 1 { "starts" } else { "start" },
        opts.coincidence_octaves,
        if coinciding.is_empty() { String::new() } else { format!(" ({})", coinciding.join(", ")) },
        supporting.len(),
        if supporting.len() == 1 { "grows" } else { "grow" },
        if supporting.is_empty() { String::new() } else { format!(" ({})", supporting.join(", ")) },
    )
}

/// The whole analysis of a sweep.
pub fn analyze(conditions: &[ConditionInput], opts: &Options) -> Analysis {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut analysed = Vec::new();
    // Per condition, the per-seed values behind W_peak and every W_ens, kept for the across-conditions bootstrap.
    let mut behind: Vec<(SeedValues, BTreeMap<String, SeedValues>)> = Vec::new();
    for input in conditions {
        let train_err = run_values(&input.runs, |r| r.train_err);
        let test_err = run_values(&input.runs, |r| r.test_err);
        let test_loss = run_values(&input.runs, |r| r.test_loss);
        let curves = Curves {
            train_err: aggregate(&train_err, opts.resamples, &mut rng),
            train_loss: aggregate(&run_values(&input.runs, |r| r.train_loss), opts.resamples, &mut rng),
            test_err: aggregate(&test_err, opts.resamples, &mut rng),
            test_loss: aggregate(&test_loss, opts.resamples, &mut rng),
        };
        let w_interp = interpolation_threshold(
            &curves.train_err.iter().map(|p| p.width).collect::<Vec<_>>(),
            &curves.train_err.iter().map(|p| p.mean).collect::<Vec<_>>(),
            opts.interp_tolerance,
        );
        let peak = peak_summary(&test_err, opts, &mut rng);
        let peak_loss = peak_summary(&test_loss, opts, &mut rng);
        let mut growths = BTreeMap::new();
        let metrics: Vec<MetricVerdict> = VERDICT_METRICS
            .iter()
            .filter_map(|name| input.metrics.get(*name).map(|values| (name, values)))
            .map(|(name, values)| {
                growths.insert(name.to_string(), metric_values(values, Select::Growth));
                analyze_metric(name, values, &test_err, &peak, opts, &mut rng)
            })
            .collect();
        let mut c = ConditionAnalysis {
            condition: input.condition.clone(),
            n_train: input.n_train,
            label_noise: input.label_noise,
            curves,
            w_interp,
            peak,
            peak_loss,
            metrics,
            conclusion: String::new(),
        };
        c.conclusion = conclusion(&c, opts);
        analysed.push(c);
        behind.push((test_err, growths));
    }
    let across = across_conditions(&analysed, &behind, opts, &mut rng);
    let overall = overall(&analysed, &across);
    Analysis { options: opts.clone(), conditions: analysed, across, overall }
}

fn across_conditions(
    analysed: &[ConditionAnalysis],
    behind: &[(SeedValues, BTreeMap<String, SeedValues>)],
    opts: &Options,
    rng: &mut ChaCha8Rng,
) -> Vec<AcrossConditions> {
    if analysed.len() < 2 {
        return Vec::new();
    }
    VERDICT_METRICS
        .iter()
        .map(|name| {
            let points: Vec<(String, f64, f64)> = analysed
                .iter()
                .filter_map(|c| {
                    let m = c.metrics.iter().find(|m| m.metric == *name)?;
                    Some((c.condition.clone(), c.peak.peak.as_ref()?.width as f64, m.w_ens?))
                })
                .collect();
            let fit = |pts: &[(f64, f64)]| -> Option<f64> {
                if pts.len() < 2 {
                    return None;
                }
                let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().map(|(p, e)| (p.log2(), e.log2())).unzip();
                let slope = ols(&x, &y).1;
                slope.is_finite().then_some(slope)
            };
            let slope = fit(&points.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>());
            let samples: Vec<f64> = (0..opts.resamples)
                .filter_map(|_| {
                    let pts: Vec<(f64, f64)> = behind
                        .iter()
                        .filter_map(|(err, growths)| {
                            let p = peak_of(&resample_all(err, rng))?.width as f64;
                            let e = onset_of(&resample_all(growths.get(*name)?, rng))?.exp2();
                            Some((p, e))
                        })
                        .collect();
                    fit(&pts)
                })
                .collect();
            let (lo, hi) = if samples.is_empty() {
                (None, None)
            } else {
                (Some(quantile(&samples, 0.025)), Some(quantile(&samples, 0.975)))
            };
            AcrossConditions { metric: name.to_string(), points, slope, lo, hi }
        })
        .collect()
}

fn overall(analysed: &[ConditionAnalysis], across: &[AcrossConditions]) -> String {
    let detected = analysed.iter().filter(|c| c.peak.detected).count();
    let with_coincidence =
        analysed.iter().filter(|c| c.peak.detected && c.metrics.iter().any(|m| m.coincides == Some(true))).count();
    let mut text = format!(
        "Double descent was detected in {detected} of {} condition(s); in {with_coincidence} of those, at least one ensemble metric starts growing at the peak.",
        analysed.len()
    );
    let moving: Vec<String> = across
        .iter()
        .filter(|a| a.lo.is_some_and(|lo| lo <= 1.0) && a.hi.is_some_and(|hi| hi >= 1.0) && a.lo.is_some_and(|lo| lo > 0.0))
        .map(|a| a.metric.clone())
        .collect();
    if !across.is_empty() {
        text.push_str(&format!(
            " Across conditions, the onset moves with the peak (slope interval containing 1 and excluding 0) for {} of {} metrics{}.",
            moving.len(),
            across.len(),
            if moving.is_empty() { String::new() } else { format!(" ({})", moving.join(", ")) }
        ));
    }
    text
}
