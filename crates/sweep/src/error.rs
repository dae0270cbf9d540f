//! The driver's one error type: what went wrong, naming the file, the dataset step or the run.

use std::path::PathBuf;

use ddlab_data::DataError;
use ddlab_store::StoreError;

/// Why a stage of a sweep could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A file of the sweep folder could not be read or written (the store names it).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The dataset could not be loaded or prepared; `context` says which step. (The data error is part
    /// of the message, not a `source`, so that a printed chain does not repeat it.)
    #[error("{context}: {error}")]
    Data { context: String, error: DataError },
    /// A file of the sweep folder is missing or does not hold what it should.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A model could not be encoded or decoded.
    #[error(transparent)]
    Model(#[from] ddlab_model::ModelError),
    /// Training or a closed-form fit failed.
    #[error(transparent)]
    Train(#[from] ddlab_train::TrainError),
    /// Anything else, said in full.
    #[error("{0}")]
    Other(String),
}

impl SweepError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        SweepError::File { path: path.into(), message: message.to_string() }
    }
}

/// The driver's results.
pub type Result<T> = std::result::Result<T, SweepError>;
