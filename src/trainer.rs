//! Hands model commands to `verigym-train` (the libtorch-linked binary beside this one),
//! so commands that neither train nor sample never pay libtorch's start-up cost.
//!
//! `verigym-train` is found at `$VERIGYM_TRAIN`, else next to this program, else on `PATH`.
//! When the registry has families of its own (a program built on [`crate::cli::run`]),
//! they are handed over in `$VERIGYM_ENVS_FILE` ([`crate::handoff`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use verigym_envs::external::envs_file::ENVS_FILE_VAR;
use verigym_envs::Registry;

pub const HELP: &str = "Model commands (run by verigym-train, which links libtorch):
  train, generate, serve, bench sample, bench grpo, data, experiment, demo, checkpoint,
  rm, doctor, eval --model LOCAL_CHECKPOINT
Run `verigym <command> --help` for each.";

/// Top-level commands owned by the trainer binary.
const TRAINER_COMMANDS: &[&str] = &[
    "checkpoint",
    "data",
    "demo",
    "doctor",
    "experiment",
    "generate",
    "rm",
    "serve",
    "train",
];
/// `bench` targets owned by the trainer binary.
const TRAINER_BENCHES: &[&str] = &["sample", "grpo"];

/// The variable naming the `verigym-train` to run, before the one next to this program.
const TRAIN_VAR: &str = "VERIGYM_TRAIN";

/// If argv names a trainer command, runs `verigym-train` with the same arguments (and the
/// registry's own families in `$VERIGYM_ENVS_FILE`) and returns its exit status; otherwise
/// `None`.
pub fn forward_if_trainer_command(registry: &Registry) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let first = args.first()?.to_str()?;
    let second = args.get(1).and_then(|a| a.to_str());
    let strings: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let owned = TRAINER_COMMANDS.contains(&first)
        || (first == "bench" && second.is_some_and(|b| TRAINER_BENCHES.contains(&b)))
        // An eval of a local checkpoint samples it; endpoints, dry runs and comparisons
        // stay here.
        || verigym_eval::cli::args_are_local_eval(&strings);
    if !owned {
        return None;
    }
    Some(run_trainer(&args, registry))
}

/// `$VERIGYM_TRAIN`, else `verigym-train` next to this program, else on `PATH`.
fn find_trainer() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(TRAIN_VAR).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let name = format!("verigym-train{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&name)));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(&name));
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

fn run_trainer(args: &[OsString], registry: &Registry) -> ExitCode {
    let Some(exe) = find_trainer() else {
        eprintln!(
            "error: this command needs verigym-train, which was not found next to this \
             program, on PATH or at ${TRAIN_VAR}; build it with `cargo build --release` after \
             running scripts/setup.sh"
        );
        return ExitCode::from(crate::cli::EXIT_USAGE);
    };
    let mut cmd = std::process::Command::new(&exe);
    cmd.args(args);
    match crate::handoff::envs_file_var(registry) {
        Ok(Some(value)) => {
            cmd.env(ENVS_FILE_VAR, value);
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: handing this program's environments to verigym-train: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    exec(&mut cmd, &exe)
}

/// Replaces this process with the trainer, so the PID a user, a script or a supervisor
/// holds is the trainer's: a signal sent to `verigym train ...` reaches the training run.
#[cfg(unix)]
fn exec(cmd: &mut std::process::Command, exe: &std::path::Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    // `exec` returns only when the replacement failed.
    let e = cmd.exec();
    eprintln!("error: could not run {}: {e}", exe.display());
    ExitCode::FAILURE
}

/// Elsewhere, runs the trainer as a child and passes its exit status on.
#[cfg(not(unix))]
fn exec(cmd: &mut std::process::Command, exe: &std::path::Path) -> ExitCode {
    match cmd.status() {
        Ok(status) => match status.code() {
            Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("error: could not run {}: {e}", exe.display());
            ExitCode::FAILURE
        }
    }
}
