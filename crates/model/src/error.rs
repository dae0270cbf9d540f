//! Why model bytes could not be written or read.

/// A model that cannot be encoded, or bytes that do not hold the model asked for.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot encode model: {0}")]
    Encode(String),
    #[error("not a readable burnpack: {0}")]
    NotBurnpack(String),
    #[error("does not hold a model of shape {shape:?}: {detail}")]
    WrongShape { shape: crate::MlpShape, detail: String },
}
