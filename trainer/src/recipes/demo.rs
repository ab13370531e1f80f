//! `verigym demo`: the README's main job. From nothing: the built-in character tokenizer and
//! a small Llama-style model, SFT on demonstrations generated from the environments (written
//! by a demonstrator profile; by default one that is right about 60% of the time), a held-out
//! greedy evaluation, GRPO with the verifiers as reward, the evaluation again, and a run
//! folder with the before/after table, plots, `report.md` and `summary.json`. The shape of
//! nanochat's speedrun (base → SFT → RL → report card).

use crate::data::{self, DemoSpec, Profile, Template};
use crate::eval::{self, EvalReport};
use crate::grpo::StepMetrics;
use crate::lm::sft::SftConfig;
use crate::policy::checkpoint;
use crate::policy::tokenizer::Tokenizer;
use crate::recipes::common::{self, validate_counts, ModelSize, Policy, RecipeConfig, RlConfig};
use crate::recipes::error::{Context, RecipeError, Result};
use crate::util::config::ConfigError;
use crate::util::json::{write_json, write_jsonl};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::Device;

/// Everything the demo does, with defaults sized for two CPU cores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoConfig {
    pub envs: Vec<String>,
    pub difficulty: u8,
    /// Config overrides per env.
    pub env_config: serde_json::Map<String, serde_json::Value>,
    pub train_per_env: u64,
    pub val_per_env: u64,
    pub eval_per_env: u64,
    /// Who writes the demonstrations (`{"name": "reference"}`, or a flawed demonstrator).
    pub profile: Profile,
    pub size: ModelSize,
    pub sft: SftConfig,
    pub rl: RlConfig,
    /// Smallest new-token budget; the run raises it to fit the longest demonstration.
    pub max_new_tokens: usize,
    pub seed: u64,
    /// Seeds of the validation demonstrations and of the held-out evaluation tasks.
    pub val_seed: u64,
    pub eval_seed: u64,
}

impl DemoConfig {
    /// The full demo (under 10 minutes on two cores) or the one-minute CI version.
    pub fn new(quick: bool) -> DemoConfig {
        let mut env_config = serde_json::Map::new();
        env_config.insert(
            "arithmetic".into(),
            serde_json::json!({"ops": ["add", "sub"], "min_digits": 1, "max_digits": 2}),
        );
        let envs = vec!["arithmetic".into(), "chained_sums".into(), "gcd_lcm".into()];
        if quick {
            DemoConfig {
                envs,
                difficulty: 1,
                env_config,
                train_per_env: 300,
                val_per_env: 20,
                eval_per_env: 20,
                profile: Profile::Reference,
                size: ModelSize::TINY,
                sft: SftConfig {
                    seq_len: 256,
                    batch_size: 16,
                    max_steps: 150,
                    lr: 4e-3,
                    warmup_steps: 10,
                    eval_every: 50,
                    ..Default::default()
                },
                rl: RlConfig {
                    steps: 4,
                    tasks_per_step: 6,
                    group: 4,
                    max_new_tokens: 100,
                    ..Default::default()
                },
                max_new_tokens: 100,
                seed: 0,
                val_seed: 9_999,
                eval_seed: 424_242,
            }
        } else {
            let mut env_config = serde_json::Map::new();
            env_config.insert(
                "arithmetic".into(),
                serde_json::json!({"ops": ["add"], "min_digits": 3, "max_digits": 3}),
            );
            DemoConfig {
                envs: vec!["arithmetic".into()],
                difficulty: 1,
                env_config,
                // One pass over distinct problems, written by a demonstrator that is right about
                // 60% of the time (it usually drops the carry out of the leading column), as
                // imitation data usually is imperfect: SFT learns its habit, GRPO with the
                // verifier learns the sum (README).
                train_per_env: 24_000,
                val_per_env: 64,
                eval_per_env: 200,
                profile: Profile::DropsFinalCarry { flaw_rate: 0.6 },
                // Many small steps on a shallow model: on two cores this learns digit work
                // that a deeper model given fewer, larger steps does not (README).
                size: ModelSize::SHALLOW,
                sft: SftConfig {
                    seq_len: 256,
                    batch_size: 16,
                    max_steps: 1500,
                    lr: 3e-3,
                    warmup_steps: 50,
                    eval_every: 250,
                    patience: 0,
                    ..Default::default()
                },
                // lr 3e-4 over 100 steps reached 0.945 or 0.80 depending on the CPU's kernels
                // (the trajectory is chaotic at that rate), and 8 tasks x 16 collapsed; half
                // the rate over 140 steps climbs steadily on every path (README).
                rl: RlConfig {
                    steps: 140,
                    tasks_per_step: 16,
                    group: 8,
                    temperature: 0.7,
                    lr: 1.5e-4,
                    warmup_steps: 10,
                    max_new_tokens: 120,
                    ..Default::default()
                },
                max_new_tokens: 120,
                seed: 0,
                val_seed: 9_999,
                eval_seed: 424_242,
            }
        }
    }

    /// These defaults with a JSON object of overrides merged in, key by key and recursively
    /// (`{"sft": {"max_steps": 800}, "size": {"layers": 2}}`). Unknown keys are errors that
    /// name their path; `env_config` is taken as given (each env checks its own fields).
    pub fn with_overrides(&self, overrides: &serde_json::Value) -> Result<DemoConfig> {
        common::with_overrides(self, overrides, "demo config")
    }

    /// Range checks of every knob, each error naming it.
    fn check(&self) -> Result<(), ConfigError> {
        RecipeConfig::validate(self)
    }

    fn spec(&self, n: u64, seed: u64) -> DemoSpec {
        DemoSpec {
            envs: self.envs.clone(),
            n,
            seed,
            difficulty: Some(self.difficulty),
            config: self.env_config.clone(),
            template: Template::Compact,
            profile: self.profile,
        }
    }
}

impl RecipeConfig for DemoConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.envs.is_empty() {
            return Err(ConfigError::Invalid("envs: name at least one env".into()));
        }
        validate_counts(&[
            ("difficulty", u64::from(self.difficulty), 1, 10),
            ("train_per_env", self.train_per_env, 1, 10_000_000),
            ("val_per_env", self.val_per_env, 0, 1_000_000),
            ("eval_per_env", self.eval_per_env, 1, 1_000_000),
            ("max_new_tokens", self.max_new_tokens as u64, 1, 1 << 20),
        ])?;
        self.profile.validate()?;
        self.size.validate("size")?;
        self.sft.validate("sft")?;
        self.rl.validate("rl")
    }
}

/// One environment's row of the before/after table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvRow {
    pub env: String,
    pub sft_accuracy: f64,
    pub grpo_accuracy: f64,
    pub sft_reward: f64,
    pub grpo_reward: f64,
    pub sft_length: f64,
    pub grpo_length: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    /// Held-out accuracy after SFT, mean over environments.
    pub sft_accuracy: f64,
    /// Held-out accuracy after GRPO, mean over environments.
    pub grpo_accuracy: f64,
    pub sft_reward: f64,
    pub grpo_reward: f64,
    pub per_env: Vec<EnvRow>,
    pub parameters: usize,
    pub eval_tasks_per_env: u64,
    pub seconds: Seconds,
    pub device: String,
    pub config: DemoConfig,
}

/// Wall time of each stage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Seconds {
    pub data: f64,
    pub sft: f64,
    pub eval_sft: f64,
    pub grpo: f64,
    pub eval_grpo: f64,
    pub total: f64,
}

/// Runs the demo into `out` and returns its summary.
pub fn run(device: Device, cfg: &DemoConfig, out: &Path, progress: bool) -> Result<DemoSummary> {
    let start = std::time::Instant::now();
    cfg.check()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut secs = Seconds::default();
    let say = |m: String| {
        if progress {
            eprintln!("{m}");
        }
    };
    say(format!(
        "verigym demo on {} -> {}",
        crate::device::describe(device),
        out.display()
    ));

    // 1. Data: demonstrations from the reference solutions, held-out tasks from another seed.
    let t = std::time::Instant::now();
    let envs = data::build_envs(&cfg.spec(0, 0))?;
    let tasks = eval::tasks(&envs, cfg.eval_per_env, cfg.eval_seed)?;
    // Held out means unseen: demonstrations of an evaluation question are left out.
    let held_out: std::collections::HashSet<String> =
        tasks.iter().map(|t| Template::Compact.prompt(t)).collect();
    let train: Vec<_> = data::demonstrations(&cfg.spec(cfg.train_per_env, cfg.seed))?
        .into_iter()
        .filter(|d| !held_out.contains(&d.prompt))
        .collect();
    let val = data::demonstrations(&cfg.spec(cfg.val_per_env, cfg.val_seed))?;
    data::write_jsonl(&out.join("sft_train.jsonl"), &train)?;
    secs.data = t.elapsed().as_secs_f64();

    // 2. Tokenizer and model.
    let mut policy = Policy::new(Tokenizer::builtin(), cfg.size, device, cfg.seed)?;
    say(format!(
        "model: {} parameters, {} layers, hidden {}; {} demonstrations over {}",
        policy.num_params(),
        cfg.size.layers,
        cfg.size.hidden,
        train.len(),
        cfg.envs.join(", ")
    ));

    let budget = policy.completion_budget(&train, cfg.max_new_tokens)?;
    say(format!("completion budget: {budget} new tokens"));

    // 3. SFT.
    let t = std::time::Instant::now();
    let mut sft_cfg = cfg.sft.clone();
    sft_cfg.progress = progress;
    // Kept in the run folder: a rerun into it with the same data, model and SFT settings
    // (another GRPO config, say) resumes after SFT.
    let key = serde_json::json!({"seed": cfg.seed, "envs": &cfg.envs, "profile": &cfg.profile});
    let sft_report = policy.sft_resumable(&train, &val, &sft_cfg, out, key)?;
    secs.sft = t.elapsed().as_secs_f64();
    say(format!(
        "sft: {} steps, best validation loss {:.3} ({:.0}s)",
        sft_report.steps,
        sft_report.best_val_loss.unwrap_or(f64::NAN),
        secs.sft
    ));

    // 4. Evaluate, GRPO, evaluate again.
    let t = std::time::Instant::now();
    let before = policy.evaluate(
        &envs,
        &tasks,
        Template::Compact,
        budget,
        64,
        "eval",
        progress,
    )?;
    secs.eval_sft = t.elapsed().as_secs_f64();
    say(format!("after SFT: accuracy {:.3}", before.mean_accuracy()));
    let t = std::time::Instant::now();
    let mut rl_cfg = cfg.rl.clone();
    rl_cfg.progress = progress;
    rl_cfg.max_new_tokens = rl_cfg.max_new_tokens.max(budget);
    let history = common::grpo(&mut policy, &cfg.spec(0, 0), &rl_cfg, &out.join("grpo"))?.metrics;
    secs.grpo = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let after = policy.evaluate(
        &envs,
        &tasks,
        Template::Compact,
        budget,
        64,
        "eval",
        progress,
    )?;
    secs.eval_grpo = t.elapsed().as_secs_f64();
    secs.total = start.elapsed().as_secs_f64();

    // 5. The run folder.
    let summary = summarise(cfg, &before, &after, &policy, secs, device);
    write_json(&out.join("summary.json"), &summary)?;
    write_json(&out.join("sft_report.json"), &sft_report)?;
    write_json(&out.join("eval_sft.json"), &before)?;
    write_json(&out.join("eval_grpo.json"), &after)?;
    write_jsonl(&out.join("grpo_metrics.jsonl"), &history)?;
    plots(out, &sft_report, &history)?;
    let model_dir = out.join("model");
    checkpoint::save(&policy.model, &policy.tokenizer, &model_dir)
        .and_then(|()| checkpoint::write_prompt_template(&model_dir, Template::Compact.pattern()))
        .map_err(|e| RecipeError::Msg(format!("saving the model: {e}")))?;
    let table = table(&summary);
    std::fs::write(out.join("report.md"), report_md(&summary, &table, &after))?;
    println!("{table}");
    Ok(summary)
}

fn summarise(
    cfg: &DemoConfig,
    before: &EvalReport,
    after: &EvalReport,
    policy: &Policy,
    seconds: Seconds,
    device: Device,
) -> DemoSummary {
    let per_env = before
        .per_env
        .iter()
        .zip(&after.per_env)
        .map(|(b, a)| EnvRow {
            env: b.env.clone(),
            sft_accuracy: b.accuracy,
            grpo_accuracy: a.accuracy,
            sft_reward: b.mean_reward,
            grpo_reward: a.mean_reward,
            sft_length: b.mean_length,
            grpo_length: a.mean_length,
        })
        .collect();
    DemoSummary {
        sft_accuracy: before.mean_accuracy(),
        grpo_accuracy: after.mean_accuracy(),
        sft_reward: before.mean_reward(),
        grpo_reward: after.mean_reward(),
        per_env,
        parameters: policy.num_params(),
        eval_tasks_per_env: cfg.eval_per_env,
        seconds,
        device: crate::device::describe(device),
        config: cfg.clone(),
    }
}

/// The before/after table in markdown.
pub fn table(s: &DemoSummary) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| env | accuracy SFT | accuracy GRPO | reward SFT | reward GRPO | length SFT | length GRPO |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for r in &s.per_env {
        let _ = writeln!(
            t,
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |",
            r.env,
            r.sft_accuracy,
            r.grpo_accuracy,
            r.sft_reward,
            r.grpo_reward,
            r.sft_length,
            r.grpo_length
        );
    }
    let _ = writeln!(
        t,
        "| **mean** | **{:.3}** | **{:.3}** | {:.3} | {:.3} | | |",
        s.sft_accuracy, s.grpo_accuracy, s.sft_reward, s.grpo_reward
    );
    t
}

fn report_md(s: &DemoSummary, table: &str, after: &EvalReport) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# verigym demo\n");
    let _ = writeln!(
        r,
        "A {}-parameter Llama-style model trained from scratch on {} with the built-in \
         character tokenizer: SFT on demonstrations written by {}, then GRPO with the \
         verifiers as reward. Held-out tasks (seed {}, {} per env, never in the \
         demonstrations), greedy decoding; length in tokens.\n",
        s.parameters,
        s.device,
        match s.config.profile {
            Profile::Reference => "the reference solutions".to_string(),
            Profile::Direct => "the reference answers without reasoning".to_string(),
            Profile::DropsFinalCarry { flaw_rate } => format!(
                "a demonstrator that drops the carry out of the leading column in {:.0}% of its \
                 additions",
                flaw_rate * 100.0
            ),
        },
        s.config.eval_seed,
        s.eval_tasks_per_env
    );
    r.push_str(table);
    let _ = writeln!(
        r,
        "\nStage times (s): data {:.1}, SFT {:.1}, eval {:.1}, GRPO {:.1}, eval {:.1}; total {:.1}.\n",
        s.seconds.data,
        s.seconds.sft,
        s.seconds.eval_sft,
        s.seconds.grpo,
        s.seconds.eval_grpo,
        s.seconds.total
    );
    let _ = writeln!(
        r,
        "![SFT loss](sft_loss.png)\n\n![GRPO reward](grpo_reward.png)\n"
    );
    let _ = writeln!(r, "## Samples after GRPO\n");
    for env in &s.per_env {
        if let Some(rec) = after.records.iter().find(|x| x.env == env.env) {
            let _ = writeln!(
                r,
                "**{}** ({}): {}\n\n```\n{}\n```\n",
                rec.env,
                if rec.correct { "correct" } else { "wrong" },
                rec.question,
                rec.completion
            );
        }
    }
    r
}

fn plots(out: &Path, sft: &crate::lm::sft::SftReport, rl: &[StepMetrics]) -> Result<()> {
    use crate::util::plot::{chart, Series};
    let loss: Vec<(f64, f64)> = sft.train_loss.iter().map(|&(s, l)| (s as f64, l)).collect();
    chart(
        &out.join("sft_loss.png"),
        "SFT: training loss",
        "step",
        "loss (nats/token)",
        &[Series::noisy("training loss", &loss)],
    )
    .map_err(RecipeError::Msg)?;
    let reward: Vec<(f64, f64)> = rl
        .iter()
        .map(|s| ((s.step + 1) as f64, s.reward_mean))
        .collect();
    chart(
        &out.join("grpo_reward.png"),
        "GRPO: mean reward per step",
        "step",
        "reward",
        &[Series::noisy("mean reward", &reward)],
    )
    .map_err(RecipeError::Msg)?;
    Ok(())
}
