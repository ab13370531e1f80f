//! Hands model commands to `verigym-train` (the libtorch-linked binary beside this one),
//! so commands that neither train nor sample never pay libtorch's start-up cost.

use std::ffi::OsString;
use std::process::ExitCode;

pub const HELP: &str = "Model commands (run by verigym-train, which links libtorch):
  train, generate, bench sample, bench grpo, data, experiment, demo, checkpoint, doctor,
  eval --model LOCAL_CHECKPOINT
Run `verigym <command> --help` for each.";

/// Top-level commands owned by the trainer binary.
const TRAINER_COMMANDS: &[&str] = &[
    "checkpoint",
    "data",
    "demo",
    "doctor",
    "experiment",
    "generate",
    "train",
];
/// `bench` targets owned by the trainer binary.
const TRAINER_BENCHES: &[&str] = &["sample", "grpo"];

/// If argv names a trainer command, runs `verigym-train` with the same arguments and
/// returns its exit status; otherwise `None`.
pub fn forward_if_trainer_command() -> Option<ExitCode> {
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
    Some(run_trainer(&args))
}

fn run_trainer(args: &[OsString]) -> ExitCode {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("verigym-train")));
    let Some(exe) = exe.filter(|p| p.exists()) else {
        eprintln!(
            "error: this command needs verigym-train, which was not found next to verigym; \
             build it with `cargo build --release` after running scripts/setup.sh"
        );
        return ExitCode::from(crate::EXIT_USAGE);
    };
    exec(std::process::Command::new(&exe).args(args), &exe)
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
