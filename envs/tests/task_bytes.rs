//! Task bytes pinned per family: the first tasks of every registered environment at every
//! difficulty, serialised as `verigym sample` writes them, hashed and compared with a stored
//! fixture. Refactors of the builtin families must leave these bytes unchanged.
//!
//! After a deliberate change of tasks, rewrite the fixture with
//! `BLESS_TASK_BYTES=1 cargo test -p verigym-envs --test task_bytes` and say why in the commit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use verigym_envs::env::{MAX_DIFFICULTY, MIN_DIFFICULTY};
use verigym_envs::{EnvOptions, Registry};

/// Tasks hashed per (environment, difficulty), and the seed they are drawn with.
const TASKS: u64 = 100;
const SEED: u64 = 2024;

/// FNV-1a, 64-bit: a stable hash with no dependency; collisions do not matter here because
/// a refactor that changes bytes changes them in many tasks at once.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/task_bytes.txt")
}

/// Configs beyond the difficulty levels whose generation paths the levels do not reach
/// alone: the reasoning-gym comparison's settings and each task kind of a family on its own.
const OVERRIDES: &[(&str, u8, &str)] = &[
    (
        "base_conversion",
        3,
        r#"{"min_bits": 1, "max_bits": 10, "hex": true}"#,
    ),
    (
        "caesar_cipher",
        10,
        r#"{"min_words": 3, "max_words": 20, "max_shift": 25, "encrypt_probability": 0.0, "crack_probability": 1.0}"#,
    ),
    ("caesar_cipher", 5, r#"{"encrypt_probability": 1.0}"#),
    (
        "caesar_cipher",
        5,
        r#"{"encrypt_probability": 0.0, "crack_probability": 0.0}"#,
    ),
    ("date_arithmetic", 3, r#"{"max_days": 100}"#),
    (
        "game_of_life",
        5,
        r#"{"min_side": 10, "max_side": 10, "steps": 1, "density": 0.1}"#,
    ),
    ("letter_counting", 7, r#"{"min_words": 5, "max_words": 15}"#),
    ("palindrome", 1, r#"{"min_letters": 3, "max_letters": 10}"#),
    (
        "sorting",
        4,
        r#"{"min_len": 3, "max_len": 10, "min_value": -100, "max_value": 100}"#,
    ),
    (
        "spell_backward",
        3,
        r#"{"min_letters": 3, "max_letters": 10}"#,
    ),
    ("word_reversal", 2, r#"{"min_words": 3, "max_words": 8}"#),
];

/// The hash of the first [`TASKS`] tasks of one environment.
fn hash_tasks(registry: &Registry, name: &str, opts: &EnvOptions) -> String {
    let env = registry.build(name, opts).unwrap();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for i in 0..TASKS {
        let task = env.generate(SEED, i).unwrap();
        fnv1a(&mut hash, serde_json::to_string(&task).unwrap().as_bytes());
        fnv1a(&mut hash, b"\n");
    }
    format!("{hash:016x}")
}

/// `name difficulty [overrides] -> hash` for every builtin environment and every override.
fn current() -> BTreeMap<String, String> {
    let registry = Registry::builtin();
    let mut out = BTreeMap::new();
    for name in registry.names() {
        for d in MIN_DIFFICULTY..=MAX_DIFFICULTY {
            let opts = EnvOptions {
                difficulty: Some(d),
                config: None,
            };
            out.insert(format!("{name} {d:02}"), hash_tasks(&registry, name, &opts));
        }
    }
    for (name, d, config) in OVERRIDES {
        let config: serde_json::Value = serde_json::from_str(config).unwrap();
        let opts = EnvOptions {
            difficulty: Some(*d),
            config: Some(config.clone()),
        };
        // The key is one token: the overrides in compact JSON.
        out.insert(
            format!("{name} {d:02} {config}"),
            hash_tasks(&registry, name, &opts),
        );
    }
    out
}

#[test]
fn tasks_match_the_stored_fixture() {
    let now = current();
    let path = fixture_path();
    if std::env::var_os("BLESS_TASK_BYTES").is_some() {
        let text: String = now.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let stored =
        std::fs::read_to_string(&path).expect("fixture missing: run with BLESS_TASK_BYTES=1");
    let stored: BTreeMap<String, String> = stored
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let changed: Vec<&String> = now
        .iter()
        .filter(|(k, v)| stored.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let gone: Vec<&String> = stored.keys().filter(|k| !now.contains_key(*k)).collect();
    assert!(
        changed.is_empty() && gone.is_empty(),
        "task bytes changed for {changed:?}; no longer registered: {gone:?}"
    );
}
