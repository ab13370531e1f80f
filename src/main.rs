//! `verigym`: the command line on the builtin environments (see [`verigym::cli`]).

fn main() -> std::process::ExitCode {
    verigym::cli::run(verigym_envs::Registry::builtin())
}
