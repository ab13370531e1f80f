//! Your own `verigym`, a family added: `cargo run --example custom_cli -- sample --env max_of_two`
use verigym_envs::{Domain, Family, Problem, Registry, TaskRng, Verdict, VerifyError};
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MaxOfTwo {
    max: i64,
}
impl Family for MaxOfTwo {
    type Config = Self;
    const NAME: &'static str = "max_of_two";
    const DOMAIN: Domain = Domain::Math;
    const DESCRIPTION: &'static str = "Say which of two integers is larger";
    fn config_for(d: u8) -> Self {
        Self { max: 1 << (2 * d) }
    }
    fn new(config: Self) -> Result<Self, String> {
        Ok(config)
    }
    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let (a, b) = (rng.range(0, self.max), rng.range(0, self.max));
        Ok(Problem {
            question: format!("Which is larger, {a} or {b}?"),
            answer: a.max(b).into(),
            thinking: format!("{} is not smaller than {}.", a.max(b), a.min(b)),
            final_answer: a.max(b).to_string(),
        })
    }
    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        Ok(match answer.trim().parse().ok() == gold.as_i64() {
            true => Verdict::correct(answer.trim()),
            false => Verdict::wrong(Some(answer.into()), format!("expected {gold}")),
        })
    }
}
fn main() -> std::process::ExitCode {
    let mut registry = Registry::builtin();
    registry.register_family::<MaxOfTwo>().expect("a new name");
    verigym::cli::run(registry)
}
