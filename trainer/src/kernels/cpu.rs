//! Which CPU code path the fused kernels take: AVX-512, AVX2 + FMA, portable Rust, or none
//! (libtorch's own layers). Chosen once at start-up from the CPU's features, or forced
//! with `VERIGYM_CPU_PATH=avx512|avx2|portable|libtorch` (tests, benchmarks, and users who
//! want libtorch's numerics).

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that forces a path.
pub const ENV_VAR: &str = "VERIGYM_CPU_PATH";

/// A code path for the decode engine and the attention kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CpuPath {
    /// 16-lane AVX-512F tiles (x86-64 with avx512f, avx2 and fma).
    Avx512,
    /// 8-lane AVX2 + FMA tiles (x86-64 with avx2 and fma).
    Avx2,
    /// Plain Rust loops the compiler vectorises for the build target (any CPU).
    Portable,
    /// No fused kernels: every op through libtorch's layers.
    Libtorch,
}

/// A `VERIGYM_CPU_PATH` value that names no path, or one this CPU cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CpuPathError {
    #[error("{ENV_VAR}={0:?}: expected one of avx512, avx2, portable, libtorch")]
    Unknown(String),
    #[error("{ENV_VAR}={0}: this CPU lacks {1}")]
    Unsupported(CpuPath, &'static str),
}

impl CpuPath {
    /// Every path, fastest first.
    pub const ALL: [CpuPath; 4] = [
        CpuPath::Avx512,
        CpuPath::Avx2,
        CpuPath::Portable,
        CpuPath::Libtorch,
    ];

    /// The name `VERIGYM_CPU_PATH` and `verigym doctor` use.
    pub fn name(self) -> &'static str {
        match self {
            CpuPath::Avx512 => "avx512",
            CpuPath::Avx2 => "avx2",
            CpuPath::Portable => "portable",
            CpuPath::Libtorch => "libtorch",
        }
    }

    /// Parses a path name (case-insensitive).
    pub fn parse(s: &str) -> Result<CpuPath, CpuPathError> {
        CpuPath::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| CpuPathError::Unknown(s.to_string()))
    }

    /// `None` where this CPU runs the path; otherwise the features it lacks.
    pub fn missing(self) -> Option<&'static str> {
        match self {
            CpuPath::Avx512 if !has_avx512() => Some("avx512f (or avx2/fma)"),
            CpuPath::Avx2 if !has_avx2() => Some("avx2 and fma"),
            _ => None,
        }
    }

    /// Whether this CPU runs the path.
    pub fn available(self) -> bool {
        self.missing().is_none()
    }

    /// The fastest path this CPU runs.
    pub fn detect() -> CpuPath {
        CpuPath::ALL
            .into_iter()
            .find(|p| p.available())
            .unwrap_or(CpuPath::Portable)
    }

    /// `VERIGYM_CPU_PATH` if set (checked against the CPU), else `detect()`.
    pub fn from_env() -> Result<CpuPath, CpuPathError> {
        match std::env::var(ENV_VAR) {
            Ok(v) if !v.trim().is_empty() => {
                let p = CpuPath::parse(&v)?;
                match p.missing() {
                    Some(why) => Err(CpuPathError::Unsupported(p, why)),
                    None => Ok(p),
                }
            }
            _ => Ok(CpuPath::detect()),
        }
    }

    /// The process's path: `from_env()` on first use; an invalid `VERIGYM_CPU_PATH` falls
    /// back to `detect()` here (binaries call `from_env()` first and refuse it).
    pub fn active() -> CpuPath {
        static ACTIVE: OnceLock<CpuPath> = OnceLock::new();
        *ACTIVE.get_or_init(|| CpuPath::from_env().unwrap_or_else(|_| CpuPath::detect()))
    }

    /// Whether the path runs verigym's own kernels (every path but `Libtorch`).
    pub fn fused(self) -> bool {
        self != CpuPath::Libtorch
    }
}

impl fmt::Display for CpuPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx2() && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The CPU's model name and the SIMD features the kernels care about, for `doctor`.
pub fn cpu_summary() -> (String, Vec<&'static str>) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    #[allow(unused_mut)]
    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    features.push($f);
                }
            )*};
        }
        probe!("sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl");
        probe!("avx512bf16", "avx512vnni");
    }
    #[cfg(target_arch = "aarch64")]
    {
        features.push("neon");
    }
    (model, features)
}

/// What a test loop over paths prints for each: "ran" or "skipped (why)".
pub fn for_each_available(mut f: impl FnMut(CpuPath)) {
    for p in CpuPath::ALL {
        match p.missing() {
            None => {
                eprintln!("cpu path {p}: ran");
                f(p);
            }
            Some(why) => eprintln!("cpu path {p}: skipped, this CPU lacks {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_junk_is_refused() {
        for p in CpuPath::ALL {
            assert_eq!(CpuPath::parse(p.name()).unwrap(), p);
            assert_eq!(CpuPath::parse(&p.name().to_uppercase()).unwrap(), p);
        }
        let e = CpuPath::parse("sse9").unwrap_err().to_string();
        assert!(e.contains("VERIGYM_CPU_PATH") && e.contains("sse9"), "{e}");
    }

    #[test]
    fn detection_picks_an_available_path_and_portable_always_runs() {
        assert!(CpuPath::detect().available());
        assert!(CpuPath::Portable.available() && CpuPath::Libtorch.available());
        // AVX-512 implies AVX2 (the AVX-512 kernels use AVX2 helpers).
        if CpuPath::Avx512.available() {
            assert!(CpuPath::Avx2.available());
        }
    }
}
