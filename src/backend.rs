//! The one place a concrete Burn device is chosen.

use burn::tensor::Device;

use crate::cli::Backend;

/// The device of a backend, or why this build cannot give it.
pub fn device(backend: Backend) -> anyhow::Result<Device> {
    match backend {
        Backend::Flex => Ok(Device::flex()),
        #[allow(deprecated)] // burn-ndarray is deprecated upstream; ddlab keeps it selectable for comparison.
        Backend::Ndarray => Ok(Device::ndarray()),
        Backend::Wgpu => wgpu_device(),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> anyhow::Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> anyhow::Result<Device> {
    anyhow::bail!("this ddlab was built without the wgpu backend: rebuild with `cargo build --release --features wgpu`")
}

pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Flex => "flex",
        Backend::Ndarray => "ndarray",
        Backend::Wgpu => "wgpu",
    }
}
