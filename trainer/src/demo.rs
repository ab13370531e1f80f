//! `verigym demo`: the README's main job. For now: list the environments and score a few
//! reference solutions of each through the full verify path.

use anyhow::Result;
use verigym_envs::{EnvOptions, Registry};

pub struct DemoReport {
    pub envs: usize,
    pub scored: usize,
    pub perfect: usize,
}

pub fn run(device: tch::Device, per_env: u64) -> Result<DemoReport> {
    let registry = Registry::builtin();
    println!("verigym demo on {}", crate::device::describe(device));
    println!("{:14} {:>6} {:>8}", "env", "tasks", "reward");
    let mut report = DemoReport {
        envs: 0,
        scored: 0,
        perfect: 0,
    };
    for entry in registry.entries() {
        let env = entry.build(&EnvOptions::default())?;
        let mut total = 0.0;
        for i in 0..per_env {
            let task = env.generate(0, i)?;
            let solution = task.solution.clone().unwrap_or_default();
            let v = env.verify(&task, &solution)?;
            total += v.reward;
            report.scored += 1;
            report.perfect += usize::from(v.correct);
        }
        report.envs += 1;
        println!(
            "{:14} {:>6} {:>8.3}",
            entry.name,
            per_env,
            total / per_env.max(1) as f64
        );
    }
    Ok(report)
}
