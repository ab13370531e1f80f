//! Pretraining on plain text: next-token loss on every token, documents packed back to back
//! (separated by EOS) into fixed-length windows, streamed from disk in bounded chunks so a
//! corpus never has to fit in memory. Follows nanoGPT / nanochat's `base_train` (contiguous
//! token windows, AdamW, warmup then cosine decay).

use super::sft::{masked_nll, CausalLm, Encode, Row, SftConfig, SftError, SftReport};
use super::train::{run_loop, Hooks, NoHooks};
use std::io::Read;
use std::path::PathBuf;
use tch::nn;
use tch::Tensor;

/// Bytes read from a file at a time; a chunk is cut at its last whitespace so words are
/// tokenised whole.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Token windows of `seq_len + 1` ids streamed from text files, cycling through the files
/// for as many epochs as asked.
pub struct TokenStream<'a> {
    files: Vec<PathBuf>,
    encode: Encode<'a>,
    eos: i64,
    window: usize,
    file: usize,
    reader: Option<std::io::BufReader<std::fs::File>>,
    carry_bytes: Vec<u8>,
    buffer: std::collections::VecDeque<i64>,
    epochs_left: usize,
    /// A line break ends a document (EOS) as well as the end of a file.
    per_line: bool,
    /// Complete passes over the files made so far.
    pub epochs_done: usize,
}

impl<'a> TokenStream<'a> {
    /// A stream over `files` for `epochs` passes (0: endless) in windows of `seq_len + 1`.
    pub fn new(
        files: Vec<PathBuf>,
        encode: Encode<'a>,
        eos: i64,
        seq_len: usize,
        epochs: usize,
    ) -> Result<Self, SftError> {
        if files.is_empty() {
            return Err(SftError::Config("no text files to pretrain on".into()));
        }
        for f in &files {
            if !f.is_file() {
                return Err(SftError::Config(format!("{} is not a file", f.display())));
            }
        }
        Ok(TokenStream {
            files,
            encode,
            eos,
            window: seq_len + 1,
            file: 0,
            reader: None,
            carry_bytes: Vec::new(),
            buffer: Default::default(),
            epochs_left: if epochs == 0 { usize::MAX } else { epochs },
            per_line: false,
            epochs_done: 0,
        })
    }

    /// Reads and tokenises the next chunk; false when every epoch is done.
    fn refill(&mut self) -> Result<bool, SftError> {
        loop {
            if self.epochs_left == 0 {
                return Ok(false);
            }
            let reader = match &mut self.reader {
                Some(r) => r,
                None => {
                    let path = self.files.get(self.file).cloned().unwrap_or_default();
                    self.reader = Some(std::io::BufReader::new(std::fs::File::open(path)?));
                    self.reader
                        .as_mut()
                        .ok_or_else(|| SftError::Config("reader".into()))?
                }
            };
            let mut chunk = std::mem::take(&mut self.carry_bytes);
            let start = chunk.len();
            chunk.resize(start + CHUNK_BYTES, 0);
            let n = reader.read(&mut chunk[start..])?;
            chunk.truncate(start + n);
            if n == 0 {
                // End of file: flush what is left, close the document with EOS.
                self.reader = None;
                let text = String::from_utf8_lossy(&chunk).into_owned();
                self.push_text(&text)?;
                self.push_eos();
                self.file += 1;
                if self.file == self.files.len() {
                    self.file = 0;
                    self.epochs_left -= 1;
                    self.epochs_done += 1;
                }
                return Ok(true);
            }
            // Keep the tail after the last whitespace (and any split UTF-8) for next time.
            let cut = chunk
                .iter()
                .rposition(|b| b.is_ascii_whitespace())
                .map_or(0, |p| p + 1);
            let cut = if cut == 0 && chunk.len() > CHUNK_BYTES {
                chunk.len()
            } else {
                cut
            };
            self.carry_bytes = chunk.split_off(cut);
            if !chunk.is_empty() {
                let text = String::from_utf8_lossy(&chunk).into_owned();
                self.push_text(&text)?;
                return Ok(true);
            }
        }
    }

    /// Makes every line its own document (one document per line), not only every file.
    pub fn documents_per_line(mut self, yes: bool) -> Self {
        self.per_line = yes;
        self
    }

    fn push_text(&mut self, text: &str) -> Result<(), SftError> {
        if !self.per_line {
            return self.push_piece(text);
        }
        let mut pieces = text.split('\n').peekable();
        while let Some(piece) = pieces.next() {
            self.push_piece(piece.trim_end_matches('\r'))?;
            if pieces.peek().is_some() {
                self.push_eos();
            }
        }
        Ok(())
    }

    fn push_piece(&mut self, text: &str) -> Result<(), SftError> {
        if !text.is_empty() {
            self.buffer
                .extend((self.encode)(text).map_err(SftError::Tokenize)?);
        }
        Ok(())
    }

    /// One EOS between documents (a blank line or a file ending in a line break adds none).
    fn push_eos(&mut self) {
        if self.buffer.back() != Some(&self.eos) {
            self.buffer.push_back(self.eos);
        }
    }

    /// The next window of `seq_len + 1` tokens (consecutive windows overlap by one token,
    /// so every token is a target once); `None` at the end of the last epoch.
    pub fn next_window(&mut self) -> Result<Option<Vec<i64>>, SftError> {
        while self.buffer.len() < self.window {
            if !self.refill()? {
                return Ok(None);
            }
        }
        let w: Vec<i64> = self.buffer.iter().take(self.window).copied().collect();
        self.buffer.drain(..self.window - 1);
        Ok(Some(w))
    }
}

/// Pretrains `model` on the text files for `cfg.max_steps` steps (cycling through the files),
/// validating on the first windows of `val_files` when given.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &dyn CausalLm,
    vs: &nn::VarStore,
    files: Vec<PathBuf>,
    val_files: Vec<PathBuf>,
    val_windows: usize,
    encode: Encode,
    eos: i64,
    cfg: &SftConfig,
) -> Result<SftReport, SftError> {
    train_with_hooks(
        model,
        vs,
        files,
        val_files,
        val_windows,
        encode,
        eos,
        cfg,
        false,
        &mut NoHooks,
    )
}

/// [`train`] with a stage's hooks. Batches come from the stream in order; a resumed run
/// (hooks starting at step s) skips the s x batch_size windows already trained on.
#[allow(clippy::too_many_arguments)]
pub fn train_with_hooks(
    model: &dyn CausalLm,
    vs: &nn::VarStore,
    files: Vec<PathBuf>,
    val_files: Vec<PathBuf>,
    val_windows: usize,
    encode: Encode,
    eos: i64,
    cfg: &SftConfig,
    per_line: bool,
    hooks: &mut dyn Hooks,
) -> Result<SftReport, SftError> {
    let mut val_rows = Vec::new();
    if !val_files.is_empty() {
        let mut vs_stream =
            TokenStream::new(val_files, encode, eos, cfg.seq_len, 1)?.documents_per_line(per_line);
        while val_rows.len() < val_windows {
            match vs_stream.next_window()? {
                Some(w) => val_rows.push(full_row(w)),
                None => break,
            }
        }
    }
    let mut stream =
        TokenStream::new(files, encode, eos, cfg.seq_len, 0)?.documents_per_line(per_line);
    let device = vs.device();
    let mut consumed = 0usize;
    let batch = |step: usize| -> Result<Vec<Row>, SftError> {
        while consumed < step * cfg.batch_size {
            if stream.next_window()?.is_none() {
                return Ok(Vec::new());
            }
            consumed += 1;
        }
        let mut rows = Vec::with_capacity(cfg.batch_size);
        while rows.len() < cfg.batch_size {
            match stream.next_window()? {
                Some(w) => rows.push(full_row(w)),
                None => break,
            }
        }
        consumed += rows.len();
        Ok(rows)
    };
    let objective = |rows: &[&Row]| -> Result<(Tensor, usize), SftError> {
        let (input, target, mask) = crate::lm::sft::collate(rows, eos, device);
        let (sum, n) = masked_nll(&model.logits(&input)?, &target, &mask);
        Ok((sum / n.max(1.0), n as usize))
    };
    let validate = |vs: &nn::VarStore| {
        crate::lm::sft::mean_loss(model, &val_rows, cfg.batch_size, eos, vs.device())
    };
    let report = SftReport {
        steps: 0,
        train_examples: 0,
        dropped_examples: 0,
        rows: 0,
        train_loss: Vec::new(),
        val_loss: Vec::new(),
        best_val_loss: None,
        stopped_early: false,
        tokens_trained: 0,
    };
    let validating = !val_rows.is_empty();
    run_loop(
        vs, cfg, report, batch, objective, validate, validating, hooks,
    )
}

fn full_row(ids: Vec<i64>) -> Row {
    let loss = vec![true; ids.len()];
    Row { ids, loss }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn enc(s: &str) -> Result<Vec<i64>, String> {
        Ok(s.bytes().map(i64::from).collect())
    }

    fn corpus(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verigym-pretrain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn stream_covers_every_token_once_per_epoch_across_chunks() {
        let text: String = (0..30_000).map(|i| format!("w{} ", i % 97)).collect();
        let a = corpus("a.txt", &text);
        let b = corpus("b.txt", "tail");
        let mut s = TokenStream::new(vec![a, b], &enc, 0, 63, 1).unwrap();
        let mut got = Vec::new();
        while let Some(w) = s.next_window().unwrap() {
            assert_eq!(w.len(), 64);
            if got.is_empty() {
                got.extend_from_slice(&w);
            } else {
                assert_eq!(got.last(), w.first());
                got.extend_from_slice(&w[1..]);
            }
        }
        let mut want = enc(&text).unwrap();
        want.push(0);
        want.extend(enc("tail").unwrap());
        want.push(0);
        assert_eq!(s.epochs_done, 1);
        assert!(want.len() - got.len() < 64);
        assert_eq!(&want[..got.len()], &got[..]);
    }

    #[test]
    fn missing_files_are_an_error() {
        assert!(TokenStream::new(vec![], &enc, 0, 8, 1).is_err());
        assert!(TokenStream::new(vec!["/nonexistent/x".into()], &enc, 0, 8, 1).is_err());
    }

    #[test]
    fn a_bigram_model_learns_a_repeating_text() {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let emb = nn::embedding(vs.root() / "emb", 256, 256, Default::default());
        let model = move |ids: &Tensor| ids.apply(&emb);
        let f = corpus("abc.txt", &"abcd ".repeat(2000));
        let cfg = SftConfig {
            seq_len: 32,
            batch_size: 8,
            max_steps: 120,
            lr: 0.5,
            weight_decay: 0.0,
            eval_every: 40,
            progress: false,
            ..Default::default()
        };
        let r = train(&model, &vs, vec![f.clone()], vec![f], 4, &enc, 0, &cfg).unwrap();
        assert!(r.train_loss[0].1 > 4.0);
        assert!(r.best_val_loss.unwrap() < 0.2, "{:?}", r.val_loss);
    }
}
