//! # ddlab-store
//!
//! The sweep folder: where every stage's results live, written so that a crash never leaves a
//! half-written file where a reader would take it for a result.
//!
//! ## Layout
//! ```text
//! <runs-dir>/<name>-<hash>/
//!   spec.toml                         the resolved spec (its canonical form gives <hash>)
//!   data/<condition>/noise.csv        flipped training labels: index, original, noisy
//!   runs/<condition>/w<W>-s<S>/       one folder per run
//!     init.bpk, model.bpk             initial and trained weights (Burn burnpack)
//!     metrics.csv                     one row per evaluation
//!     run.json                        the run's runs.csv row
//!     checkpoint.bin[.prev]           resumable state while training (checksummed)
//!     snapshots/e<epoch>.bpk          weights at probe-schedule epochs
//!     DONE                            written last: the run is finished
//!     lock                            held (advisory lock) while a process trains the run
//!   runs.csv, probes.csv, analysis.json, analysis.md, figures/, report.html
//!   slurm/                            only for `ddlab slurm`: array.sbatch, finish.sbatch,
//!                                     plan.toml (shard count), jobs.toml (job IDs), logs/
//! <runs-dir>/study-<name>-<hash>/     a study (`ddlab study`): study.toml (its sweeps), study.json,
//!                                     study.md, figures/ (forest plots), slurm/ (`ddlab slurm STUDY`)
//! ```
//!
//! ## Invariants
//! - Every result file is written to a temporary file in the same folder, fsynced and renamed.
//! - `DONE` is written after every other file of the run; a run without it is not finished.
//! - Nothing here deletes a run folder.

mod atomic;
mod checkpoint;
mod error;
mod files;
mod phases;
mod records;
mod runs;
mod slurm;
mod study;
mod sweep;

pub use atomic::write_atomic;
pub use checkpoint::{frame_checkpoint, unframe_checkpoint};
pub use error::StoreError;
pub use files::{FigureFiles, runs_table};
pub use phases::Phases;
pub use records::{FigureIndex, MetricsRow, NoiseRow, Phase, ProbeRow};
pub use runs::{RunOutcome, RunRecord, RunSummary};
pub use slurm::{SlurmJobs, SlurmPlan};
pub use study::{StudyClaim, StudyDir};
pub use sweep::{RunLock, RunPhase, SweepDir};
