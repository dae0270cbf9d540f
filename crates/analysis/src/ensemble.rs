//! The ensemble hypothesis tested head-on (docs/SCIENCE.md, Statistics: H3 and H5).
//!
//! H3, width-adjusted prediction across conditions: at a fixed width, do conditions whose metric grew
//! more have a lower test error? Within-width (fixed effect per width) slope of the condition means,
//! with a permutation p-value over pairings of conditions, which stays exact when a condition's values
//! at different widths are correlated (they are: one training set, one noise level).
//!
//! H5, explicit ensembles: the test error of the average of k seeds' outputs, per width; does the
//! k = S ensemble lower the single-net peak; and does one net of width kW predict like k nets of width W?

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::curve::{CurvePoint, SeedCurves, aggregate};
use crate::input::MetricValue;
use crate::outcome::{Options, Outcome, Verdict, family_verdict, fmt_p, prediction};
use crate::peak::PeakTest;
use crate::stats::{holm, mean, t_quantile, within_group_slope};
use ddlab_config::metrics::{ENSEMBLE_ERR_K, KIndexed, KW_DISAGREEMENT_K, KW_ERR_DIFF_K};

/// "Predicts like": the mean error difference lies within this many points of test error (a share),
/// by two one-sided tests at level alpha. One point of error is the resolution a reader of a
/// double-descent curve cares about; the peak heights in the calibration are ten times larger.
pub const KW_EQUIVALENCE_MARGIN: f64 = 0.01;

/// Exhaustive enumeration of condition pairings up to this many (7! = 5040); above it, random ones.
const MAX_EXHAUSTIVE: usize = 5040;

// ---------------------------------------------------------------------------------------------
// H3

/// A permutation test of the within-column (fixed effect per column) slope of y on x, where rows are
/// the exchangeable units (conditions) and columns the groups (widths).
#[derive(Clone, Debug, PartialEq)]
pub struct PermutationSlope {
    pub slope: f64,
    /// Two-sided: share of pairings whose |slope| is at least the observed one (identity included).
    pub p_value: f64,
    /// 95% interval by inverting the permutation test (None where unbounded).
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// Pairings evaluated, and whether that is all of them (rows!).
    pub pairings: usize,
    pub exhaustive: bool,
    /// The smallest p-value the design can give (1 / rows! when exhaustive).
    pub min_p: f64,
    /// The parametric within-width t test, valid only if the cells are independent (reported beside).
    pub p_value_t: f64,
    pub df_t: f64,
}

fn all_permutations(n: usize) -> Vec<Vec<usize>> {
    // Heap's algorithm, iterative.
    let mut a: Vec<usize> = (0..n).collect();
    let mut out = vec![a.clone()];
    let mut c = vec![0usize; n];
    let mut i = 1;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                a.swap(0, i)
            } else {
                a.swap(c[i], i)
            }
            out.push(a.clone());
            c[i] += 1;
            i = 1;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    out
}

fn factorial_at_most(n: usize, cap: usize) -> Option<usize> {
    let mut f = 1usize;
    for k in 2..=n {
        f = f.checked_mul(k)?;
        if f > cap {
            return None;
        }
    }
    Some(f)
}

/// Per width: (mean growth, mean test error) of one condition.
type GrowthAndError = BTreeMap<usize, (f64, f64)>;

/// Within-column slope of y on x (rows: units, columns: groups; a balanced table) with a permutation
/// p-value: the rows of x are re-paired with the rows of y (every pairing when rows! <= 5040, else
/// `draws` random ones seeded by `seed`). Exact under "x's rows are exchangeable given y", whatever
/// the correlation within a row. The interval inverts the test: every beta0 whose residual
/// y - beta0 x has a permutation p-value above alpha. `None` for fewer than 2 rows, an unbalanced
/// table, or no variation of x within columns.
pub fn permutation_slope_test(x: &[Vec<f64>], y: &[Vec<f64>], alpha: f64, draws: usize, seed: u64) -> Option<PermutationSlope> {
    let rows = x.len();
    let cols = x.first()?.len();
    if rows < 2 || cols == 0 || y.len() != rows || x.iter().chain(y).any(|r| r.len() != cols) {
        return None;
    }
    let centre = |m: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let means: Vec<f64> = (0..cols).map(|j| mean(&m.iter().map(|r| r[j]).collect::<Vec<_>>())).collect();
        m.iter().map(|r| r.iter().zip(&means).map(|(v, mu)| v - mu).collect()).collect()
    };
    let (xc, yc) = (centre(x), centre(y));
    let sxx: f64 = xc.iter().flatten().map(|v| v * v).sum();
    if !(sxx > 0.0 && sxx.is_finite()) {
        return None;
    }
    let dot = |perm: &[usize], other: &[Vec<f64>]| -> f64 {
        perm.iter().enumerate().map(|(i, &pi)| xc[pi].iter().zip(&other[i]).map(|(a, b)| a * b).sum::<f64>()).sum::<f64>() / sxx
    };
    let identity: Vec<usize> = (0..rows).collect();
    let slope = dot(&identity, &yc);
    let (perms, exhaustive) = match factorial_at_most(rows, MAX_EXHAUSTIVE) {
        Some(_) => (all_permutations(rows), true),
        None => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0003);
            let perms = (0..draws.max(1))
                .map(|_| {
                    let mut p = identity.clone();
                    p.shuffle(&mut rng);
                    p
                })
                .collect();
            (perms, false)
        }
    };
    // slope of (y - beta0 x) on the permuted x is A - beta0 B.
    let ab: Vec<(f64, f64)> = perms.iter().map(|p| (dot(p, &yc), dot(p, &xc))).collect();
    let p_at = |beta0: f64| -> f64 {
        let obs = (slope - beta0).abs();
        let tol = 1e-9 * obs.max(slope.abs()).max(1e-300);
        let n = ab.iter().filter(|(a, b)| (a - beta0 * b).abs() >= obs - tol).count();
        if exhaustive { n as f64 / ab.len() as f64 } else { (1 + n) as f64 / (1 + ab.len()) as f64 }
    };
    let p_value = p_at(0.0);
    let min_p = if exhaustive { 1.0 / ab.len() as f64 } else { 1.0 / (1 + ab.len()) as f64 };
    let scale = ab.iter().map(|(a, _)| (a - slope).abs()).fold(slope.abs(), f64::max).max(1e-12);
    let bound = |dir: f64| -> Option<f64> {
        let mut out = slope + dir * scale;
        let mut k = 0;
        while p_at(out) > alpha {
            out = slope + (out - slope) * 2.0;
            k += 1;
            if k > 40 {
                return None;
            }
        }
        let mut inside = slope;
        for _ in 0..60 {
            let mid = (inside + out) / 2.0;
            if p_at(mid) > alpha { inside = mid } else { out = mid }
        }
        Some((inside + out) / 2.0)
    };
    let (lo, hi) = (bound(-1.0), bound(1.0));
    let groups: Vec<Vec<(f64, f64)>> = (0..cols).map(|j| (0..rows).map(|i| (x[i][j], y[i][j])).collect()).collect();
    let fit = within_group_slope(&groups);
    Some(PermutationSlope {
        slope,
        p_value,
        lo,
        hi,
        pairings: ab.len(),
        exhaustive,
        min_p,
        p_value_t: fit.as_ref().map_or(f64::NAN, |f| f.p_value),
        df_t: fit.as_ref().map_or(f64::NAN, |f| f.df),
    })
}

/// One condition at one width in H3: the condition's mean growth and mean test error there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidthPoint {
    pub condition: String,
    pub width: usize,
    pub growth: f64,
    pub test_err: f64,
}

/// H3 for one metric: within-width slope of the conditions' mean test error on their mean growth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidthAdjusted {
    pub metric: String,
    /// Conditions that entered (those with the metric), and the widths all of them share.
    pub conditions: Vec<String>,
    pub widths: Vec<usize>,
    /// Test error per unit of growth, at fixed width (< 0: the predicted sign).
    pub slope: Option<f64>,
    /// 95% interval by inverting the permutation test (None where unbounded).
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// Permutation p-value over pairings of conditions, and Holm-adjusted across metrics.
    pub p_value: Option<f64>,
    pub p_holm: Option<f64>,
    pub pairings: usize,
    /// The parametric within-width t test's p-value (assumes independent condition-width cells).
    pub p_value_t: Option<f64>,
    pub points: Vec<WidthPoint>,
    /// The same test with width measured from each condition's interpolation threshold (half-octave bins
    /// of log2(W / W_interp) that every condition has; several widths in a bin averaged): a condition
    /// further past its own threshold at the same width has both a lower error and a grown metric, which
    /// the raw-width fixed effect cannot remove. Reported beside the verdict, not deciding it.
    #[serde(default)]
    pub relative: Option<RelativeWidth>,
    pub verdict: Verdict,
}

/// H3 at a fixed distance from each condition's threshold (see [`WidthAdjusted::relative`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelativeWidth {
    /// Half-octave bins (log2 W / W_interp) shared by every condition.
    pub bins: Vec<f64>,
    pub slope: f64,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub p_value: f64,
    pub min_p: f64,
}

/// (condition, its test error, its metrics' growth, its interpolation threshold).
pub(crate) type H3Input<'a> = (&'a str, &'a SeedCurves, &'a BTreeMap<String, SeedCurves>, Option<usize>);

/// One unit of H3: a setting's test error and growths, and its interpolation threshold.
pub(crate) struct SettingCurves {
    pub setting: String,
    pub test_err: SeedCurves,
    pub growths: BTreeMap<String, SeedCurves>,
    pub w_interp: Option<usize>,
}

/// H3's units, one per setting (`unit_of[i]` is condition i's index in `settings`). A setting of one
/// condition keeps its seeds' values; a setting with several data draws gets, at each width, one value
/// per draw, the mean over that draw's seeds (so its mean there is the mean of the draws' means, each
/// draw weighted alike), and the median of the draws' thresholds (none if some draw has none). The draws
/// of a setting share its threshold and whatever else the setting fixes: as separate rows of the
/// permutation test they would be counted as independent conditions.
pub(crate) fn setting_means(conditions: &[H3Input], unit_of: &[usize], settings: &[String]) -> Vec<SettingCurves> {
    (0..settings.len())
        .filter_map(|u| {
            let members: Vec<&H3Input> = conditions.iter().zip(unit_of).filter(|(_, g)| **g == u).map(|(c, _)| c).collect();
            match members.as_slice() {
                [] => None,
                [(label, err, growths, interp)] => Some(SettingCurves {
                    setting: label.to_string(),
                    test_err: (*err).clone(),
                    growths: (*growths).clone(),
                    w_interp: *interp,
                }),
                many => {
                    let means = |curves: Vec<&SeedCurves>| -> SeedCurves {
                        let mut out = SeedCurves::default();
                        for (d, c) in curves.iter().enumerate() {
                            for (w, m) in c.widths().into_iter().zip(c.means()) {
                                out.insert(w, Some(d as u64), m);
                            }
                        }
                        out
                    };
                    let names: std::collections::BTreeSet<&String> = many.iter().flat_map(|c| c.2.keys()).collect();
                    let growths =
                        names.into_iter().map(|n| (n.clone(), means(many.iter().filter_map(|c| c.2.get(n)).collect()))).collect();
                    let mut thresholds: Option<Vec<usize>> = many.iter().map(|c| c.3).collect();
                    let w_interp = thresholds.as_mut().map(|t| {
                        t.sort_unstable();
                        t[(t.len() - 1) / 2]
                    });
                    Some(SettingCurves {
                        setting: settings[u].clone(),
                        test_err: means(many.iter().map(|c| c.1).collect()),
                        growths,
                        w_interp,
                    })
                }
            }
        })
        .collect()
}

/// Per condition: half-octave bin of log2(W / W_interp) -> (mean growth, mean test error) over its widths
/// in the bin; then the bins every condition has, as the columns of the permutation test.
fn relative_test(conditions: &[H3Input], name: &str, opts: &Options) -> Option<RelativeWidth> {
    let mut tables: Vec<BTreeMap<i64, (f64, f64, usize)>> = Vec::new();
    for (_, err, growths, interp) in conditions {
        let (Some(g), Some(thr)) = (growths.get(name), interp) else { continue };
        let errs: BTreeMap<usize, f64> = err.widths().into_iter().zip(err.means()).collect();
        let mut t: BTreeMap<i64, (f64, f64, usize)> = BTreeMap::new();
        for (w, gm) in g.widths().into_iter().zip(g.means()) {
            if let Some(e) = errs.get(&w).filter(|e| e.is_finite() && gm.is_finite()) {
                let bin = (2.0 * (w as f64 / *thr as f64).log2()).round() as i64;
                let cell = t.entry(bin).or_insert((0.0, 0.0, 0));
                *cell = (cell.0 + gm, cell.1 + e, cell.2 + 1);
            }
        }
        tables.push(t);
    }
    if tables.len() < 2 {
        return None;
    }
    let shared: Vec<i64> = tables[0].keys().copied().filter(|b| tables.iter().all(|t| t.contains_key(b))).collect();
    if shared.is_empty() {
        return None;
    }
    let column = |pick: fn(&(f64, f64, usize)) -> f64| -> Vec<Vec<f64>> {
        tables.iter().map(|t| shared.iter().map(|b| pick(&t[b])).collect()).collect()
    };
    let x = column(|c| c.0 / c.2 as f64);
    let y = column(|c| c.1 / c.2 as f64);
    let test = permutation_slope_test(&x, &y, opts.alpha, opts.null_draws, opts.seed)?;
    Some(RelativeWidth {
        bins: shared.iter().map(|b| *b as f64 / 2.0).collect(),
        slope: test.slope,
        lo: test.lo,
        hi: test.hi,
        p_value: test.p_value,
        min_p: test.min_p,
    })
}

/// H3 for every metric measured in some condition, and its family verdict (Holm across metrics).
pub(crate) fn width_adjusted(conditions: &[H3Input], opts: &Options) -> (Vec<WidthAdjusted>, Verdict) {
    let pred = prediction::WIDTH_ADJUSTED;
    let names: Vec<String> =
        conditions.iter().flat_map(|c| c.2.keys().cloned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    struct Work {
        row: WidthAdjusted,
        test: Option<PermutationSlope>,
        untestable: Option<String>,
        /// Sd of the metric's width-centred condition means (the scale of the smallest effect of interest).
        sd_between: f64,
    }
    let mut work: Vec<Work> = names
        .iter()
        .map(|name| {
            // Per condition: width -> (mean growth, mean test error), where both exist.
            let tables: Vec<(&str, GrowthAndError)> = conditions
                .iter()
                .filter_map(|(cond, err, growths, _)| {
                    let g = growths.get(name)?;
                    let errs: BTreeMap<usize, f64> = err.widths().into_iter().zip(err.means()).collect();
                    let t: BTreeMap<usize, (f64, f64)> = g
                        .widths()
                        .into_iter()
                        .zip(g.means())
                        .filter_map(|(w, gm)| errs.get(&w).map(|e| (w, (gm, *e))))
                        .filter(|(_, (a, b))| a.is_finite() && b.is_finite())
                        .collect();
                    (!t.is_empty()).then_some((*cond, t))
                })
                .collect();
            let shared: Vec<usize> = tables
                .first()
                .map(|(_, t)| t.keys().copied().filter(|w| tables.iter().all(|(_, o)| o.contains_key(w))).collect())
                .unwrap_or_default();
            let mut row = WidthAdjusted {
                metric: name.clone(),
                conditions: tables.iter().map(|(c, _)| c.to_string()).collect(),
                widths: shared.clone(),
                slope: None,
                lo: None,
                hi: None,
                p_value: None,
                p_holm: None,
                pairings: 0,
                p_value_t: None,
                points: Vec::new(),
                relative: relative_test(conditions, name, opts),
                verdict: Verdict::default(),
            };
            if tables.len() < 2 {
                let why = format!(
                    "{} condition(s) measured the metric with a test error: at least 2 sharing widths are needed to compare conditions at a fixed width",
                    tables.len()
                );
                return Work { row, test: None, untestable: Some(why), sd_between: f64::NAN };
            }
            if shared.is_empty() {
                let why = format!("the {} conditions share no width: no fixed width to compare them at", tables.len());
                return Work { row, test: None, untestable: Some(why), sd_between: f64::NAN };
            }
            for (c, t) in &tables {
                for w in &shared {
                    let (g, e) = t[w];
                    row.points.push(WidthPoint { condition: c.to_string(), width: *w, growth: g, test_err: e });
                }
            }
            let x: Vec<Vec<f64>> = tables.iter().map(|(_, t)| shared.iter().map(|w| t[w].0).collect()).collect();
            let y: Vec<Vec<f64>> = tables.iter().map(|(_, t)| shared.iter().map(|w| t[w].1).collect()).collect();
            let (mut ss, mut cells) = (0.0, 0usize);
            for k in 0..shared.len() {
                let m = x.iter().map(|c| c[k]).sum::<f64>() / x.len() as f64;
                ss += x.iter().map(|c| (c[k] - m).powi(2)).sum::<f64>();
                cells += x.len() - 1;
            }
            let sd_between = (ss / cells.max(1) as f64).sqrt();
            match permutation_slope_test(&x, &y, opts.alpha, opts.null_draws, opts.seed) {
                Some(test) => Work { row, test: Some(test), untestable: None, sd_between },
                None => Work {
                    row,
                    test: None,
                    untestable: Some("the metric's growth is the same in every condition at every shared width".into()),
                    sd_between,
                },
            }
        })
        .collect();
    let adjusted = holm(&work.iter().map(|w| w.test.as_ref().map_or(f64::NAN, |t| t.p_value)).collect::<Vec<_>>());
    // The same Holm family at a fixed distance from each condition's threshold: a supported relation must
    // hold there too (where it can be measured), or the threshold confound could carry it.
    let adjusted_relative = holm(
        &work.iter().map(|w| w.test.as_ref().and(w.row.relative.as_ref()).map_or(f64::NAN, |r| r.p_value)).collect::<Vec<_>>(),
    );
    let family = work.iter().filter(|w| w.test.is_some()).count();
    for (i, w) in work.iter_mut().enumerate() {
        let name = w.row.metric.clone();
        let Some(t) = &w.test else {
            w.row.verdict = Verdict::new(pred, Some(&name), Outcome::NotTestable, w.untestable.clone().unwrap_or_default(), &[]);
            continue;
        };
        w.row.slope = Some(t.slope);
        w.row.lo = t.lo;
        w.row.hi = t.hi;
        w.row.p_value = Some(t.p_value);
        w.row.p_holm = Some(adjusted[i]);
        w.row.pairings = t.pairings;
        w.row.p_value_t = t.p_value_t.is_finite().then_some(t.p_value_t);
        let numbers = [
            ("slope", t.slope),
            ("lo", t.lo.unwrap_or(f64::NAN)),
            ("hi", t.hi.unwrap_or(f64::NAN)),
            ("p_value", t.p_value),
            ("p_holm", adjusted[i]),
            ("p_value_t", t.p_value_t),
            ("conditions", w.row.conditions.len() as f64),
            ("widths", w.row.widths.len() as f64),
            ("pairings", t.pairings as f64),
        ];
        let interval = match (t.lo, t.hi) {
            (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
            _ => "[unbounded]".into(),
        };
        let relative = w.row.relative.as_ref().map_or(
            "; relative to each condition's threshold: no half-octave bin shared by every condition".to_string(),
            |r| {
                let ci = match (r.lo, r.hi) {
                    (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
                    _ => "[unbounded]".into(),
                };
                format!(
                    "; at a fixed distance from each condition's threshold ({} shared half-octave bins): {:.3} {ci}, permutation p = {}, Holm p = {}",
                    r.bins.len(),
                    r.slope,
                    fmt_p(r.p_value),
                    fmt_p(adjusted_relative[i])
                )
            },
        );
        let text = format!(
            "at fixed width, across {} conditions ({} shared widths), test error changes by {:.3} {interval} per unit of growth (permutation p = {}, Holm p = {}, {} pairings; the smallest p this design can give: {}){relative}",
            w.row.conditions.len(),
            w.row.widths.len(),
            t.slope,
            fmt_p(t.p_value),
            fmt_p(adjusted[i]),
            t.pairings,
            fmt_p(t.min_p)
        );
        // The prediction: a condition whose metric moved further in its predicted direction errs less.
        let sign = -crate::sesoi::predicted_sign(&name);
        // The smallest Holm-adjusted p-value this design can reach: family size x the smallest p.
        let reachable = t.min_p * family as f64;
        let (outcome, reason) = if reachable >= opts.alpha {
            (
                Outcome::NotTestable,
                format!(
                    "{text}: {} conditions give {} pairings, so the smallest p-value is {} and, over {family} metric(s) (Holm), {}: not below {} (more conditions needed)",
                    w.row.conditions.len(),
                    t.pairings,
                    fmt_p(t.min_p),
                    fmt_p(reachable.min(1.0)),
                    opts.alpha
                ),
            )
        } else if adjusted[i] < opts.alpha
            && sign * t.slope > 0.0
            && w.row.relative.as_ref().is_some_and(|r| !(adjusted_relative[i] < opts.alpha && sign * r.slope > 0.0))
        {
            (
                Outcome::Inconclusive,
                format!(
                    "{text}: at a fixed width conditions whose metric moved further in its predicted direction err less, but not at a fixed distance from each condition's threshold: the threshold confound (a condition further past its own threshold has both) is not ruled out"
                ),
            )
        } else if adjusted[i] < opts.alpha && sign * t.slope > 0.0 {
            (
                Outcome::Supported,
                format!(
                    "{text}: conditions whose metric moved further in its predicted direction err less at the same width{}",
                    if crate::sesoi::seed_level(&name) {
                        " (a seed-level metric: the variance account predicts this too)"
                    } else {
                        ""
                    }
                ),
            )
        } else {
            let why = if adjusted[i] < opts.alpha { "the opposite sign" } else { "not significant" };
            // The 95% interval's end in the predicted direction bounds the effect (one-sided at 97.5%).
            let bound = match (t.lo, t.hi) {
                (Some(lo), Some(hi)) => Some(if sign < 0.0 { -lo } else { hi }),
                _ => None,
            };
            let sesoi = crate::sesoi::ERROR_PER_SD / w.sd_between;
            match bound.filter(|_| sesoi.is_finite()) {
                Some(b) if b < sesoi => (
                    Outcome::Contradicted,
                    format!(
                        "{text}: {why}; an effect in the predicted direction is at most {:.4} of error per sd ({:.3}) of the metric across conditions, below the smallest of interest ({})",
                        (b * w.sd_between).max(0.0),
                        w.sd_between,
                        crate::sesoi::ERROR_PER_SD
                    ),
                ),
                _ => (
                    Outcome::Inconclusive,
                    format!(
                        "{text}: {why}; an effect of {} of error per sd of the metric across conditions is not excluded",
                        crate::sesoi::ERROR_PER_SD
                    ),
                ),
            }
        };
        w.row.verdict = Verdict::new(pred, Some(&name), outcome, reason, &numbers);
    }
    let rows: Vec<WidthAdjusted> = work.into_iter().map(|w| w.row).collect();
    let members: Vec<&Verdict> = rows.iter().map(|r| &r.verdict).collect();
    let mut verdict = family_verdict(
        prediction::WIDTH_ADJUSTED_FAMILY,
        &members,
        "predict a lower test error at a fixed width across conditions",
    );
    if rows.is_empty() {
        verdict.reason = format!("no verdict metric measured in {} condition(s)", conditions.len());
    }
    (rows, verdict)
}

// ---------------------------------------------------------------------------------------------
// H5

/// The k-seed ensemble's test error against width.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnsembleCurve {
    pub k: usize,
    /// One value per width (n = 1: the S seeds make one ensemble, so there is no spread to show).
    pub points: Vec<CurvePoint>,
    /// At the single-net peak width: its value minus the lowest value on each side (the smaller).
    pub prominence: Option<f64>,
}

/// A mean over replicate units with its 95% and 90% t intervals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    pub lo90: f64,
    pub hi90: f64,
    /// Its standard error (over `units - 1` degrees of freedom).
    pub se: f64,
}

impl Estimate {
    /// The mean of `values` (one per unit) with its t intervals; `None` with fewer than 2 units or an
    /// undefined spread.
    fn over(values: &[f64]) -> Option<Estimate> {
        let m = crate::stats::MeanOver::of(values)?;
        let ((lo, hi), (lo90, hi90)) = (m.interval(0.95), m.interval(0.90));
        Some(Estimate { value: m.mean, lo, hi, lo90, hi90, se: m.se })
    }
}

/// One net of width kW against the k-seed ensemble of width W, past the peak. The difference is
/// modelled against width seed by seed (the wide net's seed is the unit): each seed's differences are
/// fitted by a line in log2 W, and the fitted line's ends (the first and the widest W) and its slope are
/// averaged over seeds with t intervals. A difference that trends with width is not one number.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KwComparison {
    pub k: usize,
    /// Error of the wide net minus error of the ensemble, per W (t interval over seeds where several).
    pub err_diff: Vec<CurvePoint>,
    /// Share of inputs where they predict differently, per W.
    pub disagreement: Vec<CurvePoint>,
    /// Each seed's mean difference over the widths, averaged over seeds (the seeds as units).
    pub mean_diff: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// The seeds (units) in the model.
    pub units: usize,
    /// The first and the widest W compared, and the fitted difference there.
    #[serde(default)]
    pub first_width: Option<usize>,
    #[serde(default)]
    pub last_width: Option<usize>,
    #[serde(default)]
    pub at_first: Option<Estimate>,
    #[serde(default)]
    pub at_last: Option<Estimate>,
    /// The fitted slope per octave of W (3 widths or more), averaged over seeds, with its 95% interval.
    #[serde(default)]
    pub trend: Option<f64>,
    #[serde(default)]
    pub trend_lo: Option<f64>,
    #[serde(default)]
    pub trend_hi: Option<f64>,
}

/// H5 for one condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExplicitEnsembles {
    /// k ascending; k = 1 is the mean single-net error.
    pub curves: Vec<EnsembleCurve>,
    /// Values recorded as undefined or not finite (left out).
    pub undefined: usize,
    pub k_max: Option<usize>,
    /// The single-net peak (from the runs) and its prominence over seeds.
    pub peak_width: Option<usize>,
    pub single_prominence: Option<f64>,
    /// Prominence of the k_max ensemble at the same width.
    pub ensemble_prominence: Option<f64>,
    /// single minus ensemble prominence, with its 95% interval (see the docs for what it includes).
    pub reduction: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// Largest |k = 1 curve - mean single-net error| over widths: a consistency check of the inputs.
    pub k1_mismatch: Option<f64>,
    pub kw: Vec<KwComparison>,
    pub verdict: Verdict,
    pub kw_verdict: Verdict,
}

/// `prefix{k}` keys of a metric map, with k.
fn keyed(metrics: &BTreeMap<String, Vec<MetricValue>>, family: KIndexed) -> Vec<(usize, &Vec<MetricValue>)> {
    let mut out: Vec<(usize, &Vec<MetricValue>)> =
        metrics.iter().filter_map(|(name, v)| family.k_of(name).map(|k| (k, v))).collect();
    out.sort_by_key(|(k, _)| *k);
    out
}

fn curve_of(values: &[MetricValue], undefined: &mut usize) -> SeedCurves {
    let mut c = SeedCurves::default();
    for v in values.iter().filter(|v| v.trained) {
        match v.value.filter(|x| x.is_finite()) {
            Some(x) => c.insert(v.width, v.seed, x),
            None => *undefined += 1,
        }
    }
    c
}

/// At `width`: its value minus the lowest value on each side, the smaller of the two, and the side
/// width that gives it.
fn prominence_at(curve: &BTreeMap<usize, f64>, width: usize) -> Option<(f64, usize)> {
    let at = *curve.get(&width)?;
    let lowest = |it: &mut dyn Iterator<Item = (&usize, &f64)>| it.min_by(|a, b| a.1.total_cmp(b.1)).map(|(w, v)| (*w, *v));
    let (lw, lv) = lowest(&mut curve.range(..width))?;
    let (rw, rv) = lowest(&mut curve.range(width + 1..))?;
    Some(if at - lv <= at - rv { (at - lv, lw) } else { (at - rv, rw) })
}

/// At `width`: its value minus the lowest value on its left (the rise into the peak) and on its right
/// (the second descent's excess), reported separately because averaging can remove one and not the other.
fn drops_at(curve: &BTreeMap<usize, f64>, width: usize) -> Option<(f64, f64)> {
    let at = *curve.get(&width)?;
    let left = curve.range(..width).map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    let right = curve.range(width + 1..).map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    (left.is_finite() && right.is_finite()).then_some((at - left, at - right))
}

/// A curve's own peak: the interior width that stands highest above the lowest value on each side (the
/// smaller of the two drops), that drop, and the side width that gives it (0 where no interior width stands above both sides). Averaging
/// may move the peak, so an ensemble curve is judged by its own peak, not by its value at the single-net
/// peak's width.
fn own_peak(curve: &BTreeMap<usize, f64>) -> Option<(f64, usize, usize)> {
    let widths: Vec<usize> = curve.keys().copied().collect();
    if widths.len() < 3 {
        return None;
    }
    widths[1..widths.len() - 1]
        .iter()
        .filter_map(|&w| prominence_at(curve, w).map(|(p, side)| (p.max(0.0), w, side)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// H5: the k-ensemble curves, the peak reduction of the largest k, and the kW comparison.
pub(crate) fn explicit_ensembles(
    metrics: &BTreeMap<String, Vec<MetricValue>>,
    test_err: &SeedCurves,
    peak: &PeakTest,
    opts: &Options,
) -> ExplicitEnsembles {
    let mut out = ExplicitEnsembles::default();
    let pred = prediction::ENSEMBLE_PEAK;
    let single: BTreeMap<usize, f64> = test_err.widths().into_iter().zip(test_err.means()).collect();
    let peak_width = peak.peak.as_ref().map(|p| p.width);
    out.peak_width = peak_width;
    let mut by_k: Vec<(usize, BTreeMap<usize, f64>)> = Vec::new();
    for (k, values) in keyed(metrics, ENSEMBLE_ERR_K) {
        let c = curve_of(values, &mut out.undefined);
        let means: BTreeMap<usize, f64> = c.widths().into_iter().zip(c.means()).collect();
        let prominence = own_peak(&means).map(|p| p.0);
        out.curves.push(EnsembleCurve { k, points: aggregate(&c), prominence });
        if !means.is_empty() {
            by_k.push((k, means));
        }
    }
    if let Some((_, k1)) = by_k.iter().find(|(k, _)| *k == 1) {
        let d = k1.iter().filter_map(|(w, v)| single.get(w).map(|s| (v - s).abs())).fold(f64::NAN, f64::max);
        out.k1_mismatch = d.is_finite().then_some(d);
    }
    out.k_max = by_k.last().map(|(k, _)| *k);
    let without =
        metrics.get(ddlab_config::metrics::ENSEMBLE_ERR_WITHOUT.as_str()).map(|values| curve_of(values, &mut out.undefined));
    out.verdict = ensemble_peak_verdict(&mut out, &by_k, without.as_ref(), test_err, &single, peak, pred, opts.alpha);
    // The hypothesis is about the nets past the threshold: the kW comparison uses the widths from the
    // detected peak on (all of them when no peak is detected, and the verdict says so).
    let from = peak.peak.as_ref().filter(|_| peak.detected).map(|p| p.width);
    out.kw = kw_comparisons(metrics, from.unwrap_or(0));
    out.kw_verdict = kw_verdict(&out.kw, from, opts);
    out
}

/// Seeds the H5 jackknife needs: with 3 its t quantile has 2 degrees of freedom (2.92 one-sided), and
/// the planted reduction of scenario (k) was found 65% of the time instead of 80%; below this the
/// ensemble's sampling error is assumed (and the reason says so).
pub const H5_JACKKNIFE_SEEDS: usize = 4;

#[allow(clippy::too_many_arguments)]
fn ensemble_peak_verdict(
    out: &mut ExplicitEnsembles,
    by_k: &[(usize, BTreeMap<usize, f64>)],
    without: Option<&SeedCurves>,
    test_err: &SeedCurves,
    single: &BTreeMap<usize, f64>,
    peak: &PeakTest,
    pred: &str,
    opts_alpha: f64,
) -> Verdict {
    let not = |reason: String| Verdict::new(pred, None, Outcome::NotTestable, reason, &[]);
    let Some((k_max, ens)) = by_k.last() else {
        return not(format!("no seed-ensemble rows ({}) in this condition", ENSEMBLE_ERR_K.pattern()));
    };
    if *k_max < 2 {
        return not("only k = 1 (a single net): no ensemble to compare".into());
    }
    let Some(pk) = peak.peak.as_ref().filter(|_| peak.detected) else {
        return not("no double descent detected: no single-net peak for averaging to lower".into());
    };
    let Some((p1, side)) = prominence_at(single, pk.width) else {
        return not("the single-net curve has no width on one side of the peak".into());
    };
    let Some((ps, ens_peak, ens_side)) = own_peak(ens) else {
        return not(format!("the k = {k_max} ensemble curve has fewer than 3 widths: no interior peak to measure"));
    };
    out.single_prominence = Some(p1);
    out.ensemble_prominence = Some(ps);
    let (a, b) = (&test_err.0[&pk.width], &test_err.0[&side]);
    let (a, b): (Vec<f64>, Vec<f64>) = (a.values().copied().collect(), b.values().copied().collect());
    let df = (a.len() + b.len()) as f64 - 2.0;
    let (ma, mb) = (mean(&a), mean(&b));
    let ss: f64 = a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() + b.iter().map(|x| (x - mb).powi(2)).sum::<f64>();
    // The reduction's standard error from whole seeds: the jackknife of D over the seeds left out in turn,
    // each D recomputed at the same four widths from the single nets without that seed and P5's
    // ensemble without it (`ensemble_err_without`), so the ensemble's own sampling error is measured.
    // Without those rows (fewer than 3 seeds, older sweeps): the single-net prominence's standard error
    // over seeds (pooled, as in the peak test), doubled in variance for the ensemble's, assumed no larger
    // than that of the mean of S single nets.
    let d = p1 - ps;
    let jack = without.and_then(|w| {
        let seeds: Vec<u64> = w.0.get(&ens_peak)?.keys().filter_map(|s| *s).collect();
        let reductions: Option<Vec<f64>> = seeds
            .iter()
            .map(|&s| {
                let single_without = |width: usize| {
                    let v: Vec<f64> = test_err.0.get(&width)?.iter().filter(|(k, _)| **k != Some(s)).map(|(_, v)| *v).collect();
                    (!v.is_empty()).then(|| mean(&v))
                };
                let ens_without = |width: usize| w.0.get(&width)?.get(&Some(s)).copied();
                let p1_s = single_without(pk.width)? - single_without(side)?;
                let ps_s = (ens_without(ens_peak)? - ens_without(ens_side)?).max(0.0);
                Some(p1_s - ps_s)
            })
            .collect();
        crate::curve::Jackknife::of(&reductions?).filter(|j| j.units >= H5_JACKKNIFE_SEEDS)
    });
    let se_single = (ss / df * (1.0 / a.len() as f64 + 1.0 / b.len() as f64)).sqrt();
    let (se_total, df) = match &jack {
        Some(j) => (j.se, j.df),
        None => (std::f64::consts::SQRT_2 * se_single, df),
    };
    out.reduction = Some(d);
    if !(df >= 1.0 && se_total.is_finite()) {
        return not(format!(
            "one seed at the peak width {} and its side {side}: no seed-to-seed variance to judge the reduction",
            pk.width
        ));
    }
    let half = t_quantile(0.975, df) * se_total;
    let (lo, hi) = (d - half, d + half);
    out.lo = Some(lo);
    out.hi = Some(hi);
    let (rise1, excess1) = drops_at(single, pk.width).unwrap_or((f64::NAN, f64::NAN));
    let (rise_s, excess_s) = drops_at(ens, ens_peak).unwrap_or((f64::NAN, f64::NAN));
    let mut numbers = vec![
        ("w_peak", pk.width as f64),
        ("k", *k_max as f64),
        ("single_prominence", p1),
        ("ensemble_prominence", ps),
        ("ensemble_peak_width", ens_peak as f64),
        ("reduction", d),
        ("lo", lo),
        ("hi", hi),
        ("reduction_share", if p1 > 0.0 { d / p1 } else { f64::NAN }),
        ("jackknife_seeds", jack.map_or(f64::NAN, |j| j.units as f64)),
        ("single_rise", rise1),
        ("single_excess", excess1),
        ("ensemble_rise", rise_s),
        ("ensemble_excess", excess_s),
    ];
    let text = format!(
        "at its peak (width {}) one net stands {p1:.3} above its best side (rise {rise1:.3} from the left, excess {excess1:.3} over the widest side); the {k_max}-seed ensemble's own peak (width {ens_peak}) stands {ps:.3} above its best side (rise {rise_s:.3}, excess {excess_s:.3}): lowered by {d:.3} [{lo:.3}, {hi:.3}] ({})",
        pk.width,
        match &jack {
            Some(j) => format!("jackknife over {} seeds, each left out of the single nets and the ensemble", j.units),
            None => format!(
                "the ensemble's own sampling error assumed, not measured: the jackknife needs {H5_JACKKNIFE_SEEDS} seeds with P5's leave-one-out rows"
            ),
        }
    );
    // Averaging is predicted to lower the peak: one-sided at level alpha, as every "supported"; the 95%
    // interval above is two-sided.
    let p_value = crate::stats::t_upper_tail(d / se_total, df);
    numbers.push(("p_value", p_value));
    if p_value < opts_alpha {
        return Verdict::new(
            pred,
            None,
            Outcome::Supported,
            format!("{text}: averaging lowers the peak (one-sided p = {})", crate::outcome::fmt_p(p_value)),
            &numbers,
        );
    }
    let sesoi = crate::sesoi::PEAK_ERROR;
    let j = crate::sesoi::not_supported(d, se_total, df, opts_alpha, sesoi, &mut numbers);
    let why = match j.outcome {
        Outcome::Contradicted => {
            format!("averaging removes at most {:.3}, less than the smallest reduction of interest ({sesoi})", j.upper)
        }
        _ => format!("not significantly lower, and a reduction of {sesoi} is not excluded (power {:.2})", j.power),
    };
    Verdict::new(pred, None, j.outcome, format!("{text}: {why}"), &numbers)
}

fn kw_comparisons(metrics: &BTreeMap<String, Vec<MetricValue>>, from_width: usize) -> Vec<KwComparison> {
    let past =
        |values: &Vec<MetricValue>| -> Vec<MetricValue> { values.iter().filter(|v| v.width >= from_width).cloned().collect() };
    let diffs: Vec<(usize, Vec<MetricValue>)> = keyed(metrics, KW_ERR_DIFF_K).into_iter().map(|(k, v)| (k, past(v))).collect();
    let disagreements: BTreeMap<usize, Vec<MetricValue>> =
        keyed(metrics, KW_DISAGREEMENT_K).into_iter().map(|(k, v)| (k, past(v))).collect();
    let mut ks: Vec<usize> = diffs.iter().map(|(k, _)| *k).chain(disagreements.keys().copied()).collect();
    ks.sort_unstable();
    ks.dedup();
    ks.into_iter()
        .map(|k| {
            let mut ignored = 0;
            let diff = diffs.iter().find(|(kk, _)| *kk == k).map(|(_, v)| curve_of(v, &mut ignored)).unwrap_or_default();
            let dis = disagreements.get(&k).map(|v| curve_of(v, &mut ignored)).unwrap_or_default();
            let model = kw_model(&diff);
            let mut c = KwComparison { k, err_diff: aggregate(&diff), disagreement: aggregate(&dis), ..Default::default() };
            if let Some(m) = model {
                c.units = m.units;
                c.first_width = Some(m.first_width);
                c.last_width = Some(m.last_width);
                c.mean_diff = m.mean.as_ref().map(|e| e.value);
                c.lo = m.mean.as_ref().map(|e| e.lo);
                c.hi = m.mean.as_ref().map(|e| e.hi);
                c.at_first = m.at_first;
                c.at_last = m.at_last;
                c.trend = m.slope.as_ref().map(|e| e.value);
                c.trend_lo = m.slope.as_ref().map(|e| e.lo);
                c.trend_hi = m.slope.as_ref().map(|e| e.hi);
            }
            c
        })
        .collect()
}

/// The kW difference modelled seed by seed (see [`KwComparison`]).
struct KwModel {
    units: usize,
    first_width: usize,
    last_width: usize,
    mean: Option<Estimate>,
    at_first: Option<Estimate>,
    at_last: Option<Estimate>,
    slope: Option<Estimate>,
}

/// Per seed: its mean difference, and, with 2 widths or more, its OLS line in log2 W evaluated at the
/// first and the widest W of the comparison (and its slope, with 3 widths or more). The seeds with a
/// value at every width are the units (a seed missing a width would bend the ends); `None` with fewer
/// than 2 such seeds.
fn kw_model(diff: &SeedCurves) -> Option<KwModel> {
    let widths = diff.widths();
    let (&first_width, &last_width) = (widths.first()?, widths.last()?);
    let seeds: Vec<crate::curve::SeedKey> =
        diff.0.get(&first_width)?.keys().copied().filter(|s| diff.0.values().all(|m| m.contains_key(s))).collect();
    let x: Vec<f64> = widths.iter().map(|w| (*w as f64).log2()).collect();
    let (mut means, mut firsts, mut lasts, mut slopes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for seed in &seeds {
        let y: Vec<f64> = widths.iter().map(|w| diff.0[w][seed]).collect();
        means.push(mean(&y));
        if widths.len() >= 2 {
            let (a, b) = crate::stats::ols(&x, &y);
            firsts.push(a + b * x[0]);
            lasts.push(a + b * x[x.len() - 1]);
            if widths.len() >= 3 {
                slopes.push(b);
            }
        } else {
            firsts.push(y[0]);
            lasts.push(y[0]);
        }
    }
    (seeds.len() >= 2).then(|| KwModel {
        units: seeds.len(),
        first_width,
        last_width,
        mean: Estimate::over(&means),
        at_first: Estimate::over(&firsts),
        at_last: Estimate::over(&lasts),
        slope: Estimate::over(&slopes),
    })
}

fn kw_verdict(kw: &[KwComparison], from: Option<usize>, opts: &Options) -> Verdict {
    let pred = prediction::ENSEMBLE_KW;
    let Some(c) = kw.iter().rev().find(|c| c.at_first.is_some() && c.at_last.is_some()) else {
        let reason = if kw.iter().all(|c| c.err_diff.is_empty()) {
            format!(
                "no kW comparison rows ({}) in this condition: the grid holds no width exactly k times another past the peak (a grid of powers of two holds k = 2 and 4), or fewer than k seeds finished",
                KW_ERR_DIFF_K.pattern()
            )
        } else {
            "too few kW comparison values for an interval (2 seeds with a value at every compared width needed)".into()
        };
        return Verdict::new(pred, None, Outcome::NotTestable, reason, &[]);
    };
    let (first, last) = (c.at_first.clone().unwrap(), c.at_last.clone().unwrap());
    let (w_first, w_last) = (c.first_width.unwrap_or(0), c.last_width.unwrap_or(0));
    let margin = KW_EQUIVALENCE_MARGIN;
    let m = c.mean_diff.unwrap_or(f64::NAN);
    let numbers = [
        ("k", c.k as f64),
        ("mean_diff", m),
        ("lo", c.lo.unwrap_or(f64::NAN)),
        ("hi", c.hi.unwrap_or(f64::NAN)),
        ("at_first", first.value),
        ("at_first_lo", first.lo),
        ("at_first_hi", first.hi),
        ("at_last", last.value),
        ("at_last_lo", last.lo),
        ("at_last_hi", last.hi),
        ("first_width", w_first as f64),
        ("last_width", w_last as f64),
        ("margin", margin),
        ("units", c.units as f64),
        ("trend_per_octave", c.trend.unwrap_or(f64::NAN)),
    ];
    let trend = match (c.trend, c.trend_lo, c.trend_hi) {
        (Some(t), Some(tl), Some(th)) => format!(", changing by {t:.4} [{tl:.4}, {th:.4}] per octave of W"),
        _ => String::new(),
    };
    let ends = if w_first == w_last {
        format!("at W = {w_first}: {:.4} [{:.4}, {:.4}]", first.value, first.lo, first.hi)
    } else {
        format!(
            "fitted against log2 W seed by seed: {:.4} [{:.4}, {:.4}] at W = {w_first}, {:.4} [{:.4}, {:.4}] at W = {w_last}{trend}",
            first.value, first.lo, first.hi, last.value, last.lo, last.hi
        )
    };
    let text = format!(
        "error of one net of width {k}W minus {k} nets of width W, {ends} ({} seeds as units; {})",
        c.units,
        from.map_or("every width: no peak detected".to_string(), |w| format!("W from the peak at {w} on")),
        k = c.k
    );
    let ends = [(w_first, &first), (w_last, &last)];
    // The line is equivalent to 0 everywhere between its ends when both ends are (an intersection-union
    // test: two one-sided tests at alpha at each end, no adjustment).
    if ends.iter().all(|(_, e)| e.lo90 > -margin && e.hi90 < margin) {
        return Verdict::new(
            pred,
            None,
            Outcome::Supported,
            format!(
                "{text}: equivalent within +-{margin} over the whole range (two one-sided tests at {} at each end)",
                opts.alpha
            ),
            &numbers,
        );
    }
    if let Some((w, e)) = ends.iter().find(|(_, e)| e.lo > margin || e.hi < -margin) {
        let which = if e.lo > 0.0 { "the wide net errs more" } else { "the wide net errs less" };
        return Verdict::new(
            pred,
            None,
            Outcome::Contradicted,
            format!("{text}: at W = {w} {which}, by more than +-{margin}"),
            &numbers,
        );
    }
    let se = first.se.max(last.se);
    let power = crate::sesoi::equivalence_power(margin, se, c.units as f64 - 1.0, opts.alpha);
    let mut numbers = numbers.to_vec();
    numbers.push(("power", power));
    Verdict::new(
        pred,
        None,
        Outcome::Inconclusive,
        format!(
            "{text}: neither equivalence within +-{margin} at both ends nor a difference beyond it at either is shown (power of equivalence at no difference {power:.2})"
        ),
        &numbers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_with_data_draws_is_one_h3_unit_weighting_its_draws_alike() {
        let curves = |values: &[(usize, u64, f64)]| {
            let mut c = SeedCurves::default();
            for &(w, s, v) in values {
                c.insert(w, Some(s), v);
            }
            c
        };
        // Setting "a" over two draws (two seeds in draw 0, one in draw 1); "b" without draws.
        let (e0, e1, eb) = (
            curves(&[(4, 0, 0.2), (4, 1, 0.4), (8, 0, 0.1), (8, 1, 0.1)]),
            curves(&[(4, 0, 0.6), (8, 0, 0.3)]),
            curves(&[(4, 0, 0.5), (4, 1, 0.7)]),
        );
        let g = |c: &SeedCurves| BTreeMap::from([("m".to_string(), c.clone())]);
        let (g0, g1, gb) = (g(&e0), g(&e1), g(&eb));
        let inputs: Vec<H3Input> = vec![("a-d0", &e0, &g0, Some(8)), ("b", &eb, &gb, Some(4)), ("a-d1", &e1, &g1, Some(16))];
        let units = setting_means(&inputs, &[0, 1, 0], &["a".to_string(), "b".to_string()]);
        assert_eq!(units.iter().map(|u| u.setting.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // Width 4: draw means 0.3 and 0.6, so 0.45 (the three runs pooled would give 0.4).
        assert!((units[0].test_err.means()[0] - 0.45).abs() < 1e-12 && (units[0].test_err.means()[1] - 0.2).abs() < 1e-12);
        assert_eq!(units[0].test_err.max_seeds(), 2);
        assert!((units[0].growths["m"].means()[0] - 0.45).abs() < 1e-12);
        // The median of thresholds 8 and 16 (the lower one of an even count), and "b" as it was.
        assert_eq!((units[0].w_interp, units[1].w_interp), (Some(8), Some(4)));
        assert_eq!(units[1].test_err, eb);
    }
}
