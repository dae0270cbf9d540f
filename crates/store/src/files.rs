//! Typed readers and writers of the sweep folder's files: each file's format is written and read here,
//! and every error names the file.

use std::path::Path;

use ddlab_config::{Condition, RunKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::atomic::{read_csv, write_atomic, write_csv_atomic};
use crate::error::StoreError;
use crate::phases::Phases;
use crate::records::{FigureIndex, MetricsRow, NoiseRow, ProbeRow};
use crate::runs::RunSummary;
use crate::sweep::SweepDir;

/// A figure as drawn: SVG for the report, PNG for papers.
pub struct FigureFiles<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub svg: &'a str,
    pub png: &'a [u8],
}

impl SweepDir {
    /// Writes a model's weights (Burn's record bytes, which the model crate makes and reads) to one of
    /// a run's weight files: [`SweepDir::init_weights_path`], [`SweepDir::model_path`] or
    /// [`SweepDir::snapshot_path`].
    pub fn write_weights(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(path, bytes)
    }

    /// Writes a run's evaluations (metrics.csv).
    pub fn write_metrics(&self, key: &RunKey, rows: &[MetricsRow]) -> Result<(), StoreError> {
        write_csv_atomic(&self.metrics_path(key), rows)
    }

    /// A run's evaluations (metrics.csv).
    pub fn read_metrics(&self, key: &RunKey) -> Result<Vec<MetricsRow>, StoreError> {
        read_csv(&self.metrics_path(key))
    }

    /// Writes a condition's flipped labels (data/<condition>/noise.csv), with its header when none was
    /// flipped, so that the file says what it would hold.
    pub fn write_noise(&self, condition: &Condition, rows: &[NoiseRow]) -> Result<(), StoreError> {
        let path = self.noise_path(condition);
        if rows.is_empty() { write_atomic(&path, NoiseRow::HEADER.as_bytes()) } else { write_csv_atomic(&path, rows) }
    }

    /// Writes a probe file (a run's probes.csv, a per-width or kw file, or the sweep's probes.csv), with
    /// its header when it has no rows.
    pub fn write_probes(&self, path: &Path, rows: &[ProbeRow]) -> Result<(), StoreError> {
        if rows.is_empty() { write_atomic(path, ProbeRow::HEADER.as_bytes()) } else { write_csv_atomic(path, rows) }
    }

    /// The rows of a probe file.
    pub fn read_probes(&self, path: &Path) -> Result<Vec<ProbeRow>, StoreError> {
        read_csv(path)
    }

    /// Whether a probe file exists in the current format. Files written before metrics could be
    /// undefined (no `undefined` column) may hold NaN and the old single-space names: probe again.
    pub fn probes_current(&self, path: &Path) -> bool {
        std::fs::read_to_string(path)
            .is_ok_and(|text| text.lines().next().is_some_and(|h| h.split(',').any(|c| c == "undefined")))
    }

    /// The record of what a per-width or kw probe file was computed from (its seeds sidecar); None when
    /// there is none or it cannot be read (the file is then computed again).
    pub fn read_seeds_record<T: DeserializeOwned>(&self, probes: &Path) -> Option<T> {
        std::fs::read(SweepDir::seeds_sidecar(probes)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
    }

    /// Writes a probe file's seeds sidecar: after the file, so that a crash in between leaves it stale.
    pub fn write_seeds_record<T: Serialize>(&self, probes: &Path, record: &T) -> Result<(), StoreError> {
        write_json(&SweepDir::seeds_sidecar(probes), record)
    }

    /// Rewrites runs.csv from the finished runs of `phases`; returns how many.
    pub fn write_runs_csv(&self, phases: &Phases) -> Result<usize, StoreError> {
        let rows = phases.summaries();
        write_csv_atomic(&self.runs_csv(), &rows)?;
        Ok(rows.len())
    }

    /// runs.csv's rows.
    pub fn read_runs_csv(&self) -> Result<Vec<RunSummary>, StoreError> {
        read_csv(&self.runs_csv())
    }

    /// Writes analysis.json (the analysis's own serde form) and analysis.md.
    pub fn write_analysis<T: Serialize>(&self, analysis: &T, markdown: &str) -> Result<(), StoreError> {
        write_json(&self.analysis_json(), analysis)?;
        write_atomic(&self.analysis_md(), markdown.as_bytes())
    }

    /// analysis.json, read back.
    pub fn read_analysis<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        read_json(&self.analysis_json(), "run `ddlab analyze` first")
    }

    /// Writes the figures (figures/<name>.svg and .png), then their index.
    pub fn write_figures(&self, figures: &[FigureFiles]) -> Result<(), StoreError> {
        for figure in figures {
            write_atomic(&self.figure_path(figure.name, "svg"), figure.svg.as_bytes())?;
            write_atomic(&self.figure_path(figure.name, "png"), figure.png)?;
        }
        let index = FigureIndex { figures: figures.iter().map(|f| (f.name.to_string(), f.title.to_string())).collect() };
        write_json(&self.figure_index(), &index)
    }

    /// The figures of figures/index.json: `(name, title, svg)` each.
    pub fn read_figures(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let index: FigureIndex = read_json(&self.figure_index(), "run `ddlab plot` first")?;
        index
            .figures
            .into_iter()
            .map(|(name, title)| {
                let path = self.figure_path(&name, "svg");
                let svg = std::fs::read_to_string(&path).map_err(|e| StoreError::new(&path, format!("missing figure ({e})")))?;
                Ok((name, title, svg))
            })
            .collect()
    }

    /// Writes report.html.
    pub fn write_report(&self, html: &str) -> Result<(), StoreError> {
        write_atomic(&self.report_html(), html.as_bytes())
    }

    /// The text of spec.toml, as the report shows it.
    pub fn spec_text(&self) -> Result<String, StoreError> {
        let path = self.spec_toml();
        std::fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))
    }
}

/// runs.csv's header and cells, as the file spells them, for the report's table.
pub fn runs_table(rows: &[RunSummary]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("a run summary serialises");
    }
    let bytes = writer.into_inner().expect("writing to memory");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header = if rows.is_empty() {
        Vec::new()
    } else {
        reader.headers().expect("csv wrote a header").iter().map(str::to_string).collect()
    };
    let cells = reader.records().map(|r| r.expect("csv wrote the record").iter().map(str::to_string).collect()).collect();
    (header, cells)
}

/// Writes `value` as pretty JSON, whole, by rename.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::new(path, format!("cannot encode ({e})")))?;
    write_atomic(path, &bytes)
}

/// A JSON file, read back; `missing` says what makes it (in the error when the file is absent).
fn read_json<T: DeserializeOwned>(path: &Path, missing: &str) -> Result<T, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::new(path, format!("{missing} ({e})")))?;
    serde_json::from_str(&text).map_err(|e| StoreError::new(path, format!("unreadable ({e})")))
}
