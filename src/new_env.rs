//! `verigym new-env NAME`: a starter crate for a new environment. It holds one family
//! (src/NAME.rs), a library exposing it with the registry (src/lib.rs), a binary that is
//! the verigym command line with it added (src/main.rs) and its tests (tests/conformance.rs),
//! and depends on this checkout's crates by path. It builds and passes its tests as written
//! (tests/new_env.rs checks that). The templates are under templates/new_env/.

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use verigym_envs::Registry;

#[derive(Args)]
pub struct NewEnvArgs {
    /// The environment's name: a snake_case identifier, also the crate's and its folder's.
    name: String,
    /// The folder to create the crate's folder in.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The verigym checkout the crate depends on (default: the one this program was built
    /// from).
    #[arg(long)]
    verigym_path: Option<PathBuf>,
}

const CARGO_TOML: &str = include_str!("../templates/new_env/Cargo.toml.tmpl");
const GITIGNORE: &str = include_str!("../templates/new_env/gitignore.tmpl");
const LIB_RS: &str = include_str!("../templates/new_env/lib.rs.tmpl");
const FAMILY_RS: &str = include_str!("../templates/new_env/family.rs.tmpl");
const MAIN_RS: &str = include_str!("../templates/new_env/main.rs.tmpl");
const CONFORMANCE_RS: &str = include_str!("../templates/new_env/conformance.rs.tmpl");

/// The checkout this program was built from.
const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");

/// Words a crate, module or binary may not be called: Rust's keywords, the standard
/// crates, the crates the starter depends on, and file names the crate already uses.
const RESERVED_NAMES: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "lib",
    "loop",
    "macro",
    "main",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "serde",
    "serde_json",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "verigym",
    "verigym_envs",
    "verigym_eval",
    "verigym_verifiers",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Type names the templates use: a family may not take one of them.
const RESERVED_TYPES: &[&str] = &[
    "Box",
    "Command",
    "Deserialize",
    "Domain",
    "EnvError",
    "EnvOptions",
    "Err",
    "ExitCode",
    "Family",
    "None",
    "Ok",
    "Option",
    "Problem",
    "Registry",
    "Result",
    "Serialize",
    "Some",
    "Stdio",
    "String",
    "TaskRng",
    "Value",
    "Vec",
    "Verdict",
    "VerifyError",
    "Write",
];

/// Why a name cannot be an environment's, or `None` when it can.
fn name_problem(name: &str, registry: &Registry) -> Option<String> {
    let snake = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('_').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !snake {
        return Some(format!(
            "'{name}' is not a snake_case name: lowercase letters, digits and single \
             underscores, starting with a letter (at most 64 characters)"
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Some(format!(
            "'{name}' is reserved (a Rust keyword, a standard crate or one the starter uses)"
        ));
    }
    let type_name = type_name(name);
    if RESERVED_TYPES.contains(&type_name.as_str()) {
        return Some(format!(
            "'{name}' would name its family {type_name}, which the starter's code already uses"
        ));
    }
    // `--data` adds these two to every registry.
    if registry.get(name).is_ok() || ["gsm8k_jsonl", "math_jsonl"].contains(&name) {
        return Some(format!(
            "'{name}' is already an environment (see `list`); pick another name"
        ));
    }
    None
}

/// `max_of_two` -> `MaxOfTwo`.
fn type_name(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The templates with their placeholders filled.
fn render(template: &str, name: &str, checkout: &Path) -> Result<String> {
    let path = |sub: &str| -> Result<String> {
        let p = if sub.is_empty() {
            checkout.to_path_buf()
        } else {
            checkout.join(sub)
        };
        p.to_str()
            .map(crate::cli::toml_string)
            .with_context(|| format!("{} is not UTF-8, which Cargo.toml needs", p.display()))
    };
    let text = template
        .replace("{{verigym_path}}", &path("")?)
        .replace("{{verigym_envs_path}}", &path("envs")?)
        .replace("{{verigym_verifiers_path}}", &path("verifiers")?)
        .replace("{{name}}", name)
        .replace("{{Type}}", &type_name(name));
    Ok(text)
}

/// What the crate holds: (path in the crate, template).
fn files(name: &str) -> Vec<(String, &'static str)> {
    vec![
        ("Cargo.toml".into(), CARGO_TOML),
        (".gitignore".into(), GITIGNORE),
        ("src/lib.rs".into(), LIB_RS),
        (format!("src/{name}.rs"), FAMILY_RS),
        ("src/main.rs".into(), MAIN_RS),
        ("tests/conformance.rs".into(), CONFORMANCE_RS),
    ]
}

fn usage_error(message: impl std::fmt::Display) -> Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(crate::cli::EXIT_USAGE))
}

pub fn run(args: NewEnvArgs, registry: &Registry) -> Result<ExitCode> {
    if let Some(problem) = name_problem(&args.name, registry) {
        return usage_error(problem);
    }
    let checkout = args
        .verigym_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(BUILT_FROM));
    let checkout = match checkout.canonicalize() {
        Ok(c)
            if c.join("envs/Cargo.toml").is_file() && c.join("verifiers/Cargo.toml").is_file() =>
        {
            c
        }
        _ => {
            return usage_error(format!(
                "{} is not a verigym checkout (with envs/ and verifiers/); pass \
                 --verigym-path PATH",
                checkout.display()
            ))
        }
    };
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let root = args.dir.join(&args.name);
    match std::fs::create_dir(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return usage_error(format!(
                "{} already exists; pick another name or --dir",
                root.display()
            ))
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", root.display())),
    }
    for (file, template) in files(&args.name) {
        let path = root.join(&file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, render(template, &args.name, &checkout)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // The checkout's lock file: the crate builds with the versions verigym is tested with.
    let lock = checkout.join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, root.join("Cargo.lock"))
            .with_context(|| format!("copying {}", lock.display()))?;
    }
    println!(
        "created {}: the family in src/{}.rs, its tests in tests/conformance.rs, and a binary \
         that is the verigym command line with it added",
        root.display(),
        args.name
    );
    println!(
        "next: cd {} && cargo test && cargo run -- sample --env {} --n 3",
        root.display(),
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_snake_case_unused_and_unreserved() {
        let r = Registry::builtin();
        for good in ["max_of_two", "a", "level2_sums", "x9"] {
            assert_eq!(name_problem(good, &r), None, "{good}");
        }
        for (bad, why) in [
            ("MaxOfTwo", "snake_case"),
            ("max-of-two", "snake_case"),
            ("_x", "snake_case"),
            ("x_", "snake_case"),
            ("a__b", "snake_case"),
            ("2x", "snake_case"),
            ("", "snake_case"),
            ("é", "snake_case"),
            ("match", "reserved"),
            ("verigym", "reserved"),
            ("main", "reserved"),
            ("problem", "Problem"),
            ("arithmetic", "already an environment"),
            ("gsm8k_jsonl", "already an environment"),
        ] {
            let p = name_problem(bad, &r).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(p.contains(why), "{bad}: {p}");
        }
        assert!(name_problem(&"a".repeat(65), &r).is_some());
    }

    #[test]
    fn type_names_are_camel_case() {
        assert_eq!(type_name("max_of_two"), "MaxOfTwo");
        assert_eq!(type_name("level2_sums"), "Level2Sums");
        assert_eq!(type_name("x"), "X");
    }

    #[test]
    fn every_placeholder_is_filled() {
        for (file, template) in files("my_env") {
            let text = render(template, "my_env", Path::new("/src/verigym \"co\"")).unwrap();
            assert!(!text.contains("{{"), "{file}: {text}");
            assert!(!text.contains("}}"), "{file}: {text}");
        }
        let toml = render(CARGO_TOML, "my_env", Path::new("/src/v")).unwrap();
        assert!(
            toml.contains("verigym-envs = { path = \"/src/v/envs\" }"),
            "{toml}"
        );
        assert!(toml.contains("name = \"my_env\""), "{toml}");
        assert!(toml.contains("\n[workspace]\n"), "{toml}");
    }
}
