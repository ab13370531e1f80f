#!/usr/bin/env python3
"""Sampling throughput: transformers `generate` vs verigym's sampler (issue 7), same run,
same random Llama weights.

    python3 benches/compare_transformers.py [--batches 1,16,64,256] [--bin PATH]

Model: LlamaForCausalLM, vocab 512, hidden 256, intermediate 768, 4 layers, 8 heads (3.5 M
parameters), fp32 on CPU. Workload: random 32-token prompts, 128 new tokens, sampling at
temperature 1 (no top-k/top-p), EOS ignored so every sequence makes 128 tokens. Both sides
time the whole generate call (prefill included) after a warm-up, best of --repeats; the
sides alternate for --rounds rounds per batch size and each reports its median round.
--threads sets both sides' thread count (default: torch's, the same on both sides).
--kv-cache-dtype bf16 runs our side with the opt-in bf16 KV cache (not fp32 against fp32).
The last column is ours per CPU-second (all threads, user + system) of the fastest run: on a
machine shared with other jobs wall-clock figures swing with the load (check `uptime`), CPU
time much less, so it is the steadier figure for before/after comparisons at --threads 1.

Needs transformers and torch 2.13: when not importable, makes a throw-away venv in /tmp
(torch from verigym's libtorch cache when scripts/setup.sh made one) and re-runs itself.
Ours is target/release/verigym-train (build: cargo build --release -p verigym-trainer).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_fixture import ensure_env  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,16,64,256")
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds per batch size; each side reports its median")
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads for both sides (0: torch's default). 1 is steadier on a busy machine.")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "verigym-train"))
    ap.add_argument("--kv-cache-dtype", default="auto", choices=["auto", "bf16"],
                    help="our KV cache; bf16 is an opt-in that changes our numerics, so the "
                         "ratio is then no longer fp32 against fp32")
    args = ap.parse_args()
    ensure_env()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: cargo build --release -p verigym-trainer")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=512,
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=8,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(cfg).eval()
    params = sum(p.numel() for p in model.parameters())
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        print(
            f"random Llama, {params / 1e6:.2f} M params; prompts {args.prompt_len}, "
            f"new tokens {args.new_tokens}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; verigym KV cache {args.kv_cache_dtype}"
            + (" (NOT the fp32 comparison)" if args.kv_cache_dtype != "auto" else ""),
            flush=True,
        )
        print(f"{'batch':>6} {'transformers tok/s':>19} {'verigym tok/s':>14} {'ratio':>7} "
              f"{'verigym tok/cpu-s':>18}", flush=True)
        for b in batches:
            # Rounds alternate the two sides, so a change in the machine's load (it is
            # shared) falls on both; each side's figure is its median over the rounds.
            hfs, ourss, cpus = [], [], []
            for _ in range(max(1, args.rounds)):
                hfs.append(hf_tokens_per_s(model, b, args))
                ours, ours_cpu = ours_tokens_per_s(tmp, b, args)
                ourss.append(ours)
                cpus.append(ours_cpu)
            hf, ours, ours_cpu = (statistics.median(x) for x in (hfs, ourss, cpus))
            rows.append({"batch": b, "transformers": round(hf, 1), "verigym": ours,
                         "ratio": round(ours / hf, 2), "verigym_per_cpu_s": ours_cpu,
                         "rounds": {"transformers": [round(x, 1) for x in hfs],
                                    "verigym": ourss}})
            print(f"{b:>6} {hf:>19.1f} {ours:>14.1f} {ours / hf:>7.2f} {ours_cpu:>18.1f}", flush=True)
    print(json.dumps(rows))


def hf_tokens_per_s(model, batch, args):
    import torch

    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(0, model.config.vocab_size, (batch, args.prompt_len), generator=g)
    mask = torch.ones_like(ids)
    kw = dict(
        attention_mask=mask,
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        min_new_tokens=args.new_tokens,
        max_new_tokens=args.new_tokens,
        pad_token_id=0,
    )
    with torch.inference_mode():
        model.generate(ids, **{**kw, "min_new_tokens": 4, "max_new_tokens": 4})
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = model.generate(ids, **kw)
            best = min(best, time.perf_counter() - t0)
    made = (out.shape[1] - args.prompt_len) * batch
    assert made == batch * args.new_tokens, made
    return made / best


def ours_tokens_per_s(model_dir, batch, args):
    cmd = [
        args.bin, "bench", "sample", "--model", model_dir, "--device", "cpu",
        "--batch", str(batch), "--prompt-len", str(args.prompt_len),
        "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats),
        "--kv-cache-dtype", args.kv_cache_dtype,
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.check_output(cmd, text=True)
    res = json.loads(out.strip().splitlines()[-1])
    return float(res["tokens_per_s"]), float(res.get("tokens_per_cpu_s", 0.0))


if __name__ == "__main__":
    main()
