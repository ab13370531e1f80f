#!/usr/bin/env python3
"""How fast can a GRPO learner step be on this CPU? The GEMMs alone, at `verigym bench grpo`'s shapes.

The learner's forward and backward are dominated by the linear layers. This times exactly
those matrix products with PyTorch 2.13 (the libtorch our learner links, MKL on x86) and no
model around them, so the figures are a floor for any libtorch learner at these shapes:
  - forward: Y = X W^T for q/k/v, o, gate/up, down in every layer and the LM head;
  - backward: dX = dY W and dW = dY^T X for each of them.
Token counts default to a bench step: 8 distinct prompts of ~115 tokens run once each
(the learner shares a group's prompt) and 64 completions of 63 tokens.

Compare with `verigym-train bench grpo --verbose` (learn_s, reference_s: the reference
forward is the same work on the fused engine) to see what is left above the GEMMs.

Run: python3 benches/learn_floor.py [--reps 7] [--threads 2]
Prints JSON: seconds and GFLOP/s of the forward and backward GEMMs (median of reps).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TORCH_DIR = "/root/.cache/verigym/torch-2.13.0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=8 * 115)
    ap.add_argument("--completion-tokens", type=int, default=64 * 63)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=512)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        if os.path.isdir(TORCH_DIR) and TORCH_DIR not in sys.path:
            # The PyTorch the README's set-up installs (pip --target), outside the repo.
            env = dict(os.environ, PYTHONPATH=TORCH_DIR)
            sys.exit(subprocess.call([sys.executable] + sys.argv, env=env))
        sys.exit(f"PyTorch is not importable and {TORCH_DIR} does not exist: run the README set-up")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    h, i, v = args.hidden, args.intermediate, args.vocab

    def median_s(f):
        f()
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    # (tokens, in, out, how many times per step)
    shapes = []
    for n in (args.prompt_tokens, args.completion_tokens):
        for k, o in ((h, 3 * h), (h, h), (h, 2 * i), (i, h)):
            shapes.append((n, k, o, args.layers))
    shapes.append((args.completion_tokens, h, v, 1))
    fwd = bwd = flop = 0.0
    for n, k, o, times in shapes:
        x, w, dy = torch.randn(n, k), torch.randn(o, k), torch.randn(n, o)
        fwd += times * median_s(lambda: x @ w.t())
        bwd += times * median_s(lambda: (dy @ w, dy.t() @ x))
        flop += times * 2.0 * n * k * o
    print(json.dumps({
        "forward_gemm_s": fwd,
        "backward_gemm_s": bwd,
        "forward_gflop": flop / 1e9,
        "forward_gflop_per_s": flop / fwd / 1e9,
        "backward_gflop_per_s": 2 * flop / bwd / 1e9,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }, indent=1))


if __name__ == "__main__":
    main()
