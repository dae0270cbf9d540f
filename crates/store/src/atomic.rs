//! Atomic file writes: temporary file in the same folder, fsync, rename, fsync the folder.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().ok_or_else(|| StoreError::new(path, "has no parent folder"))?;
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let mut tmp = temporary_builder().tempfile_in(dir).map_err(|e| StoreError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| StoreError::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| StoreError::io(path, e))?;
    tmp.persist(path).map_err(|e| StoreError::io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Makes the rename itself durable; failure here loses no data already written.
        let _ = d.sync_all();
    }
    Ok(())
}

/// The temporary file's builder. A temporary file is private (0600) by default; results are not
/// secrets, so it is created with 0666 and the kernel applies the umask, as it would to a plain write:
/// on a shared cluster the group reads a sweep's results when the umask lets it.
fn temporary_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

/// Writes rows as CSV (header from the field names), atomically.
pub fn write_csv_atomic<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), StoreError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(|e| StoreError::new(path, format!("cannot encode a row: {e}")))?;
    }
    let bytes = writer.into_inner().map_err(|e| StoreError::new(path, format!("cannot encode: {e}")))?;
    write_atomic(path, &bytes)
}

/// Reads a CSV written by [`write_csv_atomic`].
pub fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| StoreError::new(path, format!("cannot open: {e}")))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| StoreError::new(path, format!("row {}: {e}", i + 2))))
        .collect()
}
