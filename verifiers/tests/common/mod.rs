//! Helpers shared by the verifier integration tests: a seeded splitmix64 generator for the
//! math tests (every random case reproduces from its seed), and for the sandbox tests
//! one-test suites and the scan for processes a pool's programs left running on the host.
#![allow(dead_code)]

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

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}
