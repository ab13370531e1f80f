"""LoRA: adapters that `verigym train sft` saves with `[lora]` load in peft onto the
transformers model with the logits verigym computes, `verigym checkpoint merge` writes a
merged model transformers loads with the same logits, and `verigym generate --model` takes
the adapter folder itself."""

import json
from pathlib import Path

import pytest
import torch
from conftest import cli, tiny_checkpoint, verigym_bin

PROBE = "12+30=42, 7*6=42"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(base folder, adapter checkpoint) of a short SFT run with adapters on q/v/down."""
    tmp = tmp_path_factory.mktemp("lora")
    base = tmp / "base"
    tiny_checkpoint(base, 4, max_position_embeddings=128)
    data = tmp / "sft.jsonl"
    with open(data, "w") as f:
        for a in range(12):
            for b in range(3):
                f.write(json.dumps({"prompt": f"{a}+{b}=", "completion": str(a + b)}) + "\n")
    config = tmp / "sft.toml"
    config.write_text(
        f"""steps = 8
[model]
path = "{base}"
device = "cpu"
[data]
path = "{data}"
[train]
seq_len = 64
batch_size = 8
[optim]
lr = 2e-2
warmup_steps = 0
[log]
progress = false
plots = false
[lora]
rank = 4
alpha = 8.0
targets = ["q_proj", "v_proj", "down_proj"]
"""
    )
    out = tmp / "run"
    cli("train", "sft", "--config", str(config), "--out", str(out))
    return base, out / "checkpoints" / "step-8"


def last_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].float()


def test_adapters_load_in_peft_with_our_logits(trained, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base, ckpt = trained
    saved = json.loads((ckpt / "adapter_config.json").read_text())
    assert saved["peft_type"] == "LORA" and saved["r"] == 4
    assert Path(saved["base_model_name_or_path"]) == base.resolve()
    assert not (ckpt / "config.json").exists()
    merged = tmp_path / "merged"
    ours = json.loads(cli("checkpoint", "merge", "--model", str(ckpt), "--out", str(merged), "--probe", PROBE))
    want = torch.tensor(ours["last_logits"])

    plain = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    before = last_logits(plain, ours["ids"])
    peft_model = PeftModel.from_pretrained(plain, str(ckpt))
    peft_model.eval()
    got = last_logits(peft_model, ours["ids"])
    assert (got - want).abs().max().item() < 1e-4
    assert (before - want).abs().max().item() > 1e-3, "the adapters did not train"

    # The merged model is an ordinary checkpoint with the same logits.
    m = AutoModelForCausalLM.from_pretrained(str(merged), dtype=torch.float32)
    assert (last_logits(m, ours["ids"]) - want).abs().max().item() < 1e-4
    # peft's own merge agrees with ours.
    theirs = peft_model.merge_and_unload().state_dict()
    mine = m.state_dict()
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"):
        assert (theirs[name] - mine[name]).abs().max().item() < 1e-5, name


def test_generate_takes_the_adapter_folder(trained, tmp_path):
    _, ckpt = trained
    merged = tmp_path / "merged"
    cli("checkpoint", "merge", "--model", str(ckpt), "--out", str(merged))
    args = ["--prompt", "3+1=", "--max-tokens", "8", "--temperature", "0", "--json"]
    a = json.loads(cli("generate", "--model", str(ckpt), *args))
    b = json.loads(cli("generate", "--model", str(merged), *args))
    assert a["token_ids"] == b["token_ids"]


def test_merge_refuses_a_folder_without_adapters(trained, tmp_path):
    base, _ = trained
    import subprocess

    out = subprocess.run(
        [verigym_bin(), "checkpoint", "merge", "--model", str(base), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "adapter_config.json" in out.stderr
