//! # ddlab-data
//!
//! Datasets in, exact training and test sets out.
//!
//! ## Formats
//! IDX (gzipped or raw), CSV (label column + features) and NPY loaders; seeded synthetic generators
//! (teacher-student MLP, Gaussian mixture) and `gaussian_linear`, regression with a known risk,. Every loader checks shapes, labels and finiteness and names
//! the file (and line) of a problem.
//!
//! ## Preparation
//! [`split`] fixes the test set once per sweep; [`prepare`] draws one condition's class-balanced
//! training set, standardises with training statistics only, and flips exactly round(p n) training
//! labels to a different class, recording which. Test labels are never touched.

mod csv_file;
mod dataset;
mod error;
mod idx;
mod npy;
mod prepare;
mod regression;
mod rng;
mod synthetic;

pub use csv_file::load_csv;
pub use dataset::{Dataset, MAX_CLASSES, Pools};
pub use error::DataError;
pub use idx::load_idx;
pub use npy::load_npy;
pub use prepare::{Prepared, Split, balanced_indices, flip_labels, load_pools, noisy_fit, prepare, split};
pub use regression::{GaussianLinear, RegressionSet};
pub use synthetic::{gaussian_mixture, teacher};
