//! The env mixture and the adaptive curriculum: tasks are drawn from the configured envs in
//! proportion to their weights, and each env's difficulty moves up when its rolling accuracy
//! is high and down when it is low (the "learnability" band used by reasoning-gym and
//! DAPO-style online filtering). All state is plain data, saved with each checkpoint; the
//! draws are a stateless hash of (seed, step, slot), so a resumed run draws the same tasks.

use super::config::{CurriculumConfig, EnvSpec};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use verigym_envs::{EnvError, EnvOptions, Environment, Registry, Task};
use verigym_verifiers::Rubric;

/// splitmix64: a well-mixed 64-bit hash, used to derive every seed of a run from
/// (run seed, step, round, slot) without carrying RNG state.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed for `parts`, mixed in order.
pub fn derive(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5EED_u64, |h, p| mix(h ^ mix(*p)))
}

/// One env of the mixture with its live state.
pub struct MixEnv {
    pub spec: EnvSpec,
    pub env: Arc<dyn Environment>,
    pub rubric: Option<Rubric>,
    pub state: EnvState,
}

/// What a checkpoint keeps per env.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvState {
    pub difficulty: u8,
    /// Tasks drawn so far (the next task's index).
    pub next_index: u64,
    /// Rolling correctness of recent completions.
    pub window: VecDeque<bool>,
}

/// A task drawn for a step, with the env slot it came from.
#[derive(Clone)]
pub struct Drawn {
    pub slot: usize,
    pub task: Arc<Task>,
}

pub struct Mixture {
    pub envs: Vec<MixEnv>,
    registry: Registry,
    curriculum: CurriculumConfig,
    seed: u64,
}

fn options(spec: &EnvSpec, difficulty: u8) -> Result<EnvOptions, EnvError> {
    let mut config = match &spec.config {
        Some(t) => {
            Some(serde_json::to_value(t).map_err(|e| EnvError::config(&spec.name, e.to_string()))?)
        }
        None => None,
    };
    // `max_turns` is the episode's config field of the same name (multi-turn envs only).
    if let Some(n) = spec.max_turns {
        let obj = config.get_or_insert_with(|| serde_json::json!({}));
        if let Some(map) = obj.as_object_mut() {
            map.insert("max_turns".into(), n.into());
        }
    }
    Ok(EnvOptions {
        difficulty: Some(difficulty),
        config,
    })
}

impl Mixture {
    pub fn new(
        registry: Registry,
        specs: &[EnvSpec],
        curriculum: CurriculumConfig,
        seed: u64,
    ) -> Result<Mixture, EnvError> {
        let mut envs = Vec::with_capacity(specs.len());
        for spec in specs {
            let env: Arc<dyn Environment> =
                Arc::from(registry.build(&spec.name, &options(spec, spec.difficulty)?)?);
            let rubric = if spec.rubric.is_empty() {
                None
            } else {
                Some(Rubric::new(spec.rubric.clone()).map_err(EnvError::from)?)
            };
            envs.push(MixEnv {
                spec: spec.clone(),
                env,
                rubric,
                state: EnvState {
                    difficulty: spec.difficulty,
                    next_index: 0,
                    window: VecDeque::new(),
                },
            });
        }
        Ok(Mixture {
            envs,
            registry,
            curriculum,
            seed,
        })
    }

    /// Draws `n` tasks for (step, round): the env by weight, the task by the env's counter.
    pub fn draw(&mut self, step: u64, round: u64, n: usize) -> Result<Vec<Drawn>, EnvError> {
        let total: f64 = self.envs.iter().map(|e| e.spec.weight).sum();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let u = (derive(&[self.seed, step, round, i as u64, 1]) >> 11) as f64
                / (1u64 << 53) as f64
                * total;
            let mut acc = 0.0;
            let mut slot = self.envs.len().saturating_sub(1);
            for (j, e) in self.envs.iter().enumerate() {
                acc += e.spec.weight;
                if u < acc {
                    slot = j;
                    break;
                }
            }
            let Some(e) = self.envs.get_mut(slot) else {
                return Err(EnvError::config("mixture", "no environments"));
            };
            let task = e.env.generate(self.seed, e.state.next_index)?;
            e.state.next_index += 1;
            out.push(Drawn {
                slot,
                task: Arc::new(task),
            });
        }
        Ok(out)
    }

    /// Records correctness for `slot` and moves its difficulty when the window is full and
    /// its accuracy is outside [lower_below, raise_above].
    pub fn record(&mut self, slot: usize, correct: &[bool]) -> Result<(), EnvError> {
        let c = self.curriculum.clone();
        let Some(e) = self.envs.get_mut(slot) else {
            return Ok(());
        };
        if !c.enabled {
            return Ok(());
        }
        for &x in correct {
            e.state.window.push_back(x);
            while e.state.window.len() > c.window {
                e.state.window.pop_front();
            }
        }
        if e.state.window.len() < c.window {
            return Ok(());
        }
        let acc = e.state.window.iter().filter(|&&x| x).count() as f64 / c.window as f64;
        let d = e.state.difficulty;
        let next = if acc > c.raise_above && d < c.max_difficulty {
            d + 1
        } else if acc < c.lower_below && d > c.min_difficulty {
            d - 1
        } else {
            d
        };
        if next != d {
            e.env = Arc::from(
                self.registry
                    .build(&e.spec.name, &options(&e.spec, next)?)?,
            );
            e.state.difficulty = next;
            e.state.window.clear();
        }
        Ok(())
    }

    pub fn states(&self) -> Vec<EnvState> {
        self.envs.iter().map(|e| e.state.clone()).collect()
    }

    /// Restores saved states (rebuilding each env at its saved difficulty).
    pub fn restore(&mut self, states: &[EnvState]) -> Result<(), EnvError> {
        if states.len() != self.envs.len() {
            return Err(EnvError::config(
                "mixture",
                format!(
                    "checkpoint has {} envs, the config {}",
                    states.len(),
                    self.envs.len()
                ),
            ));
        }
        for (e, s) in self.envs.iter_mut().zip(states) {
            if s.difficulty != e.state.difficulty {
                e.env = Arc::from(
                    self.registry
                        .build(&e.spec.name, &options(&e.spec, s.difficulty)?)?,
                );
            }
            e.state = s.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, weight: f64) -> EnvSpec {
        EnvSpec {
            name: name.into(),
            weight,
            difficulty: 2,
            config: None,
            rubric: Vec::new(),
            max_turns: None,
        }
    }

    #[test]
    fn draws_follow_weights_and_are_reproducible() {
        let specs = [spec("arithmetic", 3.0), spec("countdown", 1.0)];
        let mut a =
            Mixture::new(Registry::builtin(), &specs, CurriculumConfig::default(), 7).unwrap();
        let mut b =
            Mixture::new(Registry::builtin(), &specs, CurriculumConfig::default(), 7).unwrap();
        let da = a.draw(0, 0, 400).unwrap();
        let db = b.draw(0, 0, 400).unwrap();
        assert!(da.iter().zip(&db).all(|(x, y)| x.task == y.task));
        let arith = da.iter().filter(|d| d.slot == 0).count();
        assert!(
            (250..350).contains(&arith),
            "{arith} of 400 drawn from weight 3/4"
        );
    }

    #[test]
    fn curriculum_raises_and_lowers() {
        let cur = CurriculumConfig {
            enabled: true,
            window: 4,
            raise_above: 0.7,
            lower_below: 0.3,
            min_difficulty: 1,
            max_difficulty: 3,
        };
        let mut m = Mixture::new(Registry::builtin(), &[spec("arithmetic", 1.0)], cur, 0).unwrap();
        m.record(0, &[true, true, true]).unwrap();
        assert_eq!(m.envs[0].state.difficulty, 2, "window not full yet");
        m.record(0, &[true]).unwrap();
        assert_eq!(m.envs[0].state.difficulty, 3);
        assert_eq!(m.envs[0].env.difficulty(), 3);
        m.record(0, &[true; 4]).unwrap();
        assert_eq!(m.envs[0].state.difficulty, 3, "capped at max");
        m.record(0, &[false; 4]).unwrap();
        assert_eq!(m.envs[0].state.difficulty, 2);
        let saved = m.states();
        let mut n = Mixture::new(
            Registry::builtin(),
            &[spec("arithmetic", 1.0)],
            CurriculumConfig::default(),
            0,
        )
        .unwrap();
        n.restore(&saved).unwrap();
        assert_eq!(n.envs[0].env.difficulty(), 2);
    }
}
