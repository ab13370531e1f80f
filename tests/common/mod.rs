//! Shared by the tests that run cargo themselves (tests/custom_cli.rs, tests/new_env.rs).

use std::process::Command;

/// The cargo running these tests, without the variables it sets for a test binary
/// (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, ...): build scripts that watch them (ring's)
/// would otherwise see them change and rebuild their crates on every run.
pub fn cargo() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let set_for_tests = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO_BIN_NAME",
                "CARGO_CRATE_NAME",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_LINKS",
                "CARGO_MANIFEST_PATH",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_RUSTC_CURRENT_DIR",
                "CARGO_TARGET_TMPDIR",
            ]
            .contains(&key);
        if set_for_tests {
            cmd.env_remove(key);
        }
    }
    cmd
}
