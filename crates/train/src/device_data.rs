//! One condition's data on the device, plus the host copies evaluation needs.

use burn::tensor::{Device, Int, Tensor, TensorData};
use ddlab_data::{Dataset, Prepared};

/// A split on the device: inputs, one-hot targets, and host labels for error counting.
pub struct DeviceSet {
    /// `[n, d]`.
    pub x: Tensor<2>,
    /// One-hot targets, class-major like the packed network's output: `[classes, n]`.
    pub onehot: Tensor<2>,
    pub labels: Vec<u32>,
}

impl DeviceSet {
    pub fn new(set: &Dataset, classes: usize, device: &Device) -> Self {
        let n = set.len();
        let mut onehot = vec![0f32; classes * n];
        for (i, &y) in set.y.iter().enumerate() {
            onehot[y as usize * n + i] = 1.0;
        }
        DeviceSet {
            x: Tensor::from_data(TensorData::new(set.x.clone(), [n, set.dim]), device),
            onehot: Tensor::from_data(TensorData::new(onehot, [classes, n]), device),
            labels: set.y.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A condition's training and test sets on the device.
pub struct DeviceData {
    pub train: DeviceSet,
    pub test: DeviceSet,
    /// Training indices whose label was flipped.
    pub flipped: Vec<usize>,
    pub classes: usize,
    pub dim: usize,
    pub device: Device,
}

impl DeviceData {
    pub fn new(prepared: &Prepared, device: &Device) -> Self {
        DeviceData {
            train: DeviceSet::new(&prepared.train, prepared.classes, device),
            test: DeviceSet::new(&prepared.test, prepared.classes, device),
            flipped: prepared.flipped.clone(),
            classes: prepared.classes,
            dim: prepared.train.dim,
            device: device.clone(),
        }
    }
}

/// An index tensor on `device`.
pub fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}
