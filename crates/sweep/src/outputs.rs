//! From the sweep folder's tables to the verdict (analysis.json, analysis.md), the figures and
//! report.html.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ddlab_analysis::{
    Analysis, ConditionInput, EpochFigures, LossSpace, MetricValue, Options, RunFigures, SnapshotValue, analyze as analyze_sweep,
    known_answer,
};
use ddlab_config::Loss;
use ddlab_report::{ReportFigure, ReportInputs, draw_figures, report_html, verdict_markdown};
use ddlab_store::{FigureFiles, Phase, Phases, ProbeRow, RunOutcome, RunSummary, SweepDir, runs_table};

use crate::SweepError;

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
    let sweep = SweepDir::open(folder)?;
    analyze_phases(&sweep, &sweep.phases()?)
}

/// The analysis of the runs finished in `phases`.
fn analyze_phases(sweep: &SweepDir, phases: &Phases) -> crate::Result<Analyzed> {
    let spec = &sweep.spec;
    if phases.finished().next().is_none() {
        return Err(SweepError::file(&sweep.root, "no finished runs to analyse (run `ddlab sweep` first)"));
    }
    let probes_path = sweep.probes_csv();
    let mut note = None;
    let probes: Vec<ProbeRow> = if probes_path.exists() {
        sweep.read_probes(&probes_path)?
    } else {
        note = Some(format!("{} is missing; analysing error curves only (run `ddlab probe`)", probes_path.display()));
        Vec::new()
    };
    // Each condition's inputs, by its index: runs and evaluations by their key, probe rows by the
    // condition they name.
    let mut inputs: Vec<ConditionInput> = spec
        .conditions
        .iter()
        .map(|condition| ConditionInput {
            condition: condition.label(),
            n_train: condition.n_train,
            label_noise: condition.label_noise,
            loss: match spec.train.loss {
                Loss::Ce => LossSpace::CrossEntropy,
                Loss::Mse => LossSpace::Squared,
            },
            theory: known_answer(spec, condition.n_train),
            regression: spec.data.dataset.is_regression(),
            setting: condition.setting(),
            draw: condition.data_seed,
            base_setting: condition.base_setting(),
            intervention: condition.intervention().name(),
            ..Default::default()
        })
        .collect();
    for (key, record) in phases.finished() {
        let input = &mut inputs[key.index];
        let run = &record.summary;
        // Diverged runs go in flagged: the analysis leaves them out of every statistic and counts them.
        input.runs.push(run_figures(run));
        input.params.insert(run.width, run.params);
        input.epochs.extend(sweep.read_metrics(key)?.into_iter().map(|r| EpochFigures {
            width: key.width,
            seed: key.seed,
            epoch: r.epoch,
            train_err: r.train_err,
            test_err: r.test_err,
            test_loss: r.test_loss,
        }));
    }
    let index_of: BTreeMap<String, usize> = spec.conditions.iter().enumerate().map(|(i, c)| (c.label(), i)).collect();
    for p in &probes {
        let Some(&index) = index_of.get(&p.condition) else { continue };
        let input = &mut inputs[index];
        let name = format!("{}/{}", p.probe, p.metric);
        // Every per-seed probe value with its epoch: the epoch-wise view (init is epoch 0).
        if let Some(seed) = p.seed {
            input.snapshots.entry(name.clone()).or_default().push(SnapshotValue {
                width: p.width,
                seed,
                epoch: p.epoch,
                value: p.value,
            });
        }
        if p.phase != Phase::Snapshot {
            input.metrics.entry(name).or_default().push(MetricValue {
                width: p.width,
                seed: p.seed,
                trained: p.phase == Phase::Trained,
                value: p.value,
            });
        }
    }
    let mut analysis = analyze_sweep(&inputs, &Options::default());
    analysis.probes_not_applicable = spec.probes_not_applicable();
    sweep.write_analysis(&analysis, &verdict_markdown(&analysis, &sweep_name(sweep)))?;
    Ok(Analyzed { analysis, markdown: sweep.analysis_md(), note })
}

/// A run's final figures for the analysis, as runs.csv holds them.
fn run_figures(run: &RunSummary) -> RunFigures {
    RunFigures {
        width: run.width,
        seed: run.seed,
        train_err: run.train_err,
        train_loss: run.train_loss,
        test_err: run.test_err,
        test_loss: run.test_loss,
        diverged: match run.status {
            RunOutcome::Done => None,
            RunOutcome::Diverged => Some(run.reason.clone().unwrap_or_else(|| "diverged".into())),
        },
    }
}

fn sweep_name(sweep: &SweepDir) -> String {
    sweep.root.file_name().map_or_else(|| sweep.spec.name.clone(), |n| n.to_string_lossy().to_string())
}

/// Draws the figures of analysis.json into figures/ (SVG and PNG) with an index for the report; returns
/// the folder and how many figures it holds.
pub fn plot(folder: &Path) -> crate::Result<(PathBuf, usize)> {
    let sweep = SweepDir::open(folder)?;
    let figures = plot_analysis(&sweep, &sweep.read_analysis()?)?;
    Ok((sweep.figures_dir(), figures.len()))
}

/// Draws and writes the figures of `analysis`, and returns them for the report.
fn plot_analysis(sweep: &SweepDir, analysis: &Analysis) -> crate::Result<Vec<ReportFigure>> {
    let figures = draw_figures(analysis).map_err(|e| SweepError::file(sweep.figures_dir(), format!("drawing figures: {e}")))?;
    let files: Vec<FigureFiles> =
        figures.iter().map(|f| FigureFiles { name: &f.name, title: &f.title, svg: &f.svg, png: &f.png }).collect();
    sweep.write_figures(&files)?;
    Ok(figures.into_iter().map(|f| ReportFigure { name: f.name, title: f.title, svg: f.svg }).collect())
}

/// Writes report.html from spec.toml, analysis.json, the figures and runs.csv; returns its path.
pub fn report(folder: &Path) -> crate::Result<PathBuf> {
    let sweep = SweepDir::open(folder)?;
    let analysis = sweep.read_analysis()?;
    let figures = sweep.read_figures()?.into_iter().map(|(name, title, svg)| ReportFigure { name, title, svg }).collect();
    report_analysis(&sweep, &analysis, figures, &sweep.read_runs_csv()?)
}

/// What the analysis stage onwards produced: the analysis, the figures and the report.
#[derive(Clone, Debug)]
pub struct Reported {
    pub analyzed: Analyzed,
    pub figures_dir: PathBuf,
    pub figures: usize,
    pub report: PathBuf,
}

/// The analysis, the figures and the report of the runs finished in `phases`, in one pass: each stage
/// hands the next what it made in memory (`ddlab analyze`, `plot` and `report` alone read it back from
/// the folder).
pub fn analyze_plot_report(sweep: &SweepDir, phases: &Phases) -> crate::Result<Reported> {
    let analyzed = analyze_phases(sweep, phases)?;
    let figures = plot_analysis(sweep, &analyzed.analysis)?;
    let count = figures.len();
    let report = report_analysis(sweep, &analyzed.analysis, figures, &phases.summaries())?;
    Ok(Reported { analyzed, figures_dir: sweep.figures_dir(), figures: count, report })
}

/// Writes report.html from spec.toml, `analysis`, `figures` and the runs (runs.csv's rows); returns its
/// path.
fn report_analysis(
    sweep: &SweepDir,
    analysis: &Analysis,
    figures: Vec<ReportFigure>,
    runs: &[RunSummary],
) -> crate::Result<PathBuf> {
    let (runs_header, runs_rows) = runs_table(runs);
    let html = report_html(&ReportInputs {
        sweep_name: &sweep_name(sweep),
        spec_toml: &sweep.spec_text()?,
        analysis,
        figures,
        runs_header,
        runs_rows,
    });
    sweep.write_report(&html)?;
    Ok(sweep.report_html())
}
