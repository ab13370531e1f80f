//! Ordered, parallel JSONL processing: read lines in chunks, map them on all cores with
//! rayon, write results in input order. A line that fails becomes an error record naming
//! its line number; no line is ever dropped.

use anyhow::{Context, Result};
use rayon::prelude::*;
use std::io::{BufRead, Write};

/// Lines per parallel chunk: large enough to keep the cores busy, small enough to stream.
const CHUNK: usize = 4096;

/// Counts of what a run did.
pub struct Summary {
    pub lines: usize,
    pub errors: usize,
}

/// Maps every non-empty input line through `f` in parallel and writes the results (or
/// `{"line": n, "error": "..."}` records) in input order. Line numbers are 1-based.
pub fn map_lines<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    f: impl Fn(usize, &str) -> Result<serde_json::Value, String> + Sync,
) -> Result<Summary> {
    let mut summary = Summary {
        lines: 0,
        errors: 0,
    };
    // Split on bytes, not `lines()`: a line that is not UTF-8 becomes an error record in
    // place instead of ending the whole run.
    let mut lines = input.split(b'\n');
    let mut line_no = 0usize;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        for line in lines.by_ref() {
            line_no += 1;
            let bytes = line.with_context(|| format!("reading input line {line_no}"))?;
            let line = String::from_utf8(bytes).map_err(|_| ());
            if line.as_ref().is_ok_and(|l| l.trim().is_empty()) {
                continue;
            }
            chunk.push((line_no, line));
            if chunk.len() == CHUNK {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        let results: Vec<serde_json::Value> = chunk
            .par_iter()
            .map(|(n, line)| {
                let result = match line {
                    Ok(text) => f(*n, text),
                    Err(()) => Err("line is not valid UTF-8".to_string()),
                };
                result.unwrap_or_else(|message| serde_json::json!({ "line": n, "error": message }))
            })
            .collect();
        for r in &results {
            if r.get("error").is_some() {
                summary.errors += 1;
                if let Some(msg) = r.get("error").and_then(|m| m.as_str()) {
                    eprintln!("error: line {}: {msg}", r["line"]);
                }
            }
            serde_json::to_writer(&mut output, r)?;
            output.write_all(b"\n")?;
        }
        summary.lines += results.len();
    }
    output.flush()?;
    Ok(summary)
}
