"""Reward models: one saved by `verigym rm init`, and one trained by `verigym train rm` on a
transformers checkpoint, load in transformers as AutoModelForSequenceClassification with the
scores `verigym rm score` gives (within 1e-4), batched left-padded scoring included, and bad
input lines are named."""

import json
import subprocess

import pytest
import torch
from conftest import cli, tiny_checkpoint, verigym_bin

ROWS = [
    {"prompt": "Tell a joke.", "completion": " Why did the chicken cross the road?"},
    {"prompt": "Tell a joke.", "completion": " No."},
    {"prompt": "Summarise: the cat sat on the mat.", "completion": " A cat sat."},
    {"prompt": "2+2=", "completion": "4"},
]


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rm")
    tiny_checkpoint(tmp / "base", 6, max_position_embeddings=128)
    cli("rm", "init", "--model", str(tmp / "base"), "--out", str(tmp / "rm"), "--seed", "2")
    return tmp / "rm"


def transformers_scores_match(reward_model):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    lines = "".join(json.dumps(r) + "\n" for r in ROWS)
    ours = [json.loads(l)["reward"] for l in cli("rm", "score", "--model", str(reward_model), stdin=lines).splitlines()]
    one_by_one = [
        json.loads(cli("rm", "score", "--model", str(reward_model), "--batch-size", "1", stdin=json.dumps(r) + "\n"))["reward"]
        for r in ROWS
    ]
    assert len(ours) == len(ROWS)
    assert max(abs(a - b) for a, b in zip(ours, one_by_one)) < 1e-4, "left padding changed a score"
    assert max(ours) - min(ours) > 1e-3, "a random head should tell texts apart"

    model = AutoModelForSequenceClassification.from_pretrained(str(reward_model), dtype=torch.float32)
    model.eval()
    assert model.config.num_labels == 1
    tok = AutoTokenizer.from_pretrained(str(reward_model))
    for row, want in zip(ROWS, ours):
        ids = tok(row["prompt"] + row["completion"], return_tensors="pt").input_ids
        with torch.no_grad():
            got = model(ids).logits[0, 0].item()
        assert abs(got - want) < 1e-4, (row, got, want)
    return ours


def test_transformers_gives_our_scores(reward_model):
    transformers_scores_match(reward_model)


def test_a_trained_reward_model_loads_in_transformers(tmp_path):
    tiny_checkpoint(tmp_path / "base", 7, max_position_embeddings=128)
    rows = [
        {"prompt": f"Item {i}:", "chosen": f" {['fine', 'neat'][i % 2]} lamp", "rejected": " poor lamp"}
        for i in range(20)
    ]
    data = tmp_path / "feedback.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "run"
    sets = [f"model.path={json.dumps(str(tmp_path / 'base'))}", f"data.path={json.dumps(str(data))}"]
    sets += ["steps=8", "optim.lr=1e-3", "train.batch_size=4", "log.progress=false", 'model.device="cpu"']
    cli("train", "rm", "--out", str(run), *[a for s in sets for a in ("--set", s)])
    ens = json.loads((run / "ensemble.json").read_text())
    assert len(ens["members"]) == 1 and ens["val_pairs"] == 2
    metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 8 and "val_accuracy" in metrics[-1]
    transformers_scores_match(run / ens["members"][0]["checkpoint"])


def test_a_bad_line_is_named(reward_model):
    bad = json.dumps(ROWS[0]) + "\n" + json.dumps({"prompt": "p"}) + "\n"
    out = subprocess.run(
        [verigym_bin(), "rm", "score", "--model", str(reward_model)], input=bad, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "stdin:2" in out.stderr and "'completion'" in out.stderr
    assert out.stdout == ""
