//! From the sweep folder's tables to the verdict (analysis.json, analysis.md), the figures and
//! report.html.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ddlab_analysis::{
    Analysis, ConditionInput, EpochFigures, LossSpace, MetricValue, Options, RunFigures, SnapshotValue, analyze as analyze_sweep,
};
use ddlab_config::Loss;
use ddlab_probe::{Phase, ProbeRow};
use ddlab_report::{ReportFigure, ReportInputs, draw_figures, report_html, verdict_markdown};
use ddlab_store::{RunOutcome, RunPhase, SweepDir, read_csv, write_atomic};
use ddlab_train::MetricsRow;

use crate::SweepError;
use serde::{Deserialize, Serialize};

/// What [`analyze`] did: the analysis, where its Markdown is, and what it had to do without.
#[derive(Clone, Debug)]
pub struct Analyzed {
    pub analysis: Analysis,
    pub markdown: PathBuf,
    /// Set when probes.csv is missing (error curves only).
    pub note: Option<String>,
}

/// Reads the finished runs and the probes, analyses them, writes analysis.json and analysis.md.
pub fn analyze(folder: &Path) -> crate::Result<Analyzed> {
    analyze_sweep_dir(&SweepDir::open(folder)?)
}

fn analyze_sweep_dir(sweep: &SweepDir) -> crate::Result<Analyzed> {
    let folder = sweep.root.as_path();
    let runs = sweep.finished_runs()?;
    if runs.is_empty() {
        return Err(SweepError::file(folder, "no finished runs to analyse (run `ddlab sweep` first)"));
    }
    let probes_path = sweep.probes_csv();
    let mut note = None;
    let probes: Vec<ProbeRow> = if probes_path.exists() {
        read_csv(&probes_path)?
    } else {
        note = Some(format!("{} is missing; analysing error curves only (run `ddlab probe`)", probes_path.display()));
        Vec::new()
    };
    let epochs = epoch_figures(sweep)?;
    let inputs: Vec<ConditionInput> = sweep
        .spec
        .conditions
        .iter()
        .map(|condition| {
            let label = condition.label();
            let mut metrics: BTreeMap<String, Vec<MetricValue>> = BTreeMap::new();
            // Every per-seed probe value with its epoch: the epoch-wise view (init is epoch 0).
            let mut snapshots: BTreeMap<String, Vec<SnapshotValue>> = BTreeMap::new();
            for p in probes.iter().filter(|p| p.condition == label) {
                if let Some(seed) = p.seed {
                    snapshots.entry(format!("{}/{}", p.probe, p.metric)).or_default().push(SnapshotValue {
                        width: p.width,
                        seed,
                        epoch: p.epoch,
                        value: p.value,
                    });
                }
            }
            for p in probes.iter().filter(|p| p.condition == label && p.phase != Phase::Snapshot) {
                metrics.entry(format!("{}/{}", p.probe, p.metric)).or_default().push(MetricValue {
                    width: p.width,
                    seed: p.seed,
                    trained: p.phase == Phase::Trained,
                    value: p.value,
                });
            }
            ConditionInput {
                condition: label.clone(),
                n_train: condition.n_train,
                label_noise: condition.label_noise,
                loss: match sweep.spec.train.loss {
                    Loss::Ce => LossSpace::CrossEntropy,
                    Loss::Mse => LossSpace::Squared,
                },
                // Diverged runs go in flagged: the analysis leaves them out of every statistic and counts them.
                runs: runs
                    .iter()
                    .filter(|r| r.condition == label)
                    .map(|r| RunFigures {
                        width: r.width,
                        seed: r.seed,
                        train_err: r.train_err.unwrap_or(f64::NAN),
                        train_loss: r.train_loss.unwrap_or(f64::NAN),
                        test_err: r.test_err.unwrap_or(f64::NAN),
                        test_loss: r.test_loss.unwrap_or(f64::NAN),
                        diverged: match r.status {
                            RunOutcome::Done => None,
                            RunOutcome::Diverged => Some(r.reason.clone().unwrap_or_else(|| "diverged".into())),
                        },
                    })
                    .collect(),
                metrics,
                epochs: epochs.get(&label).cloned().unwrap_or_default(),
                snapshots,
                theory: known_answer(&sweep.spec, condition),
                regression: sweep.spec.data.dataset.is_regression(),
                params: runs.iter().filter(|r| r.condition == label).map(|r| (r.width, r.params)).collect(),
                setting: condition.setting(),
                draw: condition.data_seed,
            }
        })
        .collect();
    let mut analysis = analyze_sweep(&inputs, &Options::default());
    analysis.probes_not_applicable = sweep.spec.probes_not_applicable();
    let json = serde_json::to_vec_pretty(&analysis)?;
    write_atomic(&sweep.analysis_json(), &json)?;
    write_atomic(&sweep.analysis_md(), verdict_markdown(&analysis, &sweep_name(sweep)).as_bytes())?;
    Ok(Analyzed { analysis, markdown: sweep.analysis_md(), note })
}

/// The closed-form expected risk at every width, where the sweep's model has one: the linear model on
/// gaussian_linear (docs/SCIENCE.md, Known answers). Empty otherwise. With a ridge penalty the
/// minimum-norm formula does not apply, so there is no known answer either.
fn known_answer(spec: &ddlab_config::Spec, condition: &ddlab_config::Condition) -> BTreeMap<usize, Option<f64>> {
    match (&spec.data.dataset, spec.model.kind) {
        (ddlab_config::DatasetSource::GaussianLinear { dim, signal, noise_variance, .. }, ddlab_config::ModelKind::Linear)
            if spec.model.ridge == 0.0 =>
        {
            spec.model
                .widths
                .iter()
                .map(|&p| (p, ddlab_analysis::linear_expected_risk(*dim, *signal, *noise_variance, condition.n_train, p)))
                .collect()
        }
        _ => BTreeMap::new(),
    }
}

/// Every evaluation of every finished run (its metrics.csv), by condition.
fn epoch_figures(sweep: &SweepDir) -> crate::Result<BTreeMap<String, Vec<EpochFigures>>> {
    let mut out: BTreeMap<String, Vec<EpochFigures>> = BTreeMap::new();
    for key in sweep.spec.runs() {
        if !matches!(sweep.phase(&key)?, RunPhase::Finished(_)) {
            continue;
        }
        let rows: Vec<MetricsRow> = read_csv(&sweep.metrics_path(&key))?;
        out.entry(key.condition.label()).or_default().extend(rows.into_iter().map(|r| EpochFigures {
            width: key.width,
            seed: key.seed,
            epoch: r.epoch,
            train_err: r.train_err,
            test_err: r.test_err,
            test_loss: r.test_loss,
        }));
    }
    Ok(out)
}

fn sweep_name(sweep: &SweepDir) -> String {
    sweep.root.file_name().map_or_else(|| sweep.spec.name.clone(), |n| n.to_string_lossy().to_string())
}

fn load_analysis(sweep: &SweepDir) -> crate::Result<Analysis> {
    let path = sweep.analysis_json();
    let text = std::fs::read_to_string(&path).map_err(|e| SweepError::file(&path, format!("run `ddlab analyze` first ({e})")))?;
    serde_json::from_str(&text).map_err(|e| SweepError::file(&path, format!("unreadable ({e})")))
}

/// The figures' order and titles, written beside them for the report.
#[derive(Serialize, Deserialize)]
struct FigureIndex {
    figures: Vec<(String, String)>,
}

/// Draws the figures of analysis.json into figures/ (SVG and PNG) with an index for the report; returns
/// the folder and how many figures it holds.
pub fn plot(folder: &Path) -> crate::Result<(PathBuf, usize)> {
    let sweep = SweepDir::open(folder)?;
    let figures = plot_analysis(&sweep, &load_analysis(&sweep)?)?;
    Ok((sweep.figures_dir(), figures.len()))
}

/// Draws and writes the figures of `analysis`, and returns them for the report.
fn plot_analysis(sweep: &SweepDir, analysis: &Analysis) -> crate::Result<Vec<ReportFigure>> {
    let dir = sweep.figures_dir();
    let figures = draw_figures(analysis).map_err(|e| SweepError::file(&dir, format!("drawing figures: {e}")))?;
    for figure in &figures {
        write_atomic(&sweep.figure_path(&figure.name, "svg"), figure.svg.as_bytes())?;
        write_atomic(&sweep.figure_path(&figure.name, "png"), &figure.png)?;
    }
    let index = FigureIndex { figures: figures.iter().map(|f| (f.name.clone(), f.title.clone())).collect() };
    write_atomic(&sweep.figure_index(), &serde_json::to_vec_pretty(&index)?)?;
    Ok(figures.into_iter().map(|f| ReportFigure { name: f.name, title: f.title, svg: f.svg }).collect())
}

/// Writes report.html from spec.toml, analysis.json, the figures and runs.csv; returns its path.
pub fn report(folder: &Path) -> crate::Result<PathBuf> {
    let sweep = SweepDir::open(folder)?;
    let analysis = load_analysis(&sweep)?;
    let figures = stored_figures(&sweep)?;
    report_analysis(&sweep, &analysis, figures)
}

/// What the analysis stage onwards produced: the analysis, the figures and the report.
#[derive(Clone, Debug)]
pub struct Reported {
    pub analyzed: Analyzed,
    pub figures_dir: PathBuf,
    pub figures: usize,
    pub report: PathBuf,
}

/// The analysis, the figures and the report of a sweep in one pass: each stage hands the next what it
/// made in memory (`ddlab analyze`, `plot` and `report` alone read it back from the folder).
pub fn analyze_plot_report(folder: &Path) -> crate::Result<Reported> {
    let sweep = SweepDir::open(folder)?;
    let analyzed = analyze_sweep_dir(&sweep)?;
    let figures = plot_analysis(&sweep, &analyzed.analysis)?;
    let count = figures.len();
    let report = report_analysis(&sweep, &analyzed.analysis, figures)?;
    Ok(Reported { analyzed, figures_dir: sweep.figures_dir(), figures: count, report })
}

/// The figures listed in figures/index.json, read back.
fn stored_figures(sweep: &SweepDir) -> crate::Result<Vec<ReportFigure>> {
    let index_path = sweep.figure_index();
    let index: FigureIndex = serde_json::from_str(
        &std::fs::read_to_string(&index_path)
            .map_err(|e| SweepError::file(&index_path, format!("run `ddlab plot` first ({e})")))?,
    )
    .map_err(|e| SweepError::file(&index_path, format!("unreadable ({e})")))?;
    let figures = index
        .figures
        .into_iter()
        .map(|(name, title)| {
            let path = sweep.figure_path(&name, "svg");
            std::fs::read_to_string(&path)
                .map_err(|e| SweepError::file(&path, format!("missing figure ({e})")))
                .map(|svg| ReportFigure { name, title, svg })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(figures)
}

/// Writes report.html from spec.toml, `analysis`, `figures` and runs.csv; returns its path.
fn report_analysis(sweep: &SweepDir, analysis: &Analysis, figures: Vec<ReportFigure>) -> crate::Result<PathBuf> {
    let runs_path = sweep.runs_csv();
    let unreadable = |e: csv::Error| SweepError::file(&runs_path, format!("cannot read ({e})"));
    let mut reader = csv::Reader::from_path(&runs_path).map_err(unreadable)?;
    let runs_header = reader.headers().map_err(unreadable)?.iter().map(str::to_string).collect();
    let runs_rows = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()
        .map_err(unreadable)?;
    let spec_toml = std::fs::read_to_string(sweep.spec_toml()).map_err(|e| SweepError::file(sweep.spec_toml(), e))?;
    let html = report_html(&ReportInputs {
        sweep_name: &sweep_name(sweep),
        spec_toml: &spec_toml,
        analysis,
        figures,
        runs_header,
        runs_rows,
    });
    let path = sweep.report_html();
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}
