//! The sweep folder and the state of its runs.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use ddlab_config::{RunKey, Spec, sweep_dir_name};

use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::phases::Phases;
use crate::runs::{RunOutcome, RunRecord};

/// Where a run stands on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum RunPhase {
    /// Finished (DONE written); `status` is `done` or `diverged`.
    Finished(RunRecord),
    /// Training stopped by an error (FAILED written) with the reason.
    Failed(String),
    /// Started: a checkpoint exists.
    Started,
    /// Never started.
    Missing,
}

/// An advisory lock on one run, held while a process trains it and released on drop (or when the
/// process dies, which is why it is a lock and not a marker file).
pub struct RunLock {
    _file: File,
}

/// An open sweep folder.
#[derive(Clone, Debug)]
pub struct SweepDir {
    pub root: PathBuf,
    pub spec: Spec,
}

impl SweepDir {
    /// Creates (or reopens) the sweep folder of `spec` under `runs_dir`, writing spec.toml once.
    pub fn create(runs_dir: &Path, spec: &Spec) -> Result<Self, StoreError> {
        let root = runs_dir.join(sweep_dir_name(spec));
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let spec_path = root.join("spec.toml");
        if spec_path.exists() {
            let existing = Self::open(&root)?;
            if existing.spec != *spec {
                return Err(StoreError::new(&spec_path, "holds a different spec with the same hash; refusing to mix results"));
            }
        } else {
            let text = toml::to_string(spec).map_err(|e| StoreError::new(&spec_path, format!("cannot encode the spec: {e}")))?;
            write_atomic(&spec_path, text.as_bytes())?;
        }
        Ok(SweepDir { root, spec: spec.clone() })
    }

    /// Opens an existing sweep folder by reading its spec.toml.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let spec_path = root.join("spec.toml");
        let text =
            std::fs::read_to_string(&spec_path).map_err(|e| StoreError::new(&spec_path, format!("not a sweep folder: {e}")))?;
        let spec: Spec =
            toml::from_str(&text).map_err(|e| StoreError::new(&spec_path, format!("unreadable spec: {}", e.message())))?;
        Ok(SweepDir { root: root.to_path_buf(), spec })
    }

    pub fn run_dir(&self, key: &RunKey) -> PathBuf {
        self.root.join("runs").join(self.spec.run_name(key))
    }

    /// A run's weights at initialisation (`init.bpk`: the probes' null control).
    pub fn init_weights_path(&self, key: &RunKey) -> PathBuf {
        self.run_dir(key).join("init.bpk")
    }

    /// A run's trained weights (`model.bpk`).
    pub fn model_path(&self, key: &RunKey) -> PathBuf {
        self.run_dir(key).join("model.bpk")
    }

    /// A run's weights at a probe-schedule epoch (`snapshots/e<epoch>.bpk`).
    /// A run's evaluations over training (metrics.csv).
    pub fn metrics_path(&self, key: &RunKey) -> PathBuf {
        self.run_dir(key).join("metrics.csv")
    }

    pub fn snapshot_path(&self, key: &RunKey, epoch: usize) -> PathBuf {
        self.run_dir(key).join("snapshots").join(format!("e{epoch}.bpk"))
    }

    /// `(epoch, path)` of every schedule snapshot of a run, by epoch.
    pub fn snapshots(&self, key: &RunKey) -> Vec<(usize, PathBuf)> {
        let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(self.run_dir(key).join("snapshots"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let epoch = name.strip_prefix('e')?.strip_suffix(".bpk")?.parse().ok()?;
                Some((epoch, e.path()))
            })
            .collect();
        out.sort();
        out
    }

    /// The bytes of a file of the sweep folder, or an error naming it.
    pub fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, StoreError> {
        std::fs::read(path).map_err(|e| StoreError::io(path, e))
    }

    /// data/<condition>/noise.csv: which training labels were flipped, from what to what.
    pub fn noise_path(&self, condition: &ddlab_config::Condition) -> PathBuf {
        self.root.join("data").join(condition.label()).join("noise.csv")
    }

    /// A run's own probes (its folder's probes.csv).
    pub fn run_probes_path(&self, key: &RunKey) -> PathBuf {
        self.run_dir(key).join("probes.csv")
    }

    /// probes/<condition>/w<W>.csv: the probes of one width across its seeds (seed ensemble, CKA).
    pub fn width_probes_path(&self, condition: &ddlab_config::Condition, width: usize) -> PathBuf {
        self.root.join("probes").join(condition.label()).join(format!("w{width}.csv"))
    }

    /// probes/<condition>/kw.csv: one net of width kW against k nets of width W.
    pub fn kw_probes_path(&self, condition: &ddlab_config::Condition) -> PathBuf {
        self.root.join("probes").join(condition.label()).join("kw.csv")
    }

    /// The record beside a per-width or kw probe file (`w<W>.seeds.json`) of the seeds it was computed
    /// from, so that a new finished seed makes it stale.
    pub fn seeds_sidecar(probes: &Path) -> PathBuf {
        probes.with_extension("seeds.json")
    }

    /// The sweep's probes.csv: every probe row of every run and width.
    pub fn probes_csv(&self) -> PathBuf {
        self.root.join("probes.csv")
    }

    /// The sweep's runs.csv: a row per finished run.
    pub fn runs_csv(&self) -> PathBuf {
        self.root.join("runs.csv")
    }

    /// The resolved spec the folder is named after.
    pub fn spec_toml(&self) -> PathBuf {
        self.root.join("spec.toml")
    }

    /// The verdict: analysis.json (every number) and analysis.md (for people).
    pub fn analysis_json(&self) -> PathBuf {
        self.root.join("analysis.json")
    }

    pub fn analysis_md(&self) -> PathBuf {
        self.root.join("analysis.md")
    }

    /// figures/: each figure as `<name>.svg` and `<name>.png`, and index.json listing them.
    pub fn figures_dir(&self) -> PathBuf {
        self.root.join("figures")
    }

    pub fn figure_path(&self, name: &str, extension: &str) -> PathBuf {
        self.figures_dir().join(format!("{name}.{extension}"))
    }

    pub fn figure_index(&self) -> PathBuf {
        self.figures_dir().join("index.json")
    }

    /// report.html: self-contained.
    pub fn report_html(&self) -> PathBuf {
        self.root.join("report.html")
    }

    /// Where every run of the sweep stands now (every shard's, so that a shard sees the runs its own
    /// depend on): one snapshot per decision; an unreadable run record is an error naming it.
    pub fn phases(&self) -> Result<Phases, StoreError> {
        self.phases_of(&self.spec.runs())
    }

    /// Where the runs `keys` stand now (a shard reads its own runs and the runs they start from, not
    /// every shard's: a damaged record elsewhere is the other shard's to report).
    pub fn phases_of(&self, keys: &[RunKey]) -> Result<Phases, StoreError> {
        keys.iter().map(|key| Ok((*key, self.phase(key)?))).collect()
    }

    /// Where the run stands.
    pub fn phase(&self, key: &RunKey) -> Result<RunPhase, StoreError> {
        let dir = self.run_dir(key);
        if dir.join("DONE").exists() {
            let path = dir.join("run.json");
            let text = std::fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?;
            let record: RunRecord =
                serde_json::from_str(&text).map_err(|e| StoreError::new(&path, format!("unreadable: {e}")))?;
            return Ok(RunPhase::Finished(record));
        }
        if let Ok(reason) = std::fs::read_to_string(dir.join("FAILED")) {
            return Ok(RunPhase::Failed(reason.trim().to_string()));
        }
        if dir.join("checkpoint.bin").exists() || dir.join("checkpoint.bin.prev").exists() {
            return Ok(RunPhase::Started);
        }
        Ok(RunPhase::Missing)
    }

    /// Takes the run's lock without waiting; `None` when another process holds it.
    pub fn try_lock(&self, key: &RunKey) -> Result<Option<RunLock>, StoreError> {
        let dir = self.run_dir(key);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join("lock");
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| StoreError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
        }
    }

    /// True when another process holds the run's lock (a run being trained right now).
    pub fn is_locked(&self, key: &RunKey) -> bool {
        let path = self.run_dir(key).join("lock");
        match File::options().write(true).open(&path) {
            Ok(file) => matches!(file.try_lock(), Err(TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    /// Writes a checkpoint, keeping the previous one as `checkpoint.bin.prev` until the new one is in
    /// place, so that a damaged newest checkpoint still leaves one to resume from.
    pub fn write_checkpoint(&self, key: &RunKey, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = self.run_dir(key);
        let current = dir.join("checkpoint.bin");
        if current.exists() {
            std::fs::rename(&current, dir.join("checkpoint.bin.prev")).map_err(|e| StoreError::io(&current, e))?;
        }
        write_atomic(&current, bytes)
    }

    /// The newest checkpoint that `parse` accepts and, when that is `checkpoint.bin`, the previous one
    /// (`checkpoint.bin.prev`) too. A damaged checkpoint is reported through `warn` and skipped, so a
    /// truncated newest checkpoint falls back to the previous one.
    pub fn read_checkpoints<T, E: std::fmt::Display>(
        &self,
        key: &RunKey,
        parse: impl Fn(&[u8]) -> Result<T, E>,
        mut warn: impl FnMut(String),
    ) -> (Option<T>, Option<T>) {
        let dir = self.run_dir(key);
        let mut read = |name: &str| -> Option<T> {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).ok()?;
            parse(&bytes).map_err(|e| warn(format!("{}: {e}; using an older checkpoint", path.display()))).ok()
        };
        let current = read("checkpoint.bin");
        let previous = read("checkpoint.bin.prev");
        match current {
            Some(c) => (Some(c), previous),
            None => (previous, None),
        }
    }

    /// Removes temporary files a killed writer left in a run's folder. Only call it holding the run's
    /// lock: then no other process is writing there.
    pub fn remove_stale_temporaries(&self, key: &RunKey) {
        let dir = self.run_dir(key);
        for folder in [dir.clone(), dir.join("snapshots")] {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Marks a run finished: run.json, then DONE last; then drops its checkpoints and any failure note.
    pub fn finish_run(&self, key: &RunKey, record: &RunRecord) -> Result<(), StoreError> {
        let dir = self.run_dir(key);
        let json = serde_json::to_vec_pretty(record).expect("a run record serialises");
        write_atomic(&dir.join("run.json"), &json)?;
        write_atomic(&dir.join("DONE"), b"")?;
        for name in ["checkpoint.bin", "checkpoint.bin.prev", "FAILED"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        Ok(())
    }

    /// Records that training a run failed (its checkpoints stay for a retry).
    pub fn fail_run(&self, key: &RunKey, reason: &str) -> Result<(), StoreError> {
        write_atomic(&self.run_dir(key).join("FAILED"), reason.as_bytes())
    }

    /// Makes a failed or diverged run trainable again (`--retry-failed`): removes DONE and FAILED; a
    /// checkpoint, if any, is kept and resumed from.
    pub fn reset_failed(&self, key: &RunKey) -> Result<bool, StoreError> {
        let dir = self.run_dir(key);
        let retry = match self.phase(key)? {
            RunPhase::Failed(_) => true,
            RunPhase::Finished(record) => record.summary.status != RunOutcome::Done,
            _ => false,
        };
        if retry {
            for name in ["DONE", "FAILED", "run.json"] {
                let path = dir.join(name);
                if path.exists() {
                    std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                }
            }
        }
        Ok(retry)
    }
}
