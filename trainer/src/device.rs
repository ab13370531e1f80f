//! `--device auto|cpu|cuda`: where the model runs. `auto` picks CUDA when libtorch sees a GPU.

use serde::{Deserialize, Serialize};
use std::str::FromStr;
use tch::Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            other => Err(format!("unknown device '{other}'; use auto, cpu or cuda")),
        }
    }
}

impl DeviceChoice {
    /// Resolves to a tch device; asking for CUDA where none is visible is an error.
    pub fn resolve(self) -> Result<Device, String> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Cuda => {
                Err("--device cuda was asked for, but libtorch sees no CUDA device".into())
            }
        }
    }
}

/// A one-line description of the device for logs and reports.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i} ({} visible)", tch::Cuda::device_count()),
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        other => format!("{other:?}"),
    }
}

/// `verigym doctor`: prints the CPU, the kernels' code path, libtorch and threads.
pub fn doctor(json: bool) {
    use crate::kernels::cpu::{cpu_summary, CpuPath, ENV_VAR};
    let (model, features) = cpu_summary();
    let path = CpuPath::active();
    let forced = std::env::var(ENV_VAR).ok().filter(|v| !v.trim().is_empty());
    let paths: Vec<serde_json::Value> = CpuPath::ALL
        .iter()
        .map(|p| {
            serde_json::json!({
                "path": p.name(),
                "available": p.available(),
                "missing": p.missing(),
            })
        })
        .collect();
    let cuda = tch::Cuda::is_available();
    let report = serde_json::json!({
        "cpu": model,
        "arch": std::env::consts::ARCH,
        "features": features,
        "cpu_path": path.name(),
        "cpu_path_forced": forced,
        "cpu_paths": paths,
        "libtorch_version": torch_version(),
        "cuda_available": cuda,
        "cuda_devices": if cuda { tch::Cuda::device_count() } else { 0 },
        "cudnn_available": tch::Cuda::cudnn_is_available(),
        "torch_threads": tch::get_num_threads(),
        "torch_interop_threads": tch::get_num_interop_threads(),
        "rayon_threads": rayon::current_num_threads(),
        "logical_cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    if json {
        println!("{report}");
        return;
    }
    println!("cpu:              {model} ({})", std::env::consts::ARCH);
    println!("features:         {}", features.join(" "));
    let how = match &forced {
        Some(v) => format!("forced by {ENV_VAR}={v}"),
        None => "detected".to_string(),
    };
    println!("kernel path:      {path} ({how})");
    for p in CpuPath::ALL {
        let state = match p.missing() {
            None => "available".to_string(),
            Some(why) => format!("unavailable, lacks {why}"),
        };
        println!("  {:<10}      {state}", p.name());
    }
    println!("libtorch:         {}", torch_version());
    println!(
        "cuda:             {}",
        if cuda {
            format!("{} device(s)", tch::Cuda::device_count())
        } else {
            "none visible".to_string()
        }
    );
    println!(
        "threads:          libtorch {} (interop {}), rayon {}, logical CPUs {}",
        tch::get_num_threads(),
        tch::get_num_interop_threads(),
        rayon::current_num_threads(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// The version of the libtorch the binary was built against (build.rs reads it).
fn torch_version() -> String {
    option_env!("VERIGYM_TORCH_VERSION")
        .unwrap_or("unknown (build.rs found no version file)")
        .to_string()
}

/// Process-wide allocator settings for libtorch on CPU, called once at start-up.
///
/// glibc serves every allocation over its mmap threshold (128 KiB, growing dynamically only
/// after a free) with a fresh `mmap`, and returns the heap top to the kernel after every
/// large `free`. libtorch allocates and frees activation buffers of hundreds of KiB to MBs
/// on every op, so each forward/backward pass paid page faults for memory it had just
/// released: on two cores the demo's SFT spent 22 s of 47 s CPU time in the kernel. Serving
/// those buffers from the heap and keeping freed memory mapped removes almost all of it
/// (SFT stage 34 s -> 22 s). The cost is that RSS stays at its high-water mark.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc malloc parameters; called before any other thread
    // starts, as glibc requires for predictable effect.
    unsafe {
        // Up to 1 GiB from the heap (glibc >= 2.26 accepts thresholds past the old 32 MiB cap).
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        assert_eq!(
            "cpu".parse::<DeviceChoice>().unwrap().resolve().unwrap(),
            Device::Cpu
        );
        assert!("gpu".parse::<DeviceChoice>().is_err());
        let auto = DeviceChoice::Auto.resolve().unwrap();
        assert_eq!(auto.is_cuda(), tch::Cuda::is_available());
        if !tch::Cuda::is_available() {
            assert!(DeviceChoice::Cuda.resolve().is_err());
        }
    }

    #[test]
    fn a_tensor_computes_on_the_chosen_device() {
        let d = DeviceChoice::Auto.resolve().unwrap();
        let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(d);
        let s: f64 = (&t * &t).sum(tch::Kind::Float).double_value(&[]);
        assert_eq!(s, 14.0);
    }
}
