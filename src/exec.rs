//! `verigym exec` and `verigym bench sandbox`: the code sandbox from the command line
//! (verigym_verifiers::sandbox; test file format as read by `TestSuite::from_json`).

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;
use verigym_verifiers::sandbox::{
    judge, Isolation, Limits, Sandbox, SandboxConfig, TestCase, TestSuite,
};

#[derive(Args)]
pub struct ExecArgs {
    /// Tests file: {"io": [{"input","output"}...]}, {"function": "name", "cases":
    /// [{"args": [...], "expected": v}...]} or {"assert": "code"}; optional "tolerance".
    #[arg(long)]
    tests: std::path::PathBuf,
    /// Wall-clock limit per test in seconds (the CPU limit is this, rounded up).
    #[arg(long, default_value_t = 4.0)]
    time_limit: f64,
    /// Memory the program may allocate, in MiB.
    #[arg(long, default_value_t = 512)]
    memory_mb: u64,
    /// Run without namespaces where the kernel refuses them: the program can then reach
    /// the network and read the host's files. Never use this for untrusted code.
    #[arg(long)]
    unsafe_no_isolation: bool,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Number of executions.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Zygotes (tests run at once); default: one per core.
    #[arg(long)]
    workers: Option<usize>,
    /// Benchmark without namespaces (see `exec --unsafe-no-isolation`).
    #[arg(long)]
    unsafe_no_isolation: bool,
}

fn sandbox(unsafe_no_isolation: bool, workers: Option<usize>) -> Result<Sandbox> {
    let mut config = SandboxConfig::default();
    if unsafe_no_isolation {
        config.isolation = Isolation::UnsafeNone;
    }
    if let Some(w) = workers {
        if w == 0 {
            bail!("--workers must be at least 1");
        }
        config.workers = w;
    }
    Ok(Sandbox::new(config)?)
}

pub fn run(args: ExecArgs) -> Result<ExitCode> {
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit <= 600.0) {
        bail!("--time-limit must be in (0, 600] seconds");
    }
    let text = std::fs::read_to_string(&args.tests)
        .with_context(|| format!("reading {}", args.tests.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", args.tests.display()))?;
    let suite = TestSuite::from_json(&value)?;
    let mut program = String::new();
    std::io::stdin()
        .read_to_string(&mut program)
        .context("reading the program from stdin")?;
    let limits = Limits {
        wall_ms: (args.time_limit * 1000.0).round() as u64,
        cpu_s: args.time_limit.ceil() as u64,
        memory_mb: args.memory_mb,
        ..Limits::default()
    };
    let sandbox = sandbox(args.unsafe_no_isolation, None)?;
    let report = judge(&sandbox, &program, &suite, &limits)?;
    let verdict = report.verdict(&program);
    let out = json!({
        "correct": verdict.correct,
        "reward": verdict.reward,
        "passed": report.passed,
        "total": report.total,
        "reason": verdict.reason,
        "results": report.results,
    });
    println!("{}", serde_json::to_string(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let sandbox = sandbox(args.unsafe_no_isolation, args.workers)?;
    sandbox.warm_up()?;
    let suite = TestSuite {
        cases: (0..args.n)
            .map(|i| TestCase::Io {
                input: format!("{i}\n"),
                output: format!("{}\n", i * 2),
            })
            .collect(),
        tolerance: None,
    };
    let program = "print(int(input()) * 2)\n";
    let start = Instant::now();
    let report = judge(&sandbox, program, &suite, &Limits::default())?;
    let secs = start.elapsed().as_secs_f64();
    if !report.all_passed() {
        bail!("benchmark program failed: {}", report.reason());
    }
    let hardening = sandbox.hardening()?;
    let out = json!({
        "executions_per_s": args.n as f64 / secs,
        "n": args.n,
        "seconds": secs,
        "workers": sandbox.workers(),
        "isolation": format!("{:?}", sandbox.isolation()),
        "cgroup": hardening.cgroup,
        "seccomp": hardening.seccomp,
        "python": sandbox.python().display().to_string(),
    });
    println!("{}", serde_json::to_string(&out)?);
    Ok(ExitCode::SUCCESS)
}
