"""TensorBoard reads back every metric of a run: tiny pretraining (with a validation loss,
then resumed for two more steps) and GRPO runs (nested per-env fields) through `verigym
train`, their `events.out.tfevents.*` files read with TensorBoard's own event reader and
compared with metrics.jsonl, name for name, step for step and value for value (as float32,
the type TensorBoard scalars have)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, verigym_bin

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.util import tensor_util

TINY = [
    "model.vocab_size=272",
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.num_layers=2",
    "model.num_heads=4",
    "model.num_kv_heads=4",
    "model.max_position_embeddings=256",
    "model.device=\"cpu\"",
    "log.progress=false",
]


def sets(*extra):
    return [a for s in [*TINY, *extra] for a in ("--set", s)]


def numeric(record, prefix=""):
    """(name, value) of every number of a metrics line, nested objects joined with '/';
    the top-level step is the events' step."""
    for key, value in record.items():
        if not prefix and key == "step":
            continue
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            yield from numeric(value, name)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            yield name, value


def read_events(out: Path):
    """{(tag, step): value} of the run folder's one event file, as TensorBoard loads it."""
    files = sorted(out.glob("events.out.tfevents.*"))
    assert len(files) == 1, files
    versions, scalars = [], {}
    for event in event_file_loader.EventFileLoader(str(files[0])).Load():
        if event.HasField("file_version"):
            versions.append(event.file_version)
        for v in event.summary.value:
            # The loader moves simple_value into a scalar tensor (TensorBoard's data_compat).
            x = tensor_util.make_ndarray(v.tensor).item() if v.HasField("tensor") else v.simple_value
            assert (v.tag, event.step) not in scalars, f"{v.tag} twice at step {event.step}"
            scalars[(v.tag, event.step)] = x
    assert versions == ["brain.Event:2"]
    return scalars


def assert_every_metric_read_back(out: Path, steps: int):
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == list(range(steps))
    want = {(name, line["step"]): x for line in lines for name, x in numeric(line)}
    got = read_events(out)
    assert sorted(got) == sorted(want)
    for key, x in want.items():
        assert np.float32(got[key]) == np.float32(x), (key, got[key], x)
    return want


@pytest.fixture(scope="module")
def trainer():
    if not Path(verigym_bin()).with_name("verigym-train").exists():
        pytest.fail("verigym-train is not built: `cargo build --release` (scripts/test.sh does)")


def test_pretraining_metrics_read_back_after_a_resume(trainer, tmp_path):
    corpus = tmp_path / "corpus.txt"
    cli("data", "corpus", "--envs", "arithmetic", "--n", "40", "--out", str(corpus))
    out = tmp_path / "pretrain"
    run = ["train", "pretrain", "--out", str(out), *sets(
        f"data.path=\"{corpus}\"", f"data.val_path=\"{corpus}\"", "data.val_windows=2",
        "train.seq_len=32", "train.batch_size=2", "train.eval_every=2",
        "log.checkpoint_every=2", "log.plots=false", "optim.warmup_steps=1")]
    cli(*run, "--set", "steps=4")
    want = assert_every_metric_read_back(out, 4)
    assert {name for name, _ in want} == {"loss", "lr", "grad_norm", "tokens", "tokens_per_s", "val_loss"}
    # Resumed for two more steps: the old file is replaced by one with all six.
    cli(*run, "--set", "steps=6", "--resume")
    assert_every_metric_read_back(out, 6)


def test_grpo_metrics_read_back_with_nested_fields(trainer, tmp_path):
    out = tmp_path / "grpo"
    cli("train", "grpo", "--out", str(out), *sets(
        "steps=2", "rollout.tasks_per_step=2", "rollout.group_size=2", "rollout.max_new_tokens=8",
        "objective.beta=0", "envs.0.difficulty=1", "log.plots=false", "log.samples_per_step=0"))
    want = assert_every_metric_read_back(out, 2)
    names = {name for name, _ in want}
    assert {"reward_mean", "kl", "grad_norm", "difficulty/arithmetic"} <= names, names
    assert any(n.startswith("reward_components/") for n in names), names
