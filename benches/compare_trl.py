#!/usr/bin/env python3
"""GRPO step time: verigym (`verigym bench grpo`) vs TRL's GRPOTrainer, same run, same work.

Settings (issue 8): the random Llama of the policy issue (vocab 512, hidden 256,
intermediate 768, 4 layers, 8 heads; the *same* initial weights and tokenizer on both
sides, saved by `verigym bench grpo --save-model`), 8 tasks x 8 generations = 64
completions per step, at most 64 new tokens, temperature 1, beta 0.04 with a reference
model, loss "grpo", one optimisation pass, fp32 on the CPU (`--device cuda`: both on the
GPU, as scripts/gpu_check.sh runs it). Prompts: the bare questions of
`arithmetic` at difficulty 3 (`verigym sample --seed 0`), which is also what our bench
draws. Rewards: our bench runs the real arithmetic verifier; TRL gets an equivalent Python
reward function (a random policy earns 0 on both sides).

Creates a throw-away venv under /tmp with trl (reusing the PyTorch 2.13 pip --target folder
when present, else installing torch from PyPI), or runs TRL in `--python PY` (a Python
that has torch and trl). Prints both medians and the ratio as JSON.

Run: python3 benches/compare_trl.py [--steps 5] [--warmup 1] [--device cpu|cuda]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = "/tmp/verigym-trl-venv"
TORCH_DIR = "/root/.cache/verigym/torch-2.13.0"


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        if os.path.isdir(TORCH_DIR):
            site = subprocess.check_output(
                [py, "-c", "import site; print(site.getsitepackages()[0])"], text=True
            ).strip()
            with open(os.path.join(site, "verigym_torch.pth"), "w") as f:
                f.write(TORCH_DIR + "\n")
        else:
            subprocess.check_call([py, "-m", "pip", "install", "-q", "torch==2.13.0"])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "trl==1.16.0"])
    return py


TRL_SIDE = r'''
import json, re, statistics, sys, time
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

model_dir, prompts_file, steps, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
if device == "cuda" and not torch.cuda.is_available():
    sys.exit(f"--device cuda: torch {torch.__version__} sees no CUDA device")
rows = [json.loads(l) for l in open(prompts_file)]
ds = Dataset.from_list([{"prompt": r["question"], "gold": r["answer"]["value"]} for r in rows])
tok = PreTrainedTokenizerFast.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)

INT = re.compile(r"^[+-]?\d+$")
def arithmetic_reward(completions, gold, **kw):
    out = []
    for c, g in zip(completions, gold):
        text = c.split("</think>", 1)[1] if "</think>" in c else ("" if "<think>" in c else c)
        m = re.search(r"<answer>(.*?)</answer>", text, re.S)
        ans = (m.group(1) if m else text).strip().replace(",", "")
        out.append(1.0 if INT.match(ans) and int(ans) == int(g) else 0.0)
    return out

def sync():
    if device == "cuda":
        torch.cuda.synchronize()

class Timer(TrainerCallback):
    def __init__(self):
        self.times = []
    def on_step_begin(self, args, state, control, **kw):
        sync()
        self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        sync()
        self.times.append(time.perf_counter() - self.t)

cfg = GRPOConfig(
    output_dir="/tmp/verigym-trl-out", per_device_train_batch_size=64, gradient_accumulation_steps=1,
    num_generations=8, max_completion_length=64, temperature=1.0, beta=0.04, loss_type="grpo",
    num_iterations=1, learning_rate=1e-6, max_steps=steps + warmup, logging_steps=1,
    report_to=[], use_cpu=(device == "cpu"), bf16=False, fp16=False, save_strategy="no", seed=0,
    dataloader_num_workers=0,
    # TRL 1.x turns activation checkpointing on by default; off is TRL's faster setting.
    gradient_checkpointing=False,
)
timer = Timer()
trainer = GRPOTrainer(model=model, reward_funcs=arithmetic_reward, args=cfg, train_dataset=ds,
                      processing_class=tok, callbacks=[timer])
trainer.train()
t = timer.times[warmup:]
where = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
print(json.dumps({"step_s": statistics.median(t), "steps": len(t), "torch_threads": torch.get_num_threads(),
                  "torch": torch.__version__, "device": where}))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--python", help="a Python with torch and trl for the TRL side "
                    "(default: a throw-away venv under /tmp)")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.check_call(
            ["cargo", "build", "--release", "-p", "verigym", "-p", "verigym-trainer"], cwd=ROOT
        )
    train_bin = os.path.join(args.bin, "verigym-train")
    py = args.python or ensure_venv()
    work = tempfile.mkdtemp(prefix="verigym-trl-")
    model_dir = os.path.join(work, "model")
    subprocess.check_call([train_bin, "bench", "grpo", "--save-model", model_dir])
    prompts = os.path.join(work, "prompts.jsonl")
    with open(prompts, "w") as f:
        subprocess.check_call(
            [os.path.join(args.bin, "verigym"), "sample", "--env", "arithmetic", "--n", "64",
             "--seed", "0", "--difficulty", "3"], stdout=f)
    script = os.path.join(work, "trl_side.py")
    with open(script, "w") as f:
        f.write(TRL_SIDE)
    ours = json.loads(subprocess.check_output(
        [train_bin, "bench", "grpo", "--steps", str(args.steps), "--warmup", str(args.warmup),
         "--device", args.device],
        text=True).strip().splitlines()[-1])
    trl = json.loads(subprocess.check_output(
        [py, script, model_dir, prompts, str(args.steps), str(args.warmup), args.device],
        text=True).strip().splitlines()[-1])
    print(json.dumps({
        "verigym_step_s": ours["step_s"],
        "trl_step_s": trl["step_s"],
        "speedup": trl["step_s"] / ours["step_s"],
        "steps": args.steps,
        "device": args.device,
        "verigym": ours,
        "trl": trl,
    }, indent=1))


if __name__ == "__main__":
    main()
