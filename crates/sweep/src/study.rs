//! A study's folder (docs/SCIENCE.md, Statistics, "Studies: several sweeps as one"): the claim on its
//! sweeps before anything trains, and once every sweep is analysed, the study's analysis, markdown and
//! forest plots. Store names and writes the files (`StudyDir`).

use std::path::Path;

use ddlab_analysis::{Analysis, study_analysis};
use ddlab_config::StudySpec;
use ddlab_report::{draw_forest, forest_name, study_markdown};
use ddlab_store::{FigureFiles, StudyClaim, StudyDir, SweepDir};

use crate::SweepError;

/// The study's folder under `runs_dir`.
fn study_dir(runs_dir: &Path, study: &StudySpec) -> StudyDir {
    StudyDir::at(runs_dir, &study.folder_name())
}

/// Claims the study's sweeps in `runs_dir`: refuses a sweep that another study file's folder already
/// lists (two studies may not share a sweep), then writes the claim. Touches nothing else, so a refused study
/// leaves no file behind.
pub fn claim_sweeps(runs_dir: &Path, study: &StudySpec) -> crate::Result<StudyDir> {
    let dir = study_dir(runs_dir, study);
    let ours: Vec<String> = study.experiments.iter().map(|e| e.sweep_name()).collect();
    // The study file, as claims record it: an edited study file (an experiment added or dropped) gets
    // another folder, and may take over its own earlier folder's sweeps.
    let file = study.file.canonicalize().unwrap_or_else(|_| study.file.clone()).display().to_string();
    for (other, claim) in dir.other_claims(runs_dir)? {
        if claim.file == file {
            continue;
        }
        if let Some((i, sweep)) = ours.iter().enumerate().find(|(_, s)| claim.sweeps.contains(s)) {
            return Err(SweepError::Other(format!(
                "{}: experiments: `{}` trains sweep {sweep}, which study {} ({}) already uses: two studies may not share a sweep (give this experiment another name, or study it in {})",
                study.file.display(),
                study.experiments[i].listed,
                claim.study,
                other.display(),
                claim.study
            )));
        }
    }
    dir.write_claim(&StudyClaim { study: study.folder_name(), file, sweeps: ours })?;
    Ok(dir)
}

/// What the study stage wrote.
#[derive(Clone, Debug)]
pub struct StudyWritten {
    pub dir: StudyDir,
    pub figures: usize,
}

/// Reads every sweep's analysis.json, analyses them as one study (at the first sweep's level), and
/// writes study.json, study.md and the forest plots (SVG and PNG) into the study folder.
pub fn write_study(runs_dir: &Path, study: &StudySpec) -> crate::Result<StudyWritten> {
    let dir = study_dir(runs_dir, study);
    let mut analyses = Vec::new();
    for e in &study.experiments {
        let analysis: Analysis = SweepDir::open(&runs_dir.join(e.sweep_name()))?.read_analysis()?;
        analyses.push((e.sweep_name(), e.listed.clone(), analysis));
    }
    let alpha = analyses.first().map_or(0.05, |(_, _, a)| a.options.alpha);
    let result = study_analysis(&analyses, alpha);
    let mut drawn = Vec::new();
    for effect in result.decision_forest.iter().chain(&result.effects) {
        let name = forest_name(&effect.name);
        let figure = draw_forest(&name, effect)
            .map_err(|e| SweepError::file(dir.figures_dir(), format!("drawing the forest plots: {e}")))?;
        drawn.push((name, effect.name.clone(), figure));
    }
    let figures: Vec<FigureFiles> =
        drawn.iter().map(|(name, title, f)| FigureFiles { name, title, svg: &f.svg, png: &f.png }).collect();
    dir.write_study(&result, &study_markdown(&result, &study.folder_name()), &figures)?;
    Ok(StudyWritten { figures: figures.len(), dir })
}
