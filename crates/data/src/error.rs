//! Data errors name the file and, where there is one, the line or record.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{}: line {line}: {message}", path.display())]
    Line { path: PathBuf, line: u64, message: String },
    #[error("{0}")]
    Request(String),
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        DataError::Format { path: path.to_path_buf(), message: message.into() }
    }

    pub(crate) fn line(path: &Path, line: u64, message: impl Into<String>) -> Self {
        DataError::Line { path: path.to_path_buf(), line, message: message.into() }
    }
}
