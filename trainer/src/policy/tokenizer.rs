//! Tokenizers: any Hugging Face `tokenizer.json` through the `tokenizers` crate, chat
//! templates from `prompts/chat_*.txt`, and a built-in byte-level tokenizer for models trained
//! from scratch. The built-in one is itself an HF tokenizer (ByteLevel BPE without merges, as
//! GPT-2's byte alphabet), so it saves as a `tokenizer.json` that `transformers` loads as is.

use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("{path}: {msg}")]
    Load { path: String, msg: String },
    #[error("tokenizer: {0}")]
    Codec(String),
    #[error("chat template: {0}")]
    Template(String),
}

/// Special tokens of the built-in tokenizer, in id order (ids 0..=10); bytes follow at 11..=266.
pub const BUILTIN_SPECIALS: [&str; 11] = [
    "<pad>",
    "<bos>",
    "<eos>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<tool_call>",
    "</tool_call>",
    "<tool_result>",
    "</tool_result>",
];
/// The first three are control tokens (dropped from decoded text); the tags stay in the text
/// because verifiers read them.
const BUILTIN_CONTROL: usize = 3;

/// A tokenizer with the ids the sampler needs (end of sequence, padding) and a chat template.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    eos: Vec<i64>,
    bos: Option<i64>,
    pad: Option<i64>,
    special: HashSet<i64>,
    chat: Option<ChatTemplate>,
}

fn codec<E: std::fmt::Display>(e: E) -> TokenizerError {
    TokenizerError::Codec(e.to_string())
}

/// The control tokens of a trained BPE tokenizer (dropped when decoding) and the format
/// tags (kept: verifiers read them).
const BPE_CONTROL: [&str; 3] = ["<pad>", "<bos>", "<eos>"];
const BPE_TAGS: [&str; 4] = ["<think>", "</think>", "<answer>", "</answer>"];

/// A byte-level BPE tokenizer of at most `vocab` entries trained on `texts`, as
/// `tokenizer.json` text ([`Tokenizer::from_json`] loads it; transformers loads it as is).
/// For models trained from scratch on a narrow domain, where whole words become tokens.
pub fn train_bpe_json(texts: &[String], vocab: usize) -> Result<String, TokenizerError> {
    use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{AddedToken, NormalizerWrapper, PostProcessorWrapper, TokenizerBuilder};

    let alphabet = ByteLevel::alphabet().into_iter().collect();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(
            BPE_CONTROL
                .iter()
                .map(|t| AddedToken::from(*t, true))
                .collect(),
        )
        .initial_alphabet(alphabet)
        .build();
    let byte_level = ByteLevel::default().add_prefix_space(false);
    let mut tok = TokenizerBuilder::<
        BPE,
        NormalizerWrapper,
        ByteLevel,
        PostProcessorWrapper,
        ByteLevel,
    >::new()
    .with_model(BPE::default())
    .with_pre_tokenizer(Some(byte_level))
    .with_decoder(Some(byte_level))
    .build()
    .map_err(|e| TokenizerError::Codec(format!("building the BPE tokenizer: {e}")))?;
    tok.train(&mut trainer, texts.iter())
        .map_err(|e| TokenizerError::Codec(format!("training BPE: {e}")))?;
    tok.add_tokens(
        &BPE_TAGS
            .iter()
            .map(|t| AddedToken::from(*t, false))
            .collect::<Vec<_>>(),
    );
    tok.to_string(false)
        .map_err(|e| TokenizerError::Codec(format!("serialising BPE: {e}")))
}

/// GPT-2's reversible byte -> printable char map used by ByteLevel pre-tokenizers.
pub fn byte_to_char(b: u8) -> char {
    let printable = |x: u8| (33..=126).contains(&x) || (161..=172).contains(&x) || x >= 174;
    if printable(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap_or('?')
}

impl Tokenizer {
    /// Loads `tokenizer.json`. End-of-sequence/padding ids come from `tokenizer_config.json`
    /// beside it when present, else from well-known token names.
    pub fn from_file(path: &Path) -> Result<Tokenizer, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| TokenizerError::Load {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        let config = path
            .parent()
            .map(|d| d.join("tokenizer_config.json"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        Ok(Self::wrap(inner, config.as_ref()))
    }

    /// Loads `DIR/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Tokenizer, TokenizerError> {
        Self::from_file(&dir.join("tokenizer.json"))
    }

    /// Parses a `tokenizer.json` text (no `tokenizer_config.json`).
    pub fn from_json(text: &str) -> Result<Tokenizer, TokenizerError> {
        let inner: tokenizers::Tokenizer = text.parse().map_err(codec)?;
        Ok(Self::wrap(inner, None))
    }

    fn wrap(inner: tokenizers::Tokenizer, config: Option<&Value>) -> Tokenizer {
        let named = |key: &str| -> Option<i64> {
            let v = config?.get(key)?;
            let s = v
                .as_str()
                .or_else(|| v.get("content").and_then(Value::as_str))?;
            inner.token_to_id(s).map(i64::from)
        };
        let first_of = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| inner.token_to_id(n).map(i64::from))
        };
        let eos = named("eos_token").or_else(|| {
            first_of(&[
                "<eos>",
                "</s>",
                "<|endoftext|>",
                "<|end_of_text|>",
                "<|im_end|>",
                "<|eot_id|>",
            ])
        });
        let mut eos: Vec<i64> = eos.into_iter().collect();
        // Chat models end a turn with an end-of-turn token that is not `eos_token`.
        for extra in ["<|im_end|>", "<|eot_id|>"] {
            if let Some(id) = inner.token_to_id(extra).map(i64::from) {
                if !eos.contains(&id) {
                    eos.push(id);
                }
            }
        }
        let bos = named("bos_token").or_else(|| first_of(&["<bos>", "<s>", "<|begin_of_text|>"]));
        let pad = named("pad_token").or_else(|| first_of(&["<pad>", "<|endoftext|>"]));
        let special = inner
            .get_added_tokens_decoder()
            .iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| i64::from(*id))
            .collect();
        let mut tok = Tokenizer {
            inner,
            eos,
            bos,
            pad,
            special,
            chat: None,
        };
        tok.chat = ChatTemplate::detect(&tok);
        tok
    }

    /// The built-in byte-level tokenizer: 11 special tokens then the 256 bytes (vocab 267).
    pub fn builtin() -> Tokenizer {
        let mut vocab = serde_json::Map::new();
        let mut added = Vec::new();
        for (id, s) in BUILTIN_SPECIALS.iter().enumerate() {
            vocab.insert((*s).to_string(), json!(id));
            added.push(json!({
                "id": id, "content": s, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": id < BUILTIN_CONTROL,
            }));
        }
        for b in 0..=255u8 {
            vocab.insert(
                byte_to_char(b).to_string(),
                json!(BUILTIN_SPECIALS.len() + usize::from(b)),
            );
        }
        let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
            "trim_offsets": false, "use_regex": false});
        let spec = json!({
            "version": "1.0", "truncation": null, "padding": null,
            "added_tokens": added, "normalizer": null,
            "pre_tokenizer": byte_level, "post_processor": null, "decoder": byte_level,
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                "continuing_subword_prefix": null, "end_of_word_suffix": null,
                "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": []},
        });
        let inner: tokenizers::Tokenizer = match spec.to_string().parse() {
            Ok(t) => t,
            // The spec above is a constant; a failure here is a bug in this file.
            Err(e) => unreachable!("built-in tokenizer spec is invalid: {e}"),
        };
        let config = json!({"eos_token": "<eos>", "bos_token": "<bos>", "pad_token": "<pad>"});
        Self::wrap(inner, Some(&config))
    }

    /// Writes `tokenizer.json` (and a minimal `tokenizer_config.json` naming the special
    /// tokens, so `AutoTokenizer` knows eos/bos/pad) into `dir`.
    pub fn save_dir(&self, dir: &Path) -> Result<(), TokenizerError> {
        let err = |e: String| TokenizerError::Load {
            path: dir.display().to_string(),
            msg: e,
        };
        self.inner
            .save(dir.join("tokenizer.json"), true)
            .map_err(|e| err(e.to_string()))?;
        let name = |id: Option<i64>| id.and_then(|i| self.id_to_token(i));
        let mut cfg = serde_json::Map::new();
        cfg.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
        for (key, id) in [
            ("eos_token", self.eos.first().copied()),
            ("bos_token", self.bos),
            ("pad_token", self.pad),
        ] {
            if let Some(tok) = name(id) {
                cfg.insert(key.into(), json!(tok));
            }
        }
        let text =
            serde_json::to_string_pretty(&Value::Object(cfg)).map_err(|e| err(e.to_string()))?;
        std::fs::write(dir.join("tokenizer_config.json"), text).map_err(|e| err(e.to_string()))
    }

    /// Encodes like `transformers`' tokenizer call: with `add_special_tokens`, the
    /// tokenizer.json post-processor adds what it declares (e.g. Llama's BOS).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<i64>, TokenizerError> {
        let enc = self.inner.encode(text, add_special_tokens).map_err(codec)?;
        Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// Decodes ids; ids outside the vocabulary are an error, not a panic.
    pub fn decode(&self, ids: &[i64], skip_special_tokens: bool) -> Result<String, TokenizerError> {
        let ids: Vec<u32> = ids
            .iter()
            .map(|&i| u32::try_from(i).map_err(|_| codec(format!("bad token id {i}"))))
            .collect::<Result<_, _>>()?;
        self.inner.decode(&ids, skip_special_tokens).map_err(codec)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_id(&self, token: &str) -> Option<i64> {
        self.inner.token_to_id(token).map(i64::from)
    }

    pub fn id_to_token(&self, id: i64) -> Option<String> {
        self.inner.id_to_token(u32::try_from(id).ok()?)
    }

    /// Ids that end a completion (the eos token and chat end-of-turn tokens).
    pub fn eos_ids(&self) -> &[i64] {
        &self.eos
    }

    /// Replaces the end-of-sequence ids (e.g. with the model config's `eos_token_id`).
    pub fn set_eos_ids(&mut self, ids: Vec<i64>) {
        self.eos = ids;
    }

    pub fn bos_id(&self) -> Option<i64> {
        self.bos
    }

    pub fn pad_id(&self) -> Option<i64> {
        self.pad
    }

    pub fn is_special(&self, id: i64) -> bool {
        self.special.contains(&id)
    }

    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat.as_ref()
    }

    /// The prompt text for a single user turn with the generation prompt appended.
    pub fn apply_chat(&self, user: &str) -> Result<String, TokenizerError> {
        let t = self.chat.as_ref().ok_or_else(|| {
            TokenizerError::Template("no chat template matches this tokenizer".into())
        })?;
        Ok(t.render(&[("user", user)], true))
    }

    /// The wrapped `tokenizers` tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

/// A chat template from `prompts/chat_<name>.txt`: `key = value` lines, `\n` escapes newlines,
/// `{content}` is replaced by a message; `#` lines are comments.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    pub name: String,
    /// A token whose presence in the vocabulary selects this template.
    pub marker: String,
    pub bos: String,
    pub system: String,
    pub user: String,
    pub assistant: String,
    pub generation: String,
    pub default_system: String,
    /// A `tool` message (a tool's result); templates without one wrap the result in
    /// `<tool_response>` tags inside a user turn, as Qwen2.5's template does.
    pub tool: String,
}

/// Built-in templates, first match wins.
pub const CHAT_TEMPLATES: [(&str, &str); 4] = [
    // Before chatml: the R1 distills keep Qwen's vocabulary, <|im_start|> included.
    (
        "deepseek_r1",
        include_str!("../../../envs/prompts/chat_deepseek_r1.txt"),
    ),
    (
        "chatml",
        include_str!("../../../envs/prompts/chat_chatml.txt"),
    ),
    (
        "llama3",
        include_str!("../../../envs/prompts/chat_llama3.txt"),
    ),
    (
        "builtin",
        include_str!("../../../envs/prompts/chat_builtin.txt"),
    ),
];

impl ChatTemplate {
    pub fn parse(name: &str, text: &str) -> Result<ChatTemplate, TokenizerError> {
        let mut t = ChatTemplate {
            name: name.to_string(),
            marker: String::new(),
            bos: String::new(),
            system: String::new(),
            user: String::new(),
            assistant: String::new(),
            generation: String::new(),
            default_system: String::new(),
            tool: String::new(),
        };
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                TokenizerError::Template(format!("{name}: line without '=': {line}"))
            })?;
            let value = value
                .strip_prefix(' ')
                .unwrap_or(value)
                .replace("\\n", "\n");
            let slot = match key.trim() {
                "marker" => &mut t.marker,
                "bos" => &mut t.bos,
                "system" => &mut t.system,
                "user" => &mut t.user,
                "assistant" => &mut t.assistant,
                "generation" => &mut t.generation,
                "default_system" => &mut t.default_system,
                "tool" => &mut t.tool,
                other => {
                    return Err(TokenizerError::Template(format!(
                        "{name}: unknown key '{other}'"
                    )))
                }
            };
            *slot = value;
        }
        if t.user.is_empty() || t.marker.is_empty() {
            return Err(TokenizerError::Template(format!(
                "{name}: 'marker' and 'user' are required"
            )));
        }
        if t.tool.is_empty() {
            t.tool = t
                .user
                .replace("{content}", "<tool_response>\n{content}\n</tool_response>");
        }
        Ok(t)
    }

    /// The first built-in template whose marker token the tokenizer knows.
    pub fn detect(tok: &Tokenizer) -> Option<ChatTemplate> {
        CHAT_TEMPLATES
            .iter()
            .filter_map(|(n, text)| ChatTemplate::parse(n, text).ok())
            .find(|t| tok.token_id(&t.marker).is_some())
    }

    /// Renders `(role, content)` messages; a default system message is added when the template
    /// has one and the messages do not start with a system turn.
    pub fn render(&self, messages: &[(&str, &str)], add_generation_prompt: bool) -> String {
        let mut out = self.bos.clone();
        let has_system = messages.first().is_some_and(|(r, _)| *r == "system");
        if !has_system && !self.default_system.is_empty() && !self.system.is_empty() {
            out.push_str(&self.system.replace("{content}", &self.default_system));
        }
        for (role, content) in messages {
            let slot = match *role {
                "system" => &self.system,
                "assistant" => &self.assistant,
                "tool" => &self.tool,
                _ => &self.user,
            };
            out.push_str(&slot.replace("{content}", content));
        }
        if add_generation_prompt {
            out.push_str(&self.generation);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trained_bpe_makes_words_tokens_and_round_trips_any_text() {
        let texts: Vec<String> = (0..50)
            .map(|i| format!("<think>a quiet tent</think>\n<answer>Meet the tent {i}!</answer>"))
            .collect();
        let t = Tokenizer::from_json(&train_bpe_json(&texts, 300).unwrap()).unwrap();
        assert!(t.vocab_size() <= 300 + BPE_TAGS.len(), "{}", t.vocab_size());
        assert!(t.eos_ids().contains(&t.token_id("<eos>").unwrap()));
        let seen = "<think>a quiet tent</think>\n<answer>Meet the tent 7!</answer>";
        let ids = t.encode(seen, false).unwrap();
        // Each tag is one token and the frequent words are merged: far fewer tokens than bytes.
        assert!(ids.len() * 3 < seen.len(), "{} tokens", ids.len());
        assert_eq!(t.decode(&ids, false).unwrap(), seen);
        // Text the tokenizer never saw still round-trips (byte fallback of byte-level BPE).
        let unseen = "Zebra ✓ é — 42";
        let ids = t.encode(unseen, false).unwrap();
        assert_eq!(t.decode(&ids, false).unwrap(), unseen);
    }

    #[test]
    fn builtin_round_trips_bytes_and_tags() {
        let t = Tokenizer::builtin();
        assert_eq!(t.vocab_size(), 267);
        let text = "<think>2+2 é ✓\n</think><answer>4</answer>";
        let ids = t.encode(text, true).unwrap();
        assert_eq!(ids.first(), Some(&3));
        assert_eq!(ids.last(), Some(&6));
        assert_eq!(t.decode(&ids, true).unwrap(), text);
        assert_eq!(t.eos_ids(), &[2]);
        assert_eq!(t.bos_id(), Some(1));
        assert_eq!(t.pad_id(), Some(0));
        // Control tokens are dropped from text, tags are not.
        assert_eq!(t.decode(&[1, 3, 11 + 65, 2], true).unwrap(), "<think>A");
        assert!(t.decode(&[-1], true).is_err());
    }

    #[test]
    fn builtin_saves_and_reloads() {
        let dir = std::env::temp_dir().join(format!("vg-tok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = Tokenizer::builtin();
        t.save_dir(&dir).unwrap();
        let back = Tokenizer::from_dir(&dir).unwrap();
        let s = "x <tool_call>{\"a\":1}</tool_call>";
        assert_eq!(back.encode(s, true).unwrap(), t.encode(s, true).unwrap());
        assert_eq!(back.eos_ids(), t.eos_ids());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn byte_alphabet_is_a_bijection() {
        let chars: HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(chars.len(), 256);
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
    }

    #[test]
    fn chat_templates_parse_and_render() {
        for (name, text) in CHAT_TEMPLATES {
            let t = ChatTemplate::parse(name, text).unwrap();
            assert!(t.render(&[("user", "hi")], true).contains("hi"), "{name}");
        }
        let chatml = ChatTemplate::parse("chatml", CHAT_TEMPLATES[1].1).unwrap();
        assert_eq!(
            chatml.render(&[("system", "S"), ("user", "U")], true),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        );
        let b = Tokenizer::builtin();
        assert_eq!(b.chat_template().map(|t| t.name.as_str()), Some("builtin"));
        assert!(ChatTemplate::parse("x", "nonsense").is_err());
    }
}
