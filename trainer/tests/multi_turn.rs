//! GRPO on a multi-turn environment defined here: every step's rollouts are episodes whose
//! environment replies are fed to the model between its turns, the verdict comes from the
//! episode, and the metrics count turns per episode.

use serde_json::json;
use verigym_envs::{
    Domain, EnvEntry, EnvError, Environment, Episode, EpisodeStats, Message, Prompt, Registry,
    Step, Task, Verdict,
};
use verigym_trainer::grpo::{train_policy, GrpoConfig, RunOptions, StageConfig};
use verigym_trainer::policy::model::Config;
use verigym_trainer::policy::{Model, Tokenizer};

/// Three turns, each answered with "again"; the reward is whether the last turn has an even
/// number of characters (about half the random policy's episodes).
struct Again;

const TURNS: usize = 3;

struct AgainEpisode {
    turns: usize,
}

impl Episode for AgainEpisode {
    fn step(&mut self, turn: &str) -> Result<Step, EnvError> {
        self.turns += 1;
        if self.turns < TURNS {
            return Ok(Step::Continue {
                messages: vec![Message::new("user", "again")],
            });
        }
        Ok(Step::Done(if turn.chars().count().is_multiple_of(2) {
            Verdict::correct(turn)
        } else {
            Verdict::wrong(Some(turn.into()), "odd length")
        }))
    }
    fn stats(&self) -> EpisodeStats {
        EpisodeStats {
            turns: self.turns,
            ..Default::default()
        }
    }
    fn cut_off(&mut self, reason: &str) -> Verdict {
        Verdict::wrong(None, reason)
    }
}

impl Environment for Again {
    fn name(&self) -> &str {
        "again"
    }
    fn domain(&self) -> Domain {
        Domain::Text
    }
    fn difficulty(&self) -> u8 {
        1
    }
    fn config(&self) -> serde_json::Value {
        json!({})
    }
    fn generate(&self, seed: u64, index: u64) -> Result<Task, EnvError> {
        Ok(Task {
            env: "again".into(),
            seed,
            index,
            difficulty: 1,
            prompt: Prompt::Text("go:".into()),
            answer: json!(null),
            solution: None,
            solution_turns: None,
            question: "go:".into(),
        })
    }
    fn verify(&self, _: &Task, _: &str) -> Result<Verdict, EnvError> {
        Ok(Verdict::wrong(None, "a multi-turn env"))
    }
    fn multi_turn(&self, _: &Task) -> Option<Box<dyn Episode + '_>> {
        Some(Box::new(AgainEpisode { turns: 0 }))
    }
    fn is_multi_turn(&self) -> bool {
        true
    }
}

#[test]
fn grpo_steps_run_episodes_and_count_their_turns() {
    let mut registry = Registry::empty();
    registry
        .register(EnvEntry::new("again", Domain::Text, "say it again", |_| {
            Ok(Box::new(Again) as Box<dyn Environment>)
        }))
        .unwrap();
    let sets: Vec<String> = [
        "steps=2",
        "seed=3",
        "rollout.tasks_per_step=4",
        "rollout.group_size=4",
        "rollout.max_new_tokens=160",
        "objective.beta=0.01",
        "learn.micro_batch_size=16",
        "log.progress=false",
        "envs.0.name=\"again\"",
        "envs.0.difficulty=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cfg = GrpoConfig::from_toml("", &sets).unwrap();
    let mut tok = Tokenizer::builtin();
    // Turns end at any of a quarter of the bytes, so a random policy takes several.
    tok.set_eos_ids((100..166).collect());
    let mut mc = Config::llama(tok.vocab_size(), 32, 64, 2, 4, 4);
    mc.max_position_embeddings = 256;
    let mut model = Model::new_seeded(&mc, tch::Device::Cpu, tch::Kind::Float, 5).unwrap();
    let out = std::env::temp_dir().join(format!("verigym-multi-turn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = RunOptions {
        out: out.clone(),
        resume: false,
        registry,
        device: tch::Device::Cpu,
        stop_after: None,
        quiet: true,
    };
    let run = train_policy(&cfg, opts, &mut model, &tok).unwrap();
    assert_eq!(run.metrics.len(), 2);
    for m in &run.metrics {
        let turns = m.turns_per_episode.expect("episodes were counted");
        assert!(turns > 1.0 && turns <= TURNS as f64, "{turns}");
        assert_eq!(m.verifier_errors, 0);
        assert!(m.rollouts == 16);
        assert!(m.kl.is_finite() && m.loss.is_finite());
    }
    // Some episodes end with an even-length turn and some not: the reward came from the
    // episodes' verdicts.
    let mean = run.metrics.iter().map(|m| m.reward_mean).sum::<f64>() / 2.0;
    assert!(mean > 0.0 && mean < 1.0, "{mean}");
    let _ = std::fs::remove_dir_all(&out);
}
