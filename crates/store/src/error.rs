//! The store's one error type: every failure names the path it concerns.

use std::path::{Path, PathBuf};

/// A store error always names the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct StoreError {
    pub path: PathBuf,
    pub message: String,
}

impl StoreError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        StoreError { path: path.to_path_buf(), message: message.into() }
    }

    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::StorageFull => " (the disk is full)",
            std::io::ErrorKind::ReadOnlyFilesystem => " (the file system is read-only)",
            std::io::ErrorKind::PermissionDenied => " (permission denied: is the folder writable?)",
            _ => "",
        };
        StoreError::new(path, format!("{err}{hint}"))
    }
}
