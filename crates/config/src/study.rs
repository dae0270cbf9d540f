//! Study files: several experiment files run as one study (docs/SCIENCE.md, Statistics, "Studies:
//! several sweeps as one").
//!
//! ```toml
//! name = "study"
//! experiments = ["digits.toml", "mnist1d.toml"]   # relative to the study file
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::SpecError;
use crate::{Spec, load_spec, sweep_dir_name};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    name: Option<Spanned<String>>,
    experiments: Spanned<Vec<Spanned<String>>>,
}

/// One experiment of a study, resolved.
#[derive(Clone, Debug)]
pub struct StudyExperiment {
    /// As the study file names it, and resolved against the study file's folder.
    pub listed: String,
    pub path: PathBuf,
    pub spec: Spec,
}

impl StudyExperiment {
    /// The sweep folder's name (`<name>-<hash>`).
    pub fn sweep_name(&self) -> String {
        sweep_dir_name(&self.spec)
    }
}

/// A resolved study file.
#[derive(Clone, Debug)]
pub struct StudySpec {
    pub name: String,
    pub file: PathBuf,
    pub experiments: Vec<StudyExperiment>,
}

impl StudySpec {
    /// The study folder's name: `study-<name>-<hash>`, the hash over its sweeps' names, so that a study
    /// of other sweeps (another experiment, a changed one) gets another folder.
    pub fn folder_name(&self) -> String {
        let names: Vec<String> = self.experiments.iter().map(StudyExperiment::sweep_name).collect();
        let digest = Sha256::digest(names.join("\n").as_bytes());
        let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        format!("study-{}-{hash}", self.name)
    }
}

/// Reads a study file and every experiment it names. Errors name the study file, the line and the key
/// (an experiment's own errors name the experiment file).
pub fn load_study(path: &Path) -> Result<StudySpec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: Some(path.to_path_buf()),
        line: None,
        key: String::new(),
        message: format!("cannot read study file: {e}"),
    })?;
    let at = |span: std::ops::Range<usize>, key: &str, message: String| SpecError::value(&text, span, key, message).in_file(path);
    let file: StudyFile = toml::from_str(&text).map_err(|e| SpecError::syntax(&text, &e).in_file(path))?;
    let name = match &file.name {
        Some(n) if n.get_ref().is_empty() || !n.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => {
            return Err(at(n.span(), "name", "must be non-empty and use only letters, digits, '-', '_' and '.'".into()));
        }
        Some(n) => n.get_ref().clone(),
        None => path.file_stem().and_then(|s| s.to_str()).unwrap_or("study").to_string(),
    };
    if file.experiments.get_ref().is_empty() {
        return Err(at(file.experiments.span(), "experiments", "is empty: name at least one experiment file".into()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut experiments: Vec<StudyExperiment> = Vec::new();
    let mut canonical: Vec<PathBuf> = Vec::new();
    for listed in file.experiments.get_ref() {
        let resolved = base.join(listed.get_ref());
        let real = resolved.canonicalize().map_err(|e| {
            at(
                listed.span(),
                "experiments",
                format!("names `{}`, which cannot be read ({}): {e}", listed.get_ref(), resolved.display()),
            )
        })?;
        if let Some(i) = canonical.iter().position(|c| *c == real) {
            return Err(at(
                listed.span(),
                "experiments",
                format!("names `{}` twice (as `{}` before)", listed.get_ref(), experiments[i].listed),
            ));
        }
        let spec = load_spec(&resolved)?;
        let sweep = sweep_dir_name(&spec);
        if let Some(other) = experiments.iter().find(|e| e.sweep_name() == sweep) {
            return Err(at(
                listed.span(),
                "experiments",
                format!(
                    "`{}` and `{}` resolve to the same sweep {sweep}: a study names each sweep once",
                    other.listed,
                    listed.get_ref()
                ),
            ));
        }
        canonical.push(real);
        experiments.push(StudyExperiment { listed: listed.get_ref().clone(), path: resolved, spec });
    }
    Ok(StudySpec { name, file: path.to_path_buf(), experiments })
}

/// Whether `path` reads as a study file (a top-level `experiments` list and no `[data]`), so that a
/// command taking either an experiment or a study can tell them apart. Unreadable or malformed files
/// are not studies: loading them as experiments gives the error that names the line.
pub fn is_study_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(table) = text.parse::<toml::Table>() else { return false };
    table.get("experiments").is_some_and(|e| e.is_array()) && !table.contains_key("data")
}
