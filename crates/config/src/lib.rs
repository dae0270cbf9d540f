//! # ddlab-config
//!
//! The experiment spec: what a sweep is, before anything touches the disk.
//!
//! ## Flow
//! An experiment file (TOML, every key optional but `data.dataset` and `data.n_train`) is parsed into
//! spanned raw values, then resolved into a [`Spec`]: defaults filled, every value checked. A bad value
//! gives a [`SpecError`] naming the file, the line and the key. The spec expands into [`RunKey`]s
//! (condition x width x seed) and names its sweep folder by [`sweep_dir_name`], a SHA-256 of its
//! canonical form.
//!
//! ## Randomness
//! [`streams`] lists every seeded random stream of a sweep (data, initial weights, batch order, probes).
//!
//! ## Metrics
//! [`metrics`] names the probe metrics the verdict tests, for the probes and the analysis alike.
//!
//! ## Documentation
//! [`KEYS`] documents every key; README's key table is generated from it and a test keeps the two, and
//! the parser, in step.

mod error;
mod file;
mod hash;
mod keys;
pub mod metrics;
mod resolve;
mod runs;
mod spec;
pub mod streams;
mod study;

pub use error::SpecError;
pub use hash::{canonical_form, spec_hash, sweep_dir_name};
pub use keys::{KEYS, KeyDoc, keys_markdown};
pub use resolve::{geometric_widths, load_spec, parse_spec};
pub use runs::RunKey;
pub use spec::*;
pub use study::{StudyExperiment, StudySpec, is_study_file, load_study};
