//! The one place a concrete Burn device is chosen, and the training plan that suits it.
//!
//! CPU backends (flex, ndarray) are always built; wgpu only with `--features wgpu`. `--backend auto`
//! (the default) picks the first discrete GPU adapter wgpu finds when the binary has wgpu, else flex,
//! and says which it picked and why.

use burn::tensor::Device;
use ddlab_sweep::DeviceBudget;
use ddlab_train::Packing;

use crate::cli::{Backend, DeviceArgs};

/// What kind of processor trains: it decides the plan (see [`plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    Cpu,
    Gpu,
}

/// A device ready to train on, with what a user should be told about it.
pub struct Chosen {
    pub device: Device,
    pub class: DeviceClass,
    /// `flex`, `wgpu (NVIDIA H200, Vulkan)`, ...
    pub label: String,
    /// The adapter's memory in bytes where it is known (NVIDIA: from nvidia-smi; wgpu does not report it).
    pub memory: Option<f64>,
    /// The adapter's largest storage-buffer binding in bytes (GPU adapters).
    pub largest_buffer: Option<f64>,
    /// Why `auto` picked this device (None when the backend was named).
    pub why: Option<String>,
}

/// The device of a backend, or why this build or machine cannot give it.
pub fn choose(backend: Backend) -> anyhow::Result<Chosen> {
    let cpu = |device: Device, name: &str, why: Option<String>| Chosen {
        device,
        class: DeviceClass::Cpu,
        label: name.to_string(),
        memory: None,
        largest_buffer: None,
        why,
    };
    match backend {
        Backend::Flex => Ok(cpu(Device::flex(), "flex", None)),
        #[allow(deprecated)] // burn-ndarray is deprecated upstream; ddlab keeps it selectable for comparison.
        Backend::Ndarray => Ok(cpu(Device::ndarray(), "ndarray", None)),
        Backend::Wgpu => gpu::named(),
        Backend::Auto => Ok(match gpu::discrete() {
            Ok(chosen) => chosen,
            Err(why) => cpu(Device::flex(), "flex", Some(why)),
        }),
    }
}

/// The training plan for a device: how runs are packed, how many workers, and the device memory a
/// pack may use.
///
/// CPU (measured on 2 cores, crates/train/src/schedule.rs): narrow runs packed, wide ones alone, one
/// worker per core. GPU: every step is launch-bound below thousands of hidden units, so runs of a
/// condition pack across widths and seeds up to the memory budget, one stream of packs (one worker).
pub fn plan(chosen: &Chosen, args: &DeviceArgs, no_pack: bool) -> (Packing, usize, Option<DeviceBudget>) {
    let packing = |p: Packing| if no_pack { Packing::Separate } else { p };
    match chosen.class {
        DeviceClass::Cpu => (packing(Packing::default()), args.jobs.unwrap_or_else(ddlab_sweep::default_jobs), None),
        DeviceClass::Gpu => {
            let bytes = gpu_budget(chosen.memory, args.device_memory_gib);
            // wgpu's portable minimum for a binding where the adapter does not say (128 MiB).
            let largest_buffer = chosen.largest_buffer.unwrap_or(128.0 * 1024.0 * 1024.0);
            let budget = DeviceBudget { bytes, largest_buffer };
            (packing(Packing::Wide { overhead_units: GPU_OVERHEAD_UNITS }), args.jobs.unwrap_or(1), Some(budget))
        }
    }
}

/// Hidden units whose arithmetic costs about one more packed network's fixed per-step cost on a GPU:
/// below it, padding a pack is cheaper than launching another. See README, "Speed", for the GPU
/// measurement this comes from.
pub const GPU_OVERHEAD_UNITS: usize = 8192;

/// Device memory a pack may use: `--device-memory` when given (capped at 80% of the adapter's memory
/// when that is known), else 80% of the adapter's memory (the rest for Burn's temporaries), else 4 GiB.
pub fn gpu_budget(adapter_memory: Option<f64>, flag_gib: Option<f64>) -> f64 {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let usable = adapter_memory.map(|m| 0.8 * m);
    match (flag_gib.map(|g| g * GIB), usable) {
        (Some(flag), Some(usable)) => flag.min(usable),
        (Some(flag), None) => flag,
        (None, Some(usable)) => usable,
        (None, None) => 4.0 * GIB,
    }
}

/// `ddlab devices`: the backends compiled in and, for wgpu, every adapter found, or why none was.
pub fn list_devices() -> anyhow::Result<()> {
    println!("backends compiled in: flex, ndarray{}", if cfg!(feature = "wgpu") { ", wgpu" } else { "" });
    gpu::list()?;
    match choose(Backend::Auto) {
        Ok(chosen) => {
            println!("--backend auto picks: {}{}", chosen.label, chosen.why.map(|w| format!(" ({w})")).unwrap_or_default())
        }
        Err(e) => println!("--backend auto fails: {e:#}"),
    }
    Ok(())
}

#[cfg(not(feature = "wgpu"))]
mod gpu {
    use super::Chosen;

    const NOT_BUILT: &str =
        "this ddlab was built without the wgpu backend: rebuild with `cargo build --release --features wgpu` (README, GPUs)";

    pub fn named() -> anyhow::Result<Chosen> {
        anyhow::bail!(NOT_BUILT)
    }

    pub fn discrete() -> Result<Chosen, String> {
        Err("this build has no GPU backend".into())
    }

    pub fn list() -> anyhow::Result<()> {
        println!("wgpu: not compiled in ({NOT_BUILT})");
        Ok(())
    }
}

#[cfg(feature = "wgpu")]
mod gpu {
    use std::path::{Path, PathBuf};

    use burn::tensor::{Device, DeviceKind};

    use super::{Chosen, DeviceClass};

    /// One adapter wgpu found, as `ddlab devices` lists it.
    pub struct Adapter {
        pub info: wgpu::AdapterInfo,
        pub max_binding: u64,
    }

    /// Every adapter on every graphics API this build has, the way cubecl asks for them (an instance
    /// without a display; `WGPU_BACKEND` and the other wgpu variables apply).
    pub fn adapters() -> Vec<Adapter> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::all(),
            ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
        });
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|a| {
                let limits = a.limits();
                Adapter { info: a.get_info(), max_binding: limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) }
            })
            .collect()
    }

    /// The discrete GPUs Burn's `DiscreteGpu(i)` counts, in its order: those of the graphics API it
    /// settles on (Vulkan where Vulkan has adapters).
    fn discrete_gpus(all: &[Adapter]) -> Vec<&Adapter> {
        let vulkan = all.iter().any(|a| a.info.backend == wgpu::Backend::Vulkan);
        all.iter()
            .filter(|a| a.info.device_type == wgpu::DeviceType::DiscreteGpu)
            .filter(|a| !vulkan || a.info.backend == wgpu::Backend::Vulkan)
            .collect()
    }

    fn label(a: &Adapter) -> String {
        format!("wgpu ({}, {})", a.info.name, a.info.backend)
    }

    /// `--backend wgpu`: wgpu's default adapter (high power preferred; `CUBECL_WGPU_DEFAULT_DEVICE`
    /// overrides), refused when wgpu finds no adapter at all.
    pub fn named() -> anyhow::Result<Chosen> {
        let all = adapters();
        let Some(best) = discrete_gpus(&all).first().copied().or(all.first()) else {
            anyhow::bail!("--backend wgpu: wgpu found no adapter. {}", why_none());
        };
        let class = if best.info.device_type == wgpu::DeviceType::Cpu { DeviceClass::Cpu } else { DeviceClass::Gpu };
        Ok(Chosen {
            device: Device::wgpu(DeviceKind::DefaultDevice),
            class,
            label: label(best),
            memory: adapter_memory(best),
            largest_buffer: Some(best.max_binding as f64),
            why: None,
        })
    }

    /// `--backend auto`'s pick when the binary has wgpu: the first discrete GPU, or why there is none.
    pub fn discrete() -> Result<Chosen, String> {
        let all = adapters();
        let gpus = discrete_gpus(&all);
        let Some(first) = gpus.first() else {
            return Err(if all.is_empty() {
                format!("wgpu found no adapter: {}", why_none())
            } else {
                let names: Vec<String> = all.iter().map(|a| format!("{} ({:?})", a.info.name, a.info.device_type)).collect();
                format!("wgpu found no discrete GPU, only {}", names.join(", "))
            });
        };
        Ok(Chosen {
            device: Device::wgpu(DeviceKind::DiscreteGpu(0)),
            class: DeviceClass::Gpu,
            label: label(first),
            memory: adapter_memory(first),
            largest_buffer: Some(first.max_binding as f64),
            why: Some("the first discrete GPU wgpu found".into()),
        })
    }

    pub fn list() -> anyhow::Result<()> {
        let all = adapters();
        if all.is_empty() {
            println!("wgpu: no adapter found. {}", why_none());
            return Ok(());
        }
        println!("wgpu adapters:");
        for (i, a) in all.iter().enumerate() {
            let memory = adapter_memory(a).map(|m| format!(", memory {:.1} GiB", m / (1u64 << 30) as f64)).unwrap_or_default();
            println!(
                "  {i}: {} | API {} | {:?} | driver {} {} | largest buffer binding {:.1} GiB{memory}",
                a.info.name,
                a.info.backend,
                a.info.device_type,
                a.info.driver,
                a.info.driver_info,
                a.max_binding as f64 / (1u64 << 30) as f64,
            );
        }
        Ok(())
    }

    /// The adapter's memory: wgpu does not report it, so on NVIDIA it is asked of `nvidia-smi` (the
    /// driver's own tool); elsewhere unknown.
    fn adapter_memory(a: &Adapter) -> Option<f64> {
        const NVIDIA: u32 = 0x10de;
        if a.info.vendor != NVIDIA {
            return None;
        }
        let out = std::process::Command::new("nvidia-smi")
            .args(["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // The row whose name matches the adapter's, else the first.
        let rows: Vec<(&str, f64)> = text
            .lines()
            .filter_map(|l| {
                let (name, mib) = l.rsplit_once(',')?;
                Some((name.trim(), mib.trim().parse::<f64>().ok()?))
            })
            .collect();
        let row = rows.iter().find(|(name, _)| a.info.name.contains(name) || name.contains(&a.info.name)).or(rows.first())?;
        Some(row.1 * 1024.0 * 1024.0)
    }

    /// Why wgpu sees no adapter here, from what is (not) installed, with what to set.
    pub fn why_none() -> String {
        let mut reasons = Vec::new();
        // SAFETY: dlopen of a library by name, closed again at once; no symbol is used.
        let loader = unsafe {
            let handle = libc::dlopen(c"libvulkan.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if !handle.is_null() {
                libc::dlclose(handle);
            }
            !handle.is_null()
        };
        if !loader {
            reasons.push(
                "the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: `apt-get install libvulkan1`, or put its folder on LD_LIBRARY_PATH)"
                    .to_string(),
            );
        }
        let icds = icd_files();
        let outside: Vec<&PathBuf> = icds.iter().filter(|p| p.starts_with(NVIDIA_CONTAINER_ICDS)).collect();
        if !icds.is_empty() && outside.len() == icds.len() && std::env::var_os("VK_DRIVER_FILES").is_none() {
            reasons.push(format!(
                "the NVIDIA driver manifest {} is in a folder the loader does not search: set VK_DRIVER_FILES={}",
                outside[0].display(),
                outside[0].display()
            ));
        } else if icds.is_empty() {
            let nvidia = Path::new("/proc/driver/nvidia/version").exists();
            reasons.push(format!(
                "no Vulkan driver manifest (ICD JSON) was found in VK_DRIVER_FILES, VK_ICD_FILENAMES or the standard folders{}",
                if nvidia {
                    "; the NVIDIA kernel driver is loaded, so point VK_DRIVER_FILES at its nvidia_icd.json (for example /usr/share/vulkan/icd.d/nvidia_icd.json or /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json)"
                } else {
                    "; install the GPU's Vulkan driver (NVIDIA: the driver ships nvidia_icd.json; CPU only: mesa-vulkan-drivers gives a software adapter)"
                }
            ));
        } else if loader {
            let names: Vec<String> = icds.iter().map(|p| p.display().to_string()).collect();
            reasons.push(format!(
                "the loader and driver manifests ({}) are present but no adapter came up: check that the manifest's library loads (VK_LOADER_DEBUG=error,warn shows why)",
                names.join(", ")
            ));
        }
        reasons.join("; ")
    }

    /// Where NVIDIA's container toolkit puts the driver's manifest; the Vulkan loader does not look there.
    const NVIDIA_CONTAINER_ICDS: &str = "/usr/local/nvidia/share/vulkan/icd.d";

    /// Vulkan ICD manifests: the variables' files, else the loader's standard folders.
    fn icd_files() -> Vec<PathBuf> {
        for var in ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"] {
            if let Some(list) = std::env::var_os(var) {
                return std::env::split_paths(&list).filter(|p| p.is_file()).collect();
            }
        }
        let folders = ["/etc/vulkan/icd.d", "/usr/share/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", NVIDIA_CONTAINER_ICDS];
        folders
            .iter()
            .filter_map(|f| std::fs::read_dir(f).ok())
            .flat_map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect()
    }
}
