//! The report's interactive figures: curves against width as small multiples sharing one width axis,
//! described here as JSON and drawn in the browser by `assets/chart.js` (SVG, inline, no network).
//!
//! Why a hand-written script (about 20 KB) rather than a charting library: the smallest well-kept
//! candidate, uPlot 1.6.32 (MIT, 51 KB minified), draws on a canvas, so its points are not in the DOM
//! where the report's browser tests find and hover them; its intervals need a bands plugin and the
//! replicates' values a tooltip plugin of our own anyway. What the figures need is small: lines,
//! interval bands, points, marker lines, a tooltip and toggles.

use ddlab_analysis::{Analysis, ConditionAnalysis, CurvePoint};
use serde::Serialize;

use crate::markdown::num;

/// The script that draws every `.chart` element of the page.
pub const SCRIPT: &str = include_str!("../assets/chart.js");

/// One chart: conditions (colours, markers) and its panels.
#[derive(Serialize)]
pub struct ChartSpec {
    pub conditions: Vec<ChartCondition>,
    pub panels: Vec<Panel>,
    pub panel_height: u32,
    pub x_label: String,
    /// What the band around each mean is, for the tooltip.
    pub interval: String,
}

#[derive(Serialize)]
pub struct ChartCondition {
    pub label: String,
    pub peak: Option<usize>,
    /// Whether the peak test found the peak (else it is drawn as a candidate).
    pub peak_detected: bool,
    pub interp: Option<usize>,
}

/// One panel: a y axis of its own, the shared width axis.
#[derive(Serialize)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub unit: String,
    /// Drawn when the page opens (the others are one click away in the chart's toggles).
    pub shown: bool,
    pub series: Vec<Series>,
}

#[derive(Serialize)]
pub struct Series {
    pub id: String,
    pub name: String,
    pub condition: usize,
    /// Dashed, without a band: the secondary curve of a panel (train error, values at initialisation).
    pub dashed: bool,
    pub points: Vec<Point>,
}

/// A curve point as the page reads it: width, mean, interval (null where undefined), replicates.
#[derive(Serialize)]
pub struct Point {
    pub w: usize,
    pub m: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub n: usize,
    /// Mean, lo and hi as the tables print them (`num`), so the tooltip shows the same digits.
    pub t: [String; 3],
    /// (seed, value, value as printed); the seed is null for one value per width (an ensemble's), and
    /// a string, as JSON numbers lose precision past 2^53.
    pub v: Vec<(Option<String>, Option<f64>, String)>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn points(curve: &[CurvePoint]) -> Vec<Point> {
    curve
        .iter()
        .map(|p| Point {
            w: p.width,
            m: finite(p.mean),
            lo: finite(p.lo),
            hi: finite(p.hi),
            n: p.n,
            t: [num(p.mean), num(p.lo), num(p.hi)],
            v: p.values.iter().map(|r| (r.seed.map(|s| s.to_string()), finite(r.value), num(r.value))).collect(),
        })
        .collect()
}

fn conditions(analysis: &Analysis) -> Vec<ChartCondition> {
    analysis
        .conditions
        .iter()
        .map(|c| ChartCondition {
            label: c.condition.clone(),
            peak: c.peak.peak.as_ref().map(|p| p.width),
            peak_detected: c.peak.detected,
            interp: c.w_interp,
        })
        .collect()
}

fn series(id: &str, name: &str, condition: usize, dashed: bool, curve: &[CurvePoint]) -> Option<Series> {
    (!curve.is_empty()).then(|| Series { id: id.into(), name: name.into(), condition, dashed, points: points(curve) })
}

/// Every metric of the analysis, in the order the conditions list them.
pub fn metric_names(analysis: &Analysis) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for m in analysis.conditions.iter().flat_map(|c| &c.metrics) {
        if !names.contains(&m.metric) {
            names.push(m.metric.clone());
        }
    }
    names
}

/// The metrics the key figure shows when the page opens: those a verdict found supported (H1 or the
/// past-peak relation), then the seed variance (H4's metric, the rival account's measure) and the
/// effective number of competent sub-networks (the hypothesis' own count), at most two.
pub fn decisive_metrics(analysis: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let supported = analysis.conditions.iter().flat_map(|c| &c.metrics).filter(|m| {
        m.h1.outcome == ddlab_analysis::Outcome::Supported || m.past_peak_verdict.outcome == ddlab_analysis::Outcome::Supported
    });
    // A metric with no defined value anywhere would be an empty panel.
    let names: Vec<String> = metric_names(analysis)
        .into_iter()
        .filter(|name| {
            analysis
                .conditions
                .iter()
                .flat_map(|c| &c.metrics)
                .any(|m| &m.metric == name && m.trained.iter().any(|p| p.mean.is_finite()))
        })
        .collect();
    let preferred = ["seed_ensemble/variance_kl", "competence/n_eff", "diversity/effective_rank"];
    for name in supported.map(|m| m.metric.as_str()).chain(preferred.iter().copied()) {
        if out.len() < 2 && !out.iter().any(|o| o == name) && names.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

fn error_words(c: &ConditionAnalysis) -> (&'static str, &'static str, &'static str) {
    if c.regression {
        ("test risk", "train risk", "mean squared error")
    } else {
        ("test error", "train error", "fraction misclassified")
    }
}

/// The key figure: test and train error, test loss and every metric (trained solid, at initialisation
/// dashed), the decisive metrics shown, the others one toggle away.
pub fn key_figure(analysis: &Analysis) -> ChartSpec {
    let decisive = decisive_metrics(analysis);
    let mut panels = Vec::new();
    let regression = analysis.conditions.iter().any(|c| c.regression);
    let mut error = Panel {
        id: "error".into(),
        title: if regression { "test and train risk".into() } else { "test and train error".into() },
        unit: if regression { "mean squared error".into() } else { "fraction misclassified".into() },
        shown: true,
        series: Vec::new(),
    };
    let mut loss =
        Panel { id: "test_loss".into(), title: "test loss".into(), unit: String::new(), shown: true, series: Vec::new() };
    for (ci, c) in analysis.conditions.iter().enumerate() {
        let (test, train, _) = error_words(c);
        error.series.extend(series("test_err", test, ci, false, &c.curves.test_err));
        error.series.extend(series("train_err", train, ci, true, &c.curves.train_err));
        loss.series.extend(series("test_loss", "test loss", ci, false, &c.curves.test_loss));
    }
    panels.push(error);
    if !regression && loss.series.iter().any(|s| !s.points.is_empty()) {
        panels.push(loss);
    }
    for name in metric_names(analysis) {
        let mut panel = Panel {
            id: name.clone(),
            title: name.clone(),
            unit: String::new(),
            shown: decisive.contains(&name),
            series: Vec::new(),
        };
        for (ci, c) in analysis.conditions.iter().enumerate() {
            if let Some(m) = c.metrics.iter().find(|m| m.metric == name) {
                panel.series.extend(series(&name, &format!("{name}, trained"), ci, false, &m.trained));
                panel.series.extend(series(&format!("{name}/init"), &format!("{name}, at initialisation"), ci, true, &m.init));
            }
        }
        panels.push(panel);
    }
    ChartSpec {
        conditions: conditions(analysis),
        panels,
        panel_height: 165,
        x_label: "width (hidden units)".into(),
        interval: "95% t interval over seeds".into(),
    }
}

/// H1's figure: each metric's growth over its value at initialisation (what the onset test reads).
pub fn growth_figure(analysis: &Analysis) -> Option<ChartSpec> {
    let mut panels = Vec::new();
    for name in metric_names(analysis) {
        let mut panel = Panel {
            id: format!("growth-{name}"),
            title: format!("{name}: trained minus initial"),
            unit: String::new(),
            shown: true,
            series: Vec::new(),
        };
        for (ci, c) in analysis.conditions.iter().enumerate() {
            if let Some(m) = c.metrics.iter().find(|m| m.metric == name) {
                panel.series.extend(series(&format!("growth-{name}"), &format!("{name}, growth"), ci, false, &m.growth));
            }
        }
        if !panel.series.is_empty() {
            panels.push(panel);
        }
    }
    (!panels.is_empty()).then(|| ChartSpec {
        conditions: conditions(analysis),
        panels,
        panel_height: 150,
        x_label: "width (hidden units)".into(),
        interval: "95% t interval over seeds (paired with the seed's initial network)".into(),
    })
}

/// H5's figure: the k-seed ensemble's test error against width, one panel per k.
pub fn ensemble_figure(analysis: &Analysis) -> Option<ChartSpec> {
    let mut ks: Vec<usize> = analysis.conditions.iter().flat_map(|c| c.ensembles.curves.iter().map(|k| k.k)).collect();
    ks.sort_unstable();
    ks.dedup();
    let panels: Vec<Panel> = ks
        .iter()
        .map(|&k| {
            let mut panel = Panel {
                id: format!("ensemble-{k}"),
                title: if k == 1 {
                    "one net's test error (mean over seeds)".into()
                } else {
                    format!("test error of the {k}-seed ensemble")
                },
                unit: "fraction misclassified".into(),
                shown: true,
                series: Vec::new(),
            };
            for (ci, c) in analysis.conditions.iter().enumerate() {
                if let Some(curve) = c.ensembles.curves.iter().find(|e| e.k == k) {
                    panel.series.extend(series(
                        &format!("ensemble-{k}"),
                        &format!("{k}-seed ensemble"),
                        ci,
                        false,
                        &curve.points,
                    ));
                }
            }
            panel
        })
        .filter(|p| !p.series.is_empty())
        .collect();
    (!panels.is_empty()).then(|| ChartSpec {
        conditions: conditions(analysis),
        panels,
        panel_height: 150,
        x_label: "width (hidden units)".into(),
        interval: "95% t interval over seeds".into(),
    })
}

/// A forest plot: one row per setting with its estimate and 95% interval, against reference values.
#[derive(Serialize)]
pub struct ForestSpec {
    /// Always "forest": the page script draws it as one.
    pub kind: &'static str,
    pub title: String,
    pub unit: String,
    /// (value, what it means): vertical reference lines.
    pub refs: Vec<(f64, String)>,
    pub rows: Vec<ForestRow>,
}

#[derive(Serialize)]
pub struct ForestRow {
    pub label: String,
    pub est: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub outcome: String,
}

/// The effects with an interval per condition, side by side where there are several conditions: H4's
/// exponent, H5's reduction of the peak and its kW difference. Empty with fewer than two conditions
/// holding the effect.
pub fn forest_plots(analysis: &Analysis) -> Vec<(String, ForestSpec)> {
    let effects = [
        (
            "H4",
            "alpha",
            "H4: seed variance ~ W^-alpha past the peak",
            "",
            vec![(1.0, "1: averaging independent members".into()), (0.5, "1/2: Geiger et al. 2020".into())],
        ),
        ("H5 averaging seeds", "reduction", "H5: the k-seed ensemble lowers the peak by", "test error", vec![(0.0, "0".into())]),
        (
            "H5 one net of width kW",
            "mean_diff",
            "H5: one net of width kW minus k nets of width W",
            "test error",
            vec![(0.0, "0".into())],
        ),
    ];
    let mut out = Vec::new();
    for (prefix, key, title, unit, refs) in effects {
        let rows: Vec<ForestRow> = analysis
            .conditions
            .iter()
            .filter_map(|c| {
                let v = c.verdicts.iter().find(|v| v.prediction.starts_with(prefix))?;
                let est = v.numbers.get(key).copied().and_then(finite)?;
                Some(ForestRow {
                    label: c.condition.clone(),
                    est: Some(est),
                    lo: v.numbers.get("lo").copied().and_then(finite),
                    hi: v.numbers.get("hi").copied().and_then(finite),
                    outcome: v.outcome.label().into(),
                })
            })
            .collect();
        if rows.len() >= 2 {
            out.push((
                format!("forest-{key}"),
                ForestSpec { kind: "forest", title: title.into(), unit: unit.into(), refs, rows },
            ));
        }
    }
    out
}

/// The chart's element: its spec as JSON in a script element the page script reads.
pub fn chart_html(id: &str, spec: &impl Serialize) -> String {
    // `</` cannot end the script element early: every `<` in the JSON is escaped.
    let json = serde_json::to_string(spec).expect("a chart spec serialises").replace('<', "\\u003c");
    format!("<div class=\"chart\" id=\"{id}\"><script type=\"application/json\">{json}</script></div>\n")
}

#[cfg(test)]
mod tests {
    use crate::markdown::num;

    /// The page's script mirrors `num`; these are the cases its branches take.
    #[test]
    fn three_significant_digits() {
        assert_eq!(num(0.32964), "0.330");
        assert_eq!(num(15.0), "15.0");
        assert_eq!(num(1024.0), "1024");
        assert_eq!(num(-0.0012345), "-0.00123");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.5e-5), "1.50e-5");
        assert_eq!(num(123456.0), "1.23e5");
        assert_eq!(num(f64::NAN), "-");
    }
}
