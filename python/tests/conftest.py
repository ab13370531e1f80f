"""Shared fixtures: the `verigym` binary the Python results are checked against."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def verigym_bin() -> str:
    path = os.environ.get("VERIGYM_BIN", str(ROOT / "target" / "release" / "verigym"))
    if not os.path.exists(path):
        pytest.exit(f"{path} not found: run `cargo build --release -p verigym` (python/tests/run.sh does)")
    return path


TINY_LLAMA = {
    "vocab_size": 267,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "initializer_range": 0.2,
}


def tiny_checkpoint(out, seed: int, **overrides) -> Path:
    """A random small Llama (built-in tokenizer) saved by `verigym checkpoint init` at `out`."""
    if not Path(verigym_bin()).with_name("verigym-train").exists():
        pytest.fail("verigym-train is not built: `cargo build --release` (scripts/test.sh does)")
    config = {**TINY_LLAMA, **overrides}
    cli("checkpoint", "init", "--config", json.dumps(config), "--out", str(out), "--seed", str(seed))
    return Path(out)


def cli(*args: str, stdin: str = "", check: bool = True) -> str:
    """Runs `verigym ARGS` and returns its stdout."""
    out = subprocess.run([verigym_bin(), *args], input=stdin, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"verigym {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out.stdout


def compact(record) -> str:
    """A record as serde_json writes it: compact, UTF-8 kept, keys in the record's order."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def with_completions(tasks, seed: int = 0):
    """Completions that earn full, partial and no credit: the reference, another task's
    reference, a wrong answer, malformed text, empty."""
    out = []
    for i, t in enumerate(tasks):
        kind = (i + seed) % 5
        if kind == 0:
            out.append(t["solution"])
        elif kind == 1:
            out.append(tasks[(i + 1) % len(tasks)]["solution"])
        elif kind == 2:
            out.append("<think>hmm</think><answer>41 or 42</answer>")
        elif kind == 3:
            out.append("<think>unclosed")
        else:
            out.append("")
    return out
