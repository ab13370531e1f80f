//! Integration tests of `verigym export`: veRL-schema rows in JSONL and Parquet, the same
//! tasks as `verigym sample`, and clear errors for bad arguments.

use arrow_array::{Array, ListArray, StringArray, StructArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::process::{Command, Output};

fn verigym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verigym"))
        .args(args)
        .output()
        .expect("run verigym")
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("verigym-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn sample(env: &str) -> Vec<String> {
    let out = verigym(&["sample", "--env", env, "--n", "6", "--seed", "2"]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn jsonl_rows_carry_the_sampled_tasks_in_verl_schema() {
    let out = tmp("train.jsonl");
    let o = verigym(&[
        "export",
        "--env",
        "arithmetic,countdown",
        "--n",
        "6",
        "--seed",
        "2",
        "--format",
        "jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 12);
    let sampled: Vec<String> = [sample("arithmetic"), sample("countdown")].concat();
    for (row, line) in rows.iter().zip(&sampled) {
        let task: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["extra_info"]["task"], line.as_str());
        assert_eq!(
            row["data_source"],
            format!("verigym/{}", task["env"].as_str().unwrap())
        );
        assert_eq!(row["prompt"][0]["role"], "user");
        assert_eq!(row["prompt"][0]["content"], task["prompt"]);
        assert_eq!(row["reward_model"]["style"], "rule");
        assert_eq!(
            row["reward_model"]["ground_truth"],
            task["answer"].to_string()
        );
        assert_eq!(row["extra_info"]["index"], task["index"]);
    }
    assert_eq!(rows[0]["ability"], "math");
    assert_eq!(rows[6]["ability"], "puzzle");
}

#[test]
fn parquet_reads_back_with_the_same_rows() {
    let out = tmp("train.parquet");
    let o = verigym(&[
        "export",
        "--env",
        "countdown",
        "--n",
        "6",
        "--seed",
        "2",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::File::open(&out).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 6);
    let b = &batches[0];
    let schema = b.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "data_source",
            "prompt",
            "ability",
            "reward_model",
            "extra_info"
        ]
    );
    let extra = b.column(4).as_any().downcast_ref::<StructArray>().unwrap();
    let task = extra.column_by_name("task").unwrap();
    let task = task.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(
        task.iter()
            .map(|t| t.unwrap().to_string())
            .collect::<Vec<_>>(),
        sample("countdown")
    );
    let prompt = b.column(1).as_any().downcast_ref::<ListArray>().unwrap();
    assert_eq!(prompt.value(0).len(), 1, "one user message per row");
}

#[test]
fn bad_arguments_are_named() {
    let out = tmp("x.jsonl");
    let o = verigym(&[
        "export",
        "--env",
        "countdown,nope",
        "--format",
        "jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown environment 'nope'") && err.contains("countdown"),
        "{err}"
    );
    let o = verigym(&[
        "export",
        "--env",
        "countdown",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("csv"));
    let o = verigym(&[
        "export",
        "--env",
        "countdown",
        "--format",
        "jsonl",
        "--out",
        "/nonexistent/dir/x.jsonl",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/dir/x.jsonl"));
}
