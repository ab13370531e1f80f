//! `verigym export`: tasks as a training set in veRL's RL dataset schema (`data_source`,
//! `prompt` as chat messages, `ability`, `reward_model`, `extra_info`), written as Parquet
//! (arrow arrays through parquet's `ArrowWriter`) or JSONL.
//!
//! `extra_info.task` is the full task record, the exact line `verigym sample` prints, so a
//! reward function (`verigym.verl.compute_score`) grades the row as `verigym score` would.

use crate::cli::env_or_exit;
use anyhow::{Context, Result};
use arrow_array::{
    ArrayRef, ListArray, RecordBatch, StringArray, StructArray, UInt64Array, UInt8Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use clap::{Args, ValueEnum};
use parquet::arrow::ArrowWriter;
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use verigym_envs::{Environment, Message, Prompt, Registry, Task};

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Parquet,
    Jsonl,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Environments, comma-separated; each contributes --n tasks, in the order given.
    #[arg(long, value_delimiter = ',', required = true)]
    env: Vec<String>,
    /// Tasks per environment.
    #[arg(long, default_value_t = 1000)]
    n: u64,
    /// Seed; task i of seed s is the same on every machine and every run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Difficulty level 1..=10.
    #[arg(long)]
    difficulty: Option<u8>,
    /// JSON object overriding fields of each environment's config.
    #[arg(long)]
    config: Option<String>,
    /// A JSONL dataset file for the `gsm8k_jsonl` and `math_jsonl` envs.
    #[arg(long)]
    data: Option<String>,
    #[arg(long, value_enum)]
    format: Format,
    /// Output file.
    #[arg(long)]
    out: std::path::PathBuf,
    /// An envs file (TOML): environments in any language or datasets with a chosen
    /// verifier, added beside the builtins.
    #[arg(long)]
    envs_file: Option<std::path::PathBuf>,
}

/// One dataset row in veRL's schema.
#[derive(Serialize)]
struct Row {
    data_source: String,
    prompt: Vec<Message>,
    ability: String,
    reward_model: RewardModel,
    extra_info: ExtraInfo,
}

#[derive(Serialize)]
struct RewardModel {
    style: &'static str,
    /// The task's gold answer spec as JSON text.
    ground_truth: String,
}

#[derive(Serialize)]
struct ExtraInfo {
    env: String,
    seed: u64,
    index: u64,
    difficulty: u8,
    /// The task record as `verigym sample` prints it.
    task: String,
}

/// The `data_source` of an env's rows.
pub fn data_source(env: &str) -> String {
    format!("verigym/{env}")
}

fn row(env: &dyn Environment, task: &Task) -> Result<Row> {
    let prompt = match &task.prompt {
        Prompt::Chat(messages) => messages.clone(),
        Prompt::Text(text) => vec![Message {
            role: "user".into(),
            content: text.clone(),
        }],
    };
    Ok(Row {
        data_source: data_source(&task.env),
        prompt,
        ability: env.domain().as_str().to_string(),
        reward_model: RewardModel {
            style: "rule",
            ground_truth: serde_json::to_string(&task.answer)?,
        },
        extra_info: ExtraInfo {
            env: task.env.clone(),
            seed: task.seed,
            index: task.index,
            difficulty: task.difficulty,
            task: serde_json::to_string(task)?,
        },
    })
}

pub fn run(args: ExportArgs, registry: &Registry) -> Result<ExitCode> {
    let opts = crate::cli::env_options(args.difficulty, args.config.as_deref())?;
    let registry =
        crate::cli::cli_registry(registry, args.data.as_deref(), args.envs_file.as_deref())?;
    let mut envs = Vec::new();
    for name in &args.env {
        match env_or_exit(&registry, name, &opts) {
            Ok(e) => envs.push(e),
            Err(code) => return Ok(code),
        }
    }
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut sink = match args.format {
        Format::Jsonl => Sink::Jsonl(std::io::BufWriter::new(file)),
        Format::Parquet => Sink::Parquet(Box::new(ArrowWriter::try_new(file, schema(), None)?)),
    };
    const CHUNK: u64 = 8192;
    let mut rows_written = 0u64;
    for env in &envs {
        let mut lo = 0;
        while lo < args.n {
            let hi = args.n.min(lo + CHUNK);
            let rows: Vec<Row> = (lo..hi)
                .into_par_iter()
                .map(|i| row(env.as_ref(), &env.generate(args.seed, i)?))
                .collect::<Result<_>>()?;
            sink.write(&rows)?;
            rows_written += rows.len() as u64;
            lo = hi;
        }
    }
    sink.finish()
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {rows_written} rows to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

enum Sink {
    Jsonl(std::io::BufWriter<std::fs::File>),
    Parquet(Box<ArrowWriter<std::fs::File>>),
}

impl Sink {
    fn write(&mut self, rows: &[Row]) -> Result<()> {
        match self {
            Sink::Jsonl(out) => {
                for r in rows {
                    serde_json::to_writer(&mut *out, r)?;
                    out.write_all(b"\n")?;
                }
            }
            Sink::Parquet(writer) => writer.write(&batch(rows)?)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Jsonl(mut out) => out.flush()?,
            Sink::Parquet(writer) => {
                writer.close()?;
            }
        }
        Ok(())
    }
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn message_fields() -> Fields {
    Fields::from(vec![utf8("role"), utf8("content")])
}

fn reward_model_fields() -> Fields {
    Fields::from(vec![utf8("style"), utf8("ground_truth")])
}

fn extra_info_fields() -> Fields {
    Fields::from(vec![
        utf8("env"),
        Field::new("seed", DataType::UInt64, false),
        Field::new("index", DataType::UInt64, false),
        Field::new("difficulty", DataType::UInt8, false),
        utf8("task"),
    ])
}

fn message_item() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(message_fields()),
        false,
    ))
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        utf8("data_source"),
        Field::new("prompt", DataType::List(message_item()), false),
        utf8("ability"),
        Field::new(
            "reward_model",
            DataType::Struct(reward_model_fields()),
            false,
        ),
        Field::new("extra_info", DataType::Struct(extra_info_fields()), false),
    ]))
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<StringArray>())
}

/// The rows as one arrow record batch of [`schema`].
fn batch(rows: &[Row]) -> Result<RecordBatch> {
    let messages: Vec<&Message> = rows.iter().flat_map(|r| &r.prompt).collect();
    let message_values = StructArray::try_new(
        message_fields(),
        vec![
            strings(messages.iter().map(|m| m.role.as_str())),
            strings(messages.iter().map(|m| m.content.as_str())),
        ],
        None,
    )?;
    // A chunk's message count is far below i32::MAX, where from_lengths would panic.
    let offsets = OffsetBuffer::<i32>::from_lengths(rows.iter().map(|r| r.prompt.len()));
    let prompt = ListArray::try_new(message_item(), offsets, Arc::new(message_values), None)?;
    let reward_model = StructArray::try_new(
        reward_model_fields(),
        vec![
            strings(rows.iter().map(|r| r.reward_model.style)),
            strings(rows.iter().map(|r| r.reward_model.ground_truth.as_str())),
        ],
        None,
    )?;
    let extra_info = StructArray::try_new(
        extra_info_fields(),
        vec![
            strings(rows.iter().map(|r| r.extra_info.env.as_str())),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.extra_info.seed),
            )),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.extra_info.index),
            )),
            Arc::new(UInt8Array::from_iter_values(
                rows.iter().map(|r| r.extra_info.difficulty),
            )),
            strings(rows.iter().map(|r| r.extra_info.task.as_str())),
        ],
        None,
    )?;
    let columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.data_source.as_str())),
        Arc::new(prompt),
        strings(rows.iter().map(|r| r.ability.as_str())),
        Arc::new(reward_model),
        Arc::new(extra_info),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}
