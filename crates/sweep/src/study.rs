//! A study's folder (docs/SCIENCE.md, Statistics, "Studies: several sweeps as one"): `study.toml` (the
//! study's sweeps, claimed before anything trains), and once every sweep is analysed, `study.json`,
//! `study.md` and the forest plots in `figures/`.

use std::path::{Path, PathBuf};

use ddlab_analysis::{Analysis, study_analysis};
use ddlab_config::StudySpec;
use ddlab_report::{draw_forest, forest_name, study_markdown};
use ddlab_store::{SweepDir, write_atomic};
use serde::{Deserialize, Serialize};

use crate::SweepError;

/// What `study.toml` in a study folder holds: which study, from which file, and its sweeps' folders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyClaim {
    pub study: String,
    pub file: String,
    pub sweeps: Vec<String>,
}

/// The study folder under `runs_dir`.
pub fn study_folder(runs_dir: &Path, study: &StudySpec) -> PathBuf {
    runs_dir.join(study.folder_name())
}

/// Claims the study's sweeps in `runs_dir`: refuses a sweep that another study's folder already lists
/// (two studies may not share a sweep), then writes `study.toml`. Touches nothing else, so a refused
/// study leaves no file behind.
pub fn claim_sweeps(runs_dir: &Path, study: &StudySpec) -> crate::Result<PathBuf> {
    let folder = study_folder(runs_dir, study);
    let ours: Vec<String> = study.experiments.iter().map(|e| e.sweep_name()).collect();
    if let Ok(entries) = std::fs::read_dir(runs_dir) {
        let mut others: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        others.sort();
        for other in others.into_iter().filter(|p| *p != folder) {
            let Ok(text) = std::fs::read_to_string(other.join("study.toml")) else { continue };
            let claim: StudyClaim = toml::from_str(&text)
                .map_err(|e| SweepError::file(other.join("study.toml"), format!("unreadable study record: {}", e.message())))?;
            if let Some((i, sweep)) = ours.iter().enumerate().find(|(_, s)| claim.sweeps.contains(s)) {
                return Err(SweepError::Other(format!(
                    "{}: experiments: `{}` trains sweep {sweep}, which study {} ({}) already uses: two studies may not share a sweep (give this experiment another name, or study it in {})",
                    study.file.display(),
                    study.experiments[i].listed,
                    claim.study,
                    other.join("study.toml").display(),
                    claim.study
                )));
            }
        }
    }
    let claim = StudyClaim { study: study.folder_name(), file: study.file.display().to_string(), sweeps: ours };
    let text = toml::to_string(&claim).map_err(|e| SweepError::Other(format!("encoding study.toml: {e}")))?;
    std::fs::create_dir_all(&folder).map_err(|e| SweepError::file(&folder, e))?;
    write_atomic(&folder.join("study.toml"), text.as_bytes())?;
    Ok(folder)
}

/// What the study stage wrote.
#[derive(Clone, Debug)]
pub struct StudyWritten {
    pub folder: PathBuf,
    pub markdown: PathBuf,
    pub figures: usize,
}

/// Reads every sweep's analysis.json, analyses them as one study (at the first sweep's level), and
/// writes study.json, study.md and the forest plots (SVG and PNG) into the study folder.
pub fn write_study(runs_dir: &Path, study: &StudySpec) -> crate::Result<StudyWritten> {
    let folder = study_folder(runs_dir, study);
    let mut analyses = Vec::new();
    for e in &study.experiments {
        let sweep = SweepDir::open(&runs_dir.join(e.sweep_name()))?;
        let analysis: Analysis = sweep.read_analysis()?;
        analyses.push((e.sweep_name(), e.listed.clone(), analysis));
    }
    let alpha = analyses.first().map_or(0.05, |(_, _, a)| a.options.alpha);
    let result = study_analysis(&analyses, alpha);
    let figures_dir = folder.join("figures");
    std::fs::create_dir_all(&figures_dir).map_err(|e| SweepError::file(&figures_dir, e))?;
    let mut figures = 0;
    for effect in result.decision_forest.iter().chain(&result.effects) {
        let name = forest_name(&effect.name);
        let figure =
            draw_forest(&name, effect).map_err(|e| SweepError::file(&figures_dir, format!("drawing the forest plots: {e}")))?;
        write_atomic(&figures_dir.join(format!("{name}.svg")), figure.svg.as_bytes())?;
        write_atomic(&figures_dir.join(format!("{name}.png")), &figure.png)?;
        figures += 1;
    }
    let json = serde_json::to_vec_pretty(&result).map_err(|e| SweepError::Other(format!("encoding study.json: {e}")))?;
    write_atomic(&folder.join("study.json"), &json)?;
    let markdown = folder.join("study.md");
    write_atomic(&markdown, study_markdown(&result, &study.folder_name()).as_bytes())?;
    Ok(StudyWritten { folder, markdown, figures })
}
