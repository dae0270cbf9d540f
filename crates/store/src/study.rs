//! A study's folder, `<runs-dir>/study-<name>-<hash>/` (docs/SCIENCE.md, Statistics, "Studies: several
//! sweeps as one"): `study.toml` (the study's claim on its sweeps, written before anything trains),
//! then `study.json`, `study.md` and `figures/<forest>.svg|png` once every sweep is analysed, and
//! `slurm/` when `ddlab slurm` runs the study on a cluster.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::files::{FigureFiles, write_json};

/// What `study.toml` holds: the study folder's name, the study file, and its sweeps' folder names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyClaim {
    pub study: String,
    pub file: String,
    pub sweeps: Vec<String>,
}

/// A study folder.
#[derive(Clone, Debug)]
pub struct StudyDir {
    pub root: PathBuf,
}

impl StudyDir {
    /// The study folder `folder` under `runs_dir` (not created).
    pub fn at(runs_dir: &Path, folder: &str) -> Self {
        StudyDir { root: runs_dir.join(folder) }
    }

    pub fn claim_file(&self) -> PathBuf {
        self.root.join("study.toml")
    }

    pub fn markdown(&self) -> PathBuf {
        self.root.join("study.md")
    }

    pub fn json(&self) -> PathBuf {
        self.root.join("study.json")
    }

    pub fn figures_dir(&self) -> PathBuf {
        self.root.join("figures")
    }

    /// `slurm/study.sbatch`: the job that writes the study after every sweep's finish job.
    pub fn slurm_script(&self) -> PathBuf {
        self.root.join("slurm").join("study.sbatch")
    }

    /// `slurm/logs/`, where the study job logs.
    pub fn slurm_logs_dir(&self) -> PathBuf {
        self.root.join("slurm").join("logs")
    }

    /// Every other study folder's claim under `runs_dir`, with the path of its `study.toml`, in name order.
    pub fn other_claims(&self, runs_dir: &Path) -> Result<Vec<(PathBuf, StudyClaim)>, StoreError> {
        let Ok(entries) = std::fs::read_dir(runs_dir) else { return Ok(Vec::new()) };
        let mut folders: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| *p != self.root).collect();
        folders.sort();
        let mut claims = Vec::new();
        for folder in folders {
            let file = StudyDir { root: folder }.claim_file();
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let claim: StudyClaim =
                toml::from_str(&text).map_err(|e| StoreError::new(&file, format!("unreadable study record: {}", e.message())))?;
            claims.push((file, claim));
        }
        Ok(claims)
    }

    /// Creates the folder and writes `study.toml`.
    pub fn write_claim(&self, claim: &StudyClaim) -> Result<(), StoreError> {
        let file = self.claim_file();
        let text = toml::to_string(claim).map_err(|e| StoreError::new(&file, format!("cannot encode: {e}")))?;
        std::fs::create_dir_all(&self.root).map_err(|e| StoreError::io(&self.root, e))?;
        write_atomic(&file, text.as_bytes())
    }

    /// Writes the forest plots, then `study.json`, then `study.md` (last: its presence means the study
    /// is whole).
    pub fn write_study<T: Serialize>(&self, json: &T, markdown: &str, figures: &[FigureFiles]) -> Result<(), StoreError> {
        let dir = self.figures_dir();
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        for figure in figures {
            write_atomic(&dir.join(format!("{}.svg", figure.name)), figure.svg.as_bytes())?;
            write_atomic(&dir.join(format!("{}.png", figure.name)), figure.png)?;
        }
        write_json(&self.json(), json)?;
        write_atomic(&self.markdown(), markdown.as_bytes())
    }

    /// Writes the study's Slurm job script and makes the folder its log goes to.
    pub fn write_slurm_script(&self, script: &str) -> Result<(), StoreError> {
        let logs = self.slurm_logs_dir();
        std::fs::create_dir_all(&logs).map_err(|e| StoreError::io(&logs, e))?;
        write_atomic(&self.slurm_script(), script.as_bytes())
    }
}
