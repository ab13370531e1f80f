//! Bakes libtorch's folder into the binaries' rpath so they run without LD_LIBRARY_PATH,
//! and keeps libtorch_cuda linked (the linker's --as-needed would drop it, since no symbol
//! is used directly, and CUDA would then never be found on a GPU machine).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // The libtorch version for `verigym doctor`: a PyPI wheel's torch/version.py, or a
    // libtorch archive's build-version file.
    let root = Path::new(&lib).join("..");
    let version = std::fs::read_to_string(root.join("version.py"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches(['\'', '"']).to_string())
        })
        .or_else(|| std::fs::read_to_string(root.join("build-version")).ok())
        .map(|v| v.trim().to_string());
    if let Some(v) = version {
        println!("cargo:rustc-env=VERIGYM_TORCH_VERSION={v}");
    }
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
