//! Episodes inside rollouts: the text an environment's reply becomes under the model's chat
//! template, and the [`Turns`] driver that runs one episode per sampled sequence (tool calls
//! pause on `</tool_call>`, as in Qwen2.5 / Hermes function calling; games answer each turn).
//!
//! The same rendering builds multi-turn SFT demonstrations ([`render_episode`]), so what the
//! model is trained on is token for token what it sees while sampling.

use super::sampler::{FinishReason, SampleError, TurnEnd, Turns};
use crate::policy::Tokenizer;
use verigym_envs::{Environment, Episode, EpisodeStats, Message, Step, Task};
use verigym_verifiers::Verdict;

/// The closing `</tool_call>` tag: a tool-using turn ends there.
pub const TOOL_CALL_END: &str = "</tool_call>";

/// How environment messages are written between model turns.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFormat {
    /// What closes an assistant turn after its content (`<|im_end|>\n`, `<eos>\n`).
    close: String,
    tool: String,
    user: String,
    /// The opening of the model's next turn.
    generation: String,
    /// The text of the first end-of-sequence token, which closes a demonstration's turns.
    eos_text: Option<String>,
}

impl TurnFormat {
    /// The format of the tokenizer's chat template; without one, plain lines with the tool
    /// result in `<tool_response>` tags.
    pub fn new(tok: &Tokenizer) -> TurnFormat {
        let eos_text = tok.eos_ids().first().and_then(|&id| tok.id_to_token(id));
        let format = match tok.chat_template() {
            Some(t) => TurnFormat {
                close: t
                    .assistant
                    .split_once("{content}")
                    .map(|(_, after)| after.to_string())
                    .unwrap_or_default(),
                tool: t.tool.clone(),
                user: t.user.clone(),
                generation: t.generation.clone(),
                eos_text: None,
            },
            None => TurnFormat::plain(),
        };
        TurnFormat { eos_text, ..format }
    }

    /// Plain lines, the tool result in `<tool_response>` tags (tokenizers without a chat
    /// template).
    pub fn plain() -> TurnFormat {
        TurnFormat {
            close: "\n".into(),
            tool: "<tool_response>\n{content}\n</tool_response>\n".into(),
            user: "{content}\n".into(),
            generation: String::new(),
            eos_text: None,
        }
    }

    /// The text after a model turn: the rest of the turn's closing that the model did not
    /// write (all of it after a tool call; what follows the stop token after a stop token),
    /// the environment's messages, and the opening of the next model turn.
    pub fn reply(&self, stop_token_text: Option<&str>, messages: &[Message]) -> String {
        let close = match stop_token_text {
            Some(t) => self.close.strip_prefix(t).unwrap_or(&self.close),
            None => &self.close,
        };
        let mut out = close.to_string();
        for m in messages {
            let slot = if m.role == "tool" {
                &self.tool
            } else {
                &self.user
            };
            out.push_str(&slot.replace("{content}", &m.content));
        }
        out.push_str(&self.generation);
        out
    }
}

/// The text of a stop token, when a turn ended with one.
fn stop_token_text(tok: &Tokenizer, ended_by: &FinishReason) -> Option<String> {
    match ended_by {
        FinishReason::StopToken(id) => tok.id_to_token(*id),
        _ => None,
    }
}

/// Whether a model turn ended by itself at a tool call (no stop token).
fn ends_with_tool_call(turn: &str) -> bool {
    turn.trim_end().ends_with(TOOL_CALL_END)
}

/// One row's running episode.
struct Running<'e> {
    episode: Box<dyn Episode + 'e>,
    pause: Option<String>,
    /// The env's own token limit of an episode.
    budget: Option<usize>,
    outcome: Option<Result<Verdict, String>>,
    messages: Vec<Message>,
}

/// What an episode of one sequence came to.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeOutcome {
    /// The verdict, or why the environment failed.
    pub verdict: Result<Verdict, String>,
    pub stats: EpisodeStats,
    /// The conversation after the prompt: assistant turns and the environment's messages.
    pub messages: Vec<Message>,
}

/// Runs an episode per multi-turn row of a `generate_turns` call; single-turn rows (`None`)
/// end at their first turn as usual.
pub struct EpisodeDriver<'e, 't> {
    rows: Vec<Option<Running<'e>>>,
    tok: &'t Tokenizer,
    format: TurnFormat,
}

impl<'e, 't> EpisodeDriver<'e, 't> {
    /// `rows[i]`: the env and task of row i when its env is multi-turn.
    pub fn new(tok: &'t Tokenizer, rows: Vec<Option<(&'e dyn Environment, Task)>>) -> Self {
        let rows = rows
            .into_iter()
            .map(|r| {
                r.map(|(env, task)| Running {
                    pause: (!env.tools().is_empty()).then(|| TOOL_CALL_END.to_string()),
                    budget: env.episode_limits().map(|l| l.max_tokens),
                    episode: verigym_envs::start_episode(env, task),
                    outcome: None,
                    messages: Vec::new(),
                })
            })
            .collect();
        EpisodeDriver {
            rows,
            tok,
            format: TurnFormat::new(tok),
        }
    }

    /// The outcome of every multi-turn row; an episode still running (the token budget ran
    /// out) is cut off with a reason.
    pub fn finish(self) -> Vec<Option<EpisodeOutcome>> {
        self.rows
            .into_iter()
            .map(|r| {
                r.map(|mut r| {
                    let verdict = match r.outcome.take() {
                        Some(v) => v,
                        None => Ok(r
                            .episode
                            .cut_off("token limit: the episode ran out of its token budget")),
                    };
                    EpisodeOutcome {
                        verdict,
                        stats: r.episode.stats(),
                        messages: r.messages,
                    }
                })
            })
            .collect()
    }
}

impl Turns for EpisodeDriver<'_, '_> {
    fn pause_on(&self, row: usize) -> Option<&str> {
        self.rows.get(row)?.as_ref()?.pause.as_deref()
    }

    fn budget(&self, row: usize) -> Option<usize> {
        self.rows.get(row)?.as_ref()?.budget
    }

    fn turn_end(
        &mut self,
        row: usize,
        turn: &str,
        ended_by: &FinishReason,
    ) -> Result<TurnEnd, SampleError> {
        let Some(Some(r)) = self.rows.get_mut(row) else {
            return Ok(TurnEnd::Done);
        };
        r.messages.push(Message::new("assistant", turn));
        match r.episode.step(turn) {
            Ok(Step::Continue { messages }) => {
                let stop = stop_token_text(self.tok, ended_by);
                let text = self.format.reply(stop.as_deref(), &messages);
                r.messages.extend(messages);
                Ok(TurnEnd::Continue(self.tok.encode(&text, false)?))
            }
            Ok(Step::Done(v)) => {
                r.outcome = Some(Ok(v));
                Ok(TurnEnd::Done)
            }
            Err(e) => {
                r.outcome = Some(Err(e.to_string()));
                Ok(TurnEnd::Done)
            }
        }
    }
}

/// A whole episode as training tokens: `(ids, loss)` pieces in order, the model's turns with
/// loss (each closed by the tokenizer's first stop token unless it ended at a tool call)
/// and the environment's replies without, exactly as the sampler produces them.
pub fn render_episode(
    tok: &Tokenizer,
    messages: &[Message],
) -> Result<Vec<(Vec<i64>, bool)>, SampleError> {
    let encode = |s: &str| tok.encode(s, false).map_err(|e| e.to_string());
    let eos = tok.eos_ids().first().copied();
    render_turns(&TurnFormat::new(tok), &encode, eos, messages).map_err(SampleError::Invalid)
}

/// [`render_episode`] with the pieces a caller already has: the turn format, an encoder and
/// the end-of-sequence id.
pub fn render_turns(
    format: &TurnFormat,
    encode: &dyn Fn(&str) -> Result<Vec<i64>, String>,
    eos: Option<i64>,
    messages: &[Message],
) -> Result<Vec<(Vec<i64>, bool)>, String> {
    let mut pieces = Vec::new();
    let mut i = 0;
    while let Some(m) = messages.get(i) {
        if m.role != "assistant" {
            return Err(format!(
                "message {i}: expected an assistant turn, got role '{}'",
                m.role
            ));
        }
        let mut ids = encode(&m.content)?;
        let by_stop_token = !ends_with_tool_call(&m.content);
        if by_stop_token {
            ids.extend(eos);
        }
        pieces.push((ids, true));
        let replies: Vec<Message> = messages
            .iter()
            .skip(i + 1)
            .take_while(|m| m.role != "assistant")
            .cloned()
            .collect();
        i += 1 + replies.len();
        if replies.is_empty() {
            break;
        }
        let stop = format.eos_text.as_deref().filter(|_| by_stop_token);
        pieces.push((encode(&format.reply(stop, &replies))?, false));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::Config;
    use crate::policy::Model;
    use crate::rollout::sampler::{Sampler, SamplingParams};
    use tch::{Device, Kind, Tensor};

    fn model(seed: i64) -> Model {
        let mut cfg = Config::llama(267, 32, 64, 2, 4, 2);
        cfg.initializer_range = 0.5;
        Model::new_seeded(&cfg, Device::Cpu, Kind::Float, seed).unwrap()
    }

    /// Ends row 0's turns with a fixed reply twice, then ends its episode; other rows are
    /// single-turn.
    struct Scripted {
        replies: Vec<Vec<i64>>,
        turns: Vec<String>,
    }

    impl Turns for Scripted {
        fn pause_on(&self, _row: usize) -> Option<&str> {
            None
        }
        fn turn_end(
            &mut self,
            row: usize,
            turn: &str,
            _ended_by: &FinishReason,
        ) -> Result<TurnEnd, SampleError> {
            if row != 0 {
                return Ok(TurnEnd::Done);
            }
            self.turns.push(turn.to_string());
            Ok(match self.replies.get(self.turns.len() - 1) {
                Some(r) => TurnEnd::Continue(r.clone()),
                None => TurnEnd::Done,
            })
        }
    }

    /// Log-softmax of a fresh full forward over `prompt + completion`, at the positions
    /// that predict each completion token: `[len(completion), V]`.
    fn fresh_logprobs(m: &Model, prompt: &[i64], completion: &[i64]) -> Tensor {
        let seq: Vec<i64> = prompt.iter().chain(completion).copied().collect();
        let ids = Tensor::from_slice(&seq).view([1, seq.len() as i64]);
        let logits = m.forward(&ids, None).unwrap().squeeze_dim(0);
        logits
            .narrow(0, prompt.len() as i64 - 1, completion.len() as i64)
            .log_softmax(-1, Kind::Float)
    }

    #[test]
    fn episodes_pause_resume_on_the_kept_cache_and_mask_exactly_the_env_tokens() {
        let tok = Tokenizer::builtin();
        let m = model(3);
        let prompts = vec![vec![3i64, 50, 60, 70], vec![9; 6], vec![8, 9, 10]];
        let seeds = [11u64, 12, 13];
        // Turns end at any of a quarter of the byte tokens, so there are several.
        let params = SamplingParams {
            max_new_tokens: 48,
            stop_token_ids: (100..166).collect(),
            ..Default::default()
        };
        let replies = vec![vec![9i64, 20, 21, 22], vec![10i64, 30]];
        for fused in [true, false] {
            let sampler = if fused {
                Sampler::new(&tok)
            } else {
                Sampler::new(&tok).without_fused_engine()
            };
            let mut script = Scripted {
                replies: replies.clone(),
                turns: Vec::new(),
            };
            let outs = sampler
                .generate_turns(&m, &prompts, &params, &seeds, &mut script)
                .unwrap();
            let c = &outs[0];
            assert_eq!(script.turns.len(), 3, "two replies, then the end");
            assert!(matches!(c.finish_reason, FinishReason::StopToken(_)));
            // The completion is turn, reply, turn, reply, turn; the mask is false exactly
            // on the replies' tokens.
            let mut want_mask = Vec::new();
            let mut at = 0;
            for (k, reply) in replies.iter().enumerate() {
                let stop = c.token_ids[at..]
                    .iter()
                    .position(|t| params.stop_token_ids.contains(t))
                    .unwrap();
                want_mask.extend(std::iter::repeat_n(true, stop + 1));
                at += stop + 1;
                assert_eq!(&c.token_ids[at..at + reply.len()], &reply[..], "reply {k}");
                want_mask.extend(std::iter::repeat_n(false, reply.len()));
                at += reply.len();
            }
            want_mask.extend(std::iter::repeat_n(true, c.token_ids.len() - at));
            assert_eq!(c.loss_mask, want_mask, "fused={fused}");
            // The cache after each resume gives what a fresh prefill of the whole transcript
            // gives: every sampled token's log-prob matches the full forward.
            let fresh = fresh_logprobs(&m, &prompts[0], &c.token_ids);
            for (t, (&id, &lp)) in c.token_ids.iter().zip(&c.logprobs).enumerate() {
                if c.loss_mask[t] {
                    let want = fresh.double_value(&[t as i64, id]);
                    assert!((want - lp as f64).abs() < 1e-4, "fused={fused} token {t}");
                } else {
                    assert_eq!(lp, 0.0);
                }
            }
            // The other rows decoded on as if alone.
            for r in 1..3 {
                let alone = sampler
                    .generate(&m, &prompts[r..=r], &params, &seeds[r..=r])
                    .unwrap();
                assert_eq!(alone[0].token_ids, outs[r].token_ids, "row {r}");
                assert!(outs[r].loss_mask.iter().all(|&b| b));
            }
        }
    }

    #[test]
    fn greedy_turns_after_a_reply_are_the_argmax_of_a_fresh_prefill() {
        let tok = Tokenizer::builtin();
        let m = model(5);
        let prompt = vec![3i64, 40, 41, 42, 43];
        let params = SamplingParams {
            max_new_tokens: 40,
            stop_token_ids: (100..166).collect(),
            ..SamplingParams::greedy(40)
        };
        let mut script = Scripted {
            replies: vec![vec![12, 13, 14, 15, 16]],
            turns: Vec::new(),
        };
        let out = Sampler::new(&tok)
            .generate_turns(
                &m,
                std::slice::from_ref(&prompt),
                &params,
                &[0],
                &mut script,
            )
            .unwrap();
        let c = &out[0];
        assert!(c.loss_mask.iter().any(|&b| !b), "the reply was fed in");
        let fresh = fresh_logprobs(&m, &prompt, &c.token_ids);
        for (t, &id) in c.token_ids.iter().enumerate() {
            if c.loss_mask[t] {
                assert_eq!(fresh.get(t as i64).argmax(-1, false).int64_value(&[]), id);
            }
        }
    }

    /// Pauses row 0 on a string, once, with a fixed reply.
    struct PauseOn {
        at: String,
        reply: Vec<i64>,
        turns: Vec<(String, FinishReason)>,
    }

    impl Turns for PauseOn {
        fn pause_on(&self, row: usize) -> Option<&str> {
            (row == 0 && self.turns.is_empty()).then_some(self.at.as_str())
        }
        fn turn_end(
            &mut self,
            _row: usize,
            turn: &str,
            ended_by: &FinishReason,
        ) -> Result<TurnEnd, SampleError> {
            self.turns.push((turn.to_string(), ended_by.clone()));
            Ok(if self.turns.len() == 1 {
                TurnEnd::Continue(self.reply.clone())
            } else {
                TurnEnd::Done
            })
        }
    }

    #[test]
    fn a_row_pauses_on_its_pause_string_and_resumes_after_the_reply() {
        let tok = Tokenizer::builtin();
        let m = model(7);
        let prompt = vec![3i64, 50, 60, 70];
        let greedy = SamplingParams::greedy(24);
        let plain = Sampler::new(&tok)
            .generate(&m, std::slice::from_ref(&prompt), &greedy, &[0])
            .unwrap();
        // The pause string: the first printable ASCII character greedy decoding writes.
        let (k, &id) = plain[0]
            .token_ids
            .iter()
            .enumerate()
            .find(|(_, &t)| (11 + 0x21..11 + 0x7f).contains(&t))
            .expect("a printable byte among 24 greedy tokens");
        let at = tok.decode(&[id], true).unwrap();
        let mut turns = PauseOn {
            at: at.clone(),
            reply: vec![11 + 0x2a, 11 + 0x2a],
            turns: Vec::new(),
        };
        let out = Sampler::new(&tok)
            .generate_turns(&m, std::slice::from_ref(&prompt), &greedy, &[0], &mut turns)
            .unwrap();
        let c = &out[0];
        // Up to the pause the tokens are the plain run's; then the reply, unmasked-out.
        assert_eq!(c.token_ids[..=k], plain[0].token_ids[..=k]);
        assert_eq!(c.token_ids[k + 1..k + 3], [11 + 0x2a, 11 + 0x2a]);
        assert_eq!(turns.turns[0].1, FinishReason::StopString(at.clone()));
        assert!(turns.turns[0].0.ends_with(&at));
        let mut want = vec![true; c.token_ids.len()];
        want[k + 1] = false;
        want[k + 2] = false;
        assert_eq!(c.loss_mask, want);
        // The second turn's text starts after the reply.
        if let Some((second, _)) = turns.turns.get(1) {
            let ids = &c.token_ids[k + 3..];
            assert_eq!(second, &tok.decode(ids, true).unwrap());
        }
    }

    #[test]
    fn the_driver_runs_a_calculator_episode_of_a_real_env() {
        let tok = Tokenizer::builtin();
        let env = verigym_envs::Registry::builtin()
            .build("tool_multiplication", &verigym_envs::EnvOptions::default())
            .unwrap();
        let task = env.generate(3, 4).unwrap();
        let turns = task.solution_turns.clone().unwrap();
        let product = task.answer["product"].as_str().unwrap().to_string();
        let mut driver = EpisodeDriver::new(&tok, vec![None, Some((env.as_ref(), task))]);
        assert_eq!(driver.pause_on(1), Some(TOOL_CALL_END));
        assert_eq!(driver.pause_on(0), None);
        let reply = driver
            .turn_end(
                1,
                &turns[0],
                &FinishReason::StopString(TOOL_CALL_END.into()),
            )
            .unwrap();
        let TurnEnd::Continue(ids) = reply else {
            panic!("a tool call gets the tool's result");
        };
        assert_eq!(
            tok.decode(&ids, false).unwrap(),
            format!("<eos>\n<tool_result>{product}</tool_result>\nassistant: ")
        );
        let end = driver
            .turn_end(1, &turns[1], &FinishReason::StopToken(2))
            .unwrap();
        assert_eq!(end, TurnEnd::Done);
        assert_eq!(
            driver
                .turn_end(0, "x", &FinishReason::StopToken(2))
                .unwrap(),
            TurnEnd::Done
        );
        let outcomes = driver.finish();
        assert!(outcomes[0].is_none());
        let o = outcomes[1].as_ref().unwrap();
        let v = o.verdict.as_ref().unwrap();
        assert!(v.correct, "{v:?}");
        assert_eq!(v.components.get("tool_use"), Some(&1.0));
        assert_eq!((o.stats.turns, o.stats.tool_calls), (2, 1));
        assert_eq!(o.messages.len(), 3);
        // The same transcript rendered for SFT is what the sampler fed.
        let pieces = render_episode(&tok, &o.messages).unwrap();
        assert_eq!(pieces[1].0, ids);
    }

    #[test]
    fn an_episode_left_running_is_cut_off_with_a_reason() {
        let tok = Tokenizer::builtin();
        let env = verigym_envs::Registry::builtin()
            .build("guess_number", &verigym_envs::EnvOptions::default())
            .unwrap();
        let task = env.generate(1, 1).unwrap();
        let driver = EpisodeDriver::new(&tok, vec![Some((env.as_ref(), task))]);
        let o = driver.finish().pop().flatten().unwrap();
        let v = o.verdict.unwrap();
        assert!(!v.correct);
        assert!(v.reason.unwrap().contains("token limit"));
    }

    #[test]
    fn a_reply_past_the_budget_ends_the_sequence_at_its_length() {
        let tok = Tokenizer::builtin();
        let m = model(3);
        let params = SamplingParams {
            max_new_tokens: 12,
            stop_token_ids: (11..267).collect(),
            ..Default::default()
        };
        let mut script = Scripted {
            replies: vec![vec![20; 30]],
            turns: Vec::new(),
        };
        let out = Sampler::new(&tok)
            .generate_turns(&m, &[vec![3, 4, 5]], &params, &[1], &mut script)
            .unwrap();
        assert_eq!(out[0].finish_reason, FinishReason::Length);
        assert_eq!(out[0].token_ids.len(), 1, "the reply was not fed");
    }

    /// Never ends a turn; row 0 may take at most 5 tokens.
    struct Budgeted;

    impl Turns for Budgeted {
        fn pause_on(&self, _row: usize) -> Option<&str> {
            None
        }
        fn budget(&self, row: usize) -> Option<usize> {
            (row == 0).then_some(5)
        }
        fn turn_end(
            &mut self,
            _row: usize,
            _turn: &str,
            _ended_by: &FinishReason,
        ) -> Result<TurnEnd, SampleError> {
            Ok(TurnEnd::Done)
        }
    }

    #[test]
    fn an_episode_token_limit_ends_its_row_only() {
        let tok = Tokenizer::builtin();
        let m = model(3);
        let params = SamplingParams {
            max_new_tokens: 12,
            ..Default::default()
        };
        let out = Sampler::new(&tok)
            .generate_turns(
                &m,
                &[vec![3, 4, 5], vec![6, 7]],
                &params,
                &[1, 2],
                &mut Budgeted,
            )
            .unwrap();
        assert_eq!(out[0].token_ids.len(), 5);
        assert_eq!(out[0].finish_reason, FinishReason::Length);
        assert_eq!(out[1].token_ids.len(), 12);
    }

    #[test]
    fn replies_render_with_the_chat_template() {
        let tok = Tokenizer::builtin();
        let f = TurnFormat::new(&tok);
        let tool = [Message::new("tool", "42")];
        // After a tool call the whole closing is the environment's; after <eos> only the
        // newline that follows it.
        assert_eq!(
            f.reply(None, &tool),
            "<eos>\n<tool_result>42</tool_result>\nassistant: "
        );
        assert_eq!(
            f.reply(Some("<eos>"), &[Message::new("user", "higher")]),
            "\nuser: higher\nassistant: "
        );
        let pieces = render_episode(
            &tok,
            &[
                Message::new("assistant", "<tool_call>{}</tool_call>"),
                Message::new("tool", "42"),
                Message::new("assistant", "<answer>42</answer>"),
            ],
        )
        .unwrap();
        let flags: Vec<bool> = pieces.iter().map(|p| p.1).collect();
        assert_eq!(flags, [true, false, true]);
        assert_eq!(
            tok.decode(&pieces[1].0, false).unwrap(),
            "<eos>\n<tool_result>42</tool_result>\nassistant: "
        );
        assert_eq!(pieces[2].0.last(), Some(&2), "a final turn ends with <eos>");
        assert!(render_episode(&tok, &[Message::new("tool", "x")]).is_err());
    }
}
