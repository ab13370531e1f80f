//! `verigym new-env`: the starter crate it writes builds and passes its own tests as
//! written (`cargo test --offline`, from the crates this checkout already uses), and bad
//! names or an existing folder are usage errors that write nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn verigym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-new-env-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_names_and_existing_folders_are_usage_errors() {
    let dir = temp_dir("errors");
    let d = dir.to_str().unwrap();
    for (name, says) in [
        ("MaxOfTwo", "snake_case"),
        ("max-of-two", "snake_case"),
        ("fn", "reserved"),
        ("arithmetic", "already an environment"),
    ] {
        let out = verigym(&["new-env", name, "--dir", d]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{name}: {err}");
        assert!(!dir.join(name).exists(), "{name}: wrote something");
    }
    std::fs::create_dir(dir.join("taken")).unwrap();
    let out = verigym(&["new-env", "taken", "--dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_dir(dir.join("taken")).unwrap().count(), 0);
    let out = verigym(&["new-env", "fine", "--dir", d, "--verigym-path", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a verigym checkout"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Slow the first time (it builds verigym's dependencies for the new crate, in
/// target/new-env so later runs reuse them).
#[test]
fn the_starter_crate_builds_and_passes_its_tests() {
    let dir = temp_dir("crate");
    let out = verigym(&["new-env", "dice_sums", "--dir", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.join("dice_sums");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "src/dice_sums.rs",
        "src/main.rs",
        "tests/conformance.rs",
    ] {
        assert!(root.join(file).is_file(), "no {file}");
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let test = common::cargo()
        .args(["test", "--offline"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", workspace.join("target/new-env"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&test.stdout);
    let stderr = String::from_utf8_lossy(&test.stderr);
    assert!(test.status.success(), "{stdout}\n{stderr}");
    for name in [
        "passes_the_conformance_checks",
        "a_wrong_sum_scores_zero",
        "the_binary_samples_and_scores_its_tasks",
    ] {
        assert!(
            stdout.contains(&format!("{name} ... ok")),
            "{name}: {stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
