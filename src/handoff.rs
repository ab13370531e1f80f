//! Hands a registry's own families (those that are not builtin) to other processes: an envs
//! file whose entries run this program's `env-process NAME`, named in `$VERIGYM_ENVS_FILE`
//! after any files already named there. `verigym-train` and `eval`'s suites build their
//! registries with `Registry::with_envs_file`, which loads them.
//!
//! The file goes to `$XDG_CACHE_HOME/verigym/envs` (or `~/.cache/verigym/envs`, or the
//! temporary folder), named by a hash of its text: the same program and families reuse one
//! file, which is written whole and then renamed into place.

use anyhow::{bail, Context, Result};
use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use verigym_envs::external::envs_file::{envs_files_from_env, ENVS_FILE_VAR};
use verigym_envs::{EnvEntry, Registry};

/// Seconds an `env-process` request may take.
const TIMEOUT_S: u32 = 60;
/// Most `env-process` processes per family (started only as parallel callers need them).
const MAX_WORKERS: usize = 16;

/// The entries of `registry` that are not builtin, by name.
pub fn own_families(registry: &Registry) -> Vec<&EnvEntry> {
    let builtin = Registry::builtin();
    registry
        .entries()
        .iter()
        .filter(|e| builtin.get(&e.name).is_err())
        .collect()
}

/// The value `$VERIGYM_ENVS_FILE` should have for another process to see the families of
/// `registry` that are not builtin (writing their envs file), or `None` when it has none.
pub fn envs_file_var(registry: &Registry) -> Result<Option<OsString>> {
    let families = own_families(registry);
    if families.is_empty() {
        return Ok(None);
    }
    let exe = std::env::current_exe().context("finding this program's path")?;
    let cwd = std::env::current_dir().context("finding the working directory")?;
    let text = envs_file_text(&families, &exe, &cwd)?;
    let path = write_envs_file(&text)?;
    let mut paths = envs_files_from_env();
    paths.push(path);
    let value = std::env::join_paths(paths)
        .with_context(|| format!("${ENVS_FILE_VAR}: a path holds the list separator"))?;
    Ok(Some(value))
}

/// The envs file serving `families` through `exe env-process NAME --cwd CWD`.
fn envs_file_text(families: &[&EnvEntry], exe: &Path, cwd: &Path) -> Result<String> {
    let utf8 = |p: &Path| {
        p.to_str()
            .map(crate::cli::toml_string)
            .with_context(|| format!("{} is not UTF-8, which an envs file needs", p.display()))
    };
    let (exe_s, cwd_s) = (utf8(exe)?, utf8(cwd)?);
    let workers = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(MAX_WORKERS);
    let mut text = format!(
        "# Written by {}: the families it registers in-process, served over the JSON-lines\n\
         # protocol by its `env-process` command to processes that load this file.\n",
        exe.display()
    );
    for f in families {
        if f.name.contains(char::is_whitespace) || f.name.is_empty() {
            bail!("the environment name {:?} must be one word", f.name);
        }
        let name = crate::cli::toml_string(&f.name);
        // Declared here, so a process starts only for the family a command uses.
        let domain = crate::cli::toml_string(f.domain.as_str());
        let description = crate::cli::toml_string(&f.description);
        text.push_str(&format!(
            "\n[[env]]\nname = {name}\n\
             command = [{exe_s}, \"env-process\", {name}, \"--cwd\", {cwd_s}]\n\
             workers = {workers}\ntimeout_s = {TIMEOUT_S}\n\
             domain = {domain}\ndescription = {description}\n"
        ));
    }
    Ok(text)
}

/// The per-user folder for the files.
fn folder() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        });
    match cache {
        Some(c) => c.join("verigym").join("envs"),
        None => std::env::temp_dir().join("verigym-envs"),
    }
}

/// Writes `text` to a file named by its hash and returns the file's path.
fn write_envs_file(text: &str) -> Result<PathBuf> {
    let dir = folder();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let path = dir.join(format!("families-{:016x}.toml", hasher.finish()));
    let partial = dir.join(format!(
        "families-{:016x}.{}.partial",
        hasher.finish(),
        std::process::id()
    ));
    std::fs::write(&partial, text).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verigym_envs::Domain;

    fn entry(name: &str) -> EnvEntry {
        EnvEntry::new(name, Domain::Math, "", |_| {
            Err(verigym_envs::EnvError::Duplicate("never built".into()))
        })
    }

    #[test]
    fn only_families_that_are_not_builtin_are_handed_over() {
        let mut registry = Registry::builtin();
        assert!(own_families(&registry).is_empty());
        registry.register(entry("zz_mine")).unwrap();
        registry.register(entry("aa_mine")).unwrap();
        let names: Vec<&str> = own_families(&registry)
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["aa_mine", "zz_mine"]);
    }

    #[test]
    fn the_envs_file_runs_env_process_for_each_family() {
        let (a, b) = (entry("aa_mine"), entry("zz \"odd\""));
        let text = envs_file_text(&[&a], Path::new("/bin/my app"), Path::new("/w")).unwrap();
        assert!(
            text.contains(
                "name = \"aa_mine\"\ncommand = [\"/bin/my app\", \"env-process\", \"aa_mine\", \
                 \"--cwd\", \"/w\"]\n"
            ),
            "{text}"
        );
        assert!(text.contains("timeout_s = 60\ndomain = \""), "{text}");
        let err = envs_file_text(&[&b], Path::new("/x"), Path::new("/w")).unwrap_err();
        assert!(err.to_string().contains("one word"), "{err}");
    }
}
