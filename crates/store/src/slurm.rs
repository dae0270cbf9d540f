//! The sweep folder's `slurm/` part, written by `ddlab slurm`: the two job scripts, the plan the tasks
//! shard by, the submitted job IDs, and the tasks' logs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::sweep::SweepDir;

/// What `ddlab slurm` planned: the shard count every task and `ddlab status` use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmPlan {
    pub tasks: usize,
    /// The experiment file the tasks run (absolute).
    pub experiment: PathBuf,
}

/// The jobs `ddlab slurm --submit` submitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmJobs {
    pub array: String,
    pub finish: String,
}

impl SweepDir {
    fn slurm_dir(&self) -> PathBuf {
        self.root.join("slurm")
    }

    pub fn slurm_array_script(&self) -> PathBuf {
        self.slurm_dir().join("array.sbatch")
    }

    pub fn slurm_finish_script(&self) -> PathBuf {
        self.slurm_dir().join("finish.sbatch")
    }

    /// `slurm/logs/`: one log per array task (`task-<id>.log`, appended across requeues) and `finish.log`.
    pub fn slurm_logs_dir(&self) -> PathBuf {
        self.slurm_dir().join("logs")
    }

    /// Writes the array and finish job scripts, and makes the folder their logs go to.
    pub fn write_slurm_scripts(&self, array: &str, finish: &str) -> Result<(), StoreError> {
        let logs = self.slurm_logs_dir();
        std::fs::create_dir_all(&logs).map_err(|e| StoreError::io(&logs, e))?;
        write_atomic(&self.slurm_array_script(), array.as_bytes())?;
        write_atomic(&self.slurm_finish_script(), finish.as_bytes())
    }

    pub fn write_slurm_plan(&self, plan: &SlurmPlan) -> Result<(), StoreError> {
        self.write_toml("plan.toml", plan)
    }

    /// The plan, or None when the sweep was not planned for Slurm.
    pub fn read_slurm_plan(&self) -> Result<Option<SlurmPlan>, StoreError> {
        self.read_toml("plan.toml")
    }

    pub fn write_slurm_jobs(&self, jobs: &SlurmJobs) -> Result<(), StoreError> {
        self.write_toml("jobs.toml", jobs)
    }

    pub fn read_slurm_jobs(&self) -> Result<Option<SlurmJobs>, StoreError> {
        self.read_toml("jobs.toml")
    }

    fn write_toml<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let path = self.slurm_dir().join(name);
        std::fs::create_dir_all(self.slurm_dir()).map_err(|e| StoreError::io(&self.slurm_dir(), e))?;
        let text = toml::to_string(value).map_err(|e| StoreError::new(&path, format!("cannot encode: {e}")))?;
        write_atomic(&path, text.as_bytes())
    }

    fn read_toml<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let path = self.slurm_dir().join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).map(Some).map_err(|e| StoreError::new(&path, format!("unreadable: {}", e.message())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}
