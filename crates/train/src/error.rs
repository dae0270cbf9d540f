//! Why training, a checkpoint or a closed-form fit could not go on.

/// Training's one error type.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A checkpoint's bytes are damaged or of another format.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The observer could not store a checkpoint or a snapshot (its message names the file).
    #[error("{0}")]
    Observer(String),
    /// A closed-form fit was asked for what it cannot do, or its linear algebra failed.
    #[error("{0}")]
    Fit(String),
}
