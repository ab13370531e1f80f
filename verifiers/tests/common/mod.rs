//! Helpers shared by the sandbox integration tests: one-test suites and the scan for
//! processes a pool's programs left running on the host.

use verigym_verifiers::sandbox::{TestCase, TestSuite};

/// A suite of one stdin/stdout test.
pub fn io(input: &str, output: &str) -> TestSuite {
    TestSuite {
        cases: vec![TestCase::Io {
            input: input.into(),
            output: output.into(),
        }],
        tolerance: None,
    }
}

/// Host processes whose real uid is one of this test binary's sandbox uids (each pool
/// draws its uids from a block of 64 keyed by the process id).
pub fn sandbox_processes() -> Vec<String> {
    let base = 200_000 + u64::from(std::process::id() % 4096) * 64;
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u64>().ok());
        if let Some(u) = uid.filter(|u| (base..base + 64).contains(u)) {
            found.push(format!("{:?} uid {u}", e.file_name()));
        }
    }
    found
}
