//! The in-memory dataset every loader produces.

use std::path::Path;

use crate::error::DataError;

/// Labels above this are taken for a malformed file rather than a real class count.
pub const MAX_CLASSES: u32 = 10_000;

/// Examples as a row-major `n x dim` float matrix and one class label each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    pub dim: usize,
}

impl Dataset {
    /// Builds a dataset, checking the shape and that every feature is finite.
    pub fn new(x: Vec<f32>, y: Vec<u32>, dim: usize, origin: &Path) -> Result<Self, DataError> {
        if dim == 0 {
            return Err(DataError::format(origin, "examples have no features"));
        }
        if x.len() != y.len() * dim {
            return Err(DataError::format(
                origin,
                format!("{} feature values do not make {} rows of {dim} features", x.len(), y.len()),
            ));
        }
        if y.is_empty() {
            return Err(DataError::format(origin, "holds no examples"));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(DataError::format(
                origin,
                format!("example {} feature {} is {} (features must be finite)", i / dim, i % dim, x[i]),
            ));
        }
        if let Some(&label) = y.iter().find(|&&l| l >= MAX_CLASSES) {
            return Err(DataError::format(origin, format!("label {label} is out of range (0..{MAX_CLASSES})")));
        }
        Ok(Dataset { x, y, dim })
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// One more than the largest label.
    pub fn classes(&self) -> usize {
        self.y.iter().max().map_or(0, |m| *m as usize + 1)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            x.extend_from_slice(self.row(i));
        }
        Dataset { x, y: indices.iter().map(|&i| self.y[i]).collect(), dim: self.dim }
    }
}

/// A source's examples before subsampling: a training pool and, if the source has one, a test pool.
#[derive(Clone, Debug)]
pub struct Pools {
    pub train: Dataset,
    pub test: Option<Dataset>,
}
