#!/usr/bin/env python3
"""Generation speed of verigym against reasoning-gym, one core, same run.

Creates a throw-away venv under /tmp with reasoning-gym from PyPI (reused across runs if it
is already there), builds `verigym` in release mode, pins this process and its children to
one CPU, then for every family in FAMILIES times:
  * reasoning-gym: `create_dataset(name, size=N, seed=..., **kwargs)` and indexing every item
    (items are generated on access), in a child process of the venv's Python;
  * verigym: `verigym sample --env NAME --n N --difficulty D` with RAYON_NUM_THREADS=1,
    output to /dev/null (includes JSON serialisation and process start-up).
Prints tasks/second for both and the ratio; exits 1 if any family is under --min-ratio.

Adding a family is one line in FAMILIES:
    (reasoning-gym name, verigym name, verigym difficulty, reasoning-gym config kwargs)
Pick the difficulty whose config is closest to reasoning-gym's defaults.

Usage: python3 benches/compare_reasoning_gym.py [--seconds 2] [--only sudoku,maze]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

FAMILIES = [
    # rg name            verigym name              level  rg kwargs
    ("countdown",        "countdown",               10,   {}),
    ("cryptarithm",      "cryptarithm",              6,   {}),
    ("graph_color",      "graph_colouring",          4,   {}),
    ("knights_knaves",   "knights_knaves",           3,   {}),
    ("maze",             "maze",                     5,   {}),
    ("mini_sudoku",      "mini_sudoku",              7,   {}),
    ("n_queens",         "n_queens",                 6,   {}),
    ("puzzle24",         "game_of_24",               5,   {}),
    ("sudoku",           "sudoku",                   5,   {}),
    ("syllogism",        "syllogisms",               1,   {}),
    ("tower_of_hanoi",   "tower_of_hanoi",           7,   {}),
    ("word_ladder",      "word_ladder",              5,   {}),
    ("zebra_puzzles",    "zebra",                    5,   {}),
]

ROOT = Path(__file__).resolve().parent.parent
VENV = Path("/tmp/verigym-rg-venv")

RG_CHILD = r"""
import json, sys, time
import reasoning_gym
name, kwargs, seconds = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
size = 100000
ds = reasoning_gym.create_dataset(name, size=size, seed=7, **kwargs)
ds[0]  # warm-up: imports, word lists, caches
n, t0 = 0, time.perf_counter()
while True:
    ds[1 + n]
    n += 1
    elapsed = time.perf_counter() - t0
    if (elapsed >= seconds and n >= 5) or n >= size - 2:
        break
print(json.dumps({"n": n, "seconds": elapsed}))
"""


def ensure_venv():
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import reasoning_gym"], capture_output=True).returncode == 0:
        return py
    print(f"creating {VENV} and installing reasoning-gym ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "reasoning-gym"], check=True)
    return py


def build_verigym():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "verigym"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "verigym"


def time_rg(py, name, kwargs, seconds):
    out = subprocess.run([str(py), "-c", RG_CHILD, name, json.dumps(kwargs), str(seconds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["n"] / r["seconds"]


def time_ours(binary, name, level, seconds):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    n = 200
    while True:
        t0 = time.perf_counter()
        subprocess.run([str(binary), "sample", "--env", name, "--n", str(n), "--seed", "7",
                        "--difficulty", str(level)], stdout=subprocess.DEVNULL, env=env, check=True)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds or n >= 50_000_000:
            return n / elapsed
        n = int(n * max(2.0, 1.2 * seconds / max(elapsed, 1e-3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time spent per family and side")
    ap.add_argument("--only", default="", help="comma-separated verigym or reasoning-gym names")
    ap.add_argument("--min-ratio", type=float, default=10.0)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})  # inherited by every child: one core for both sides
    py = ensure_venv()
    binary = build_verigym()
    only = {s for s in args.only.split(",") if s}
    rows, failed = [], []
    print(f"{'family':<18} {'verigym':<24} {'rg tasks/s':>11} {'verigym tasks/s':>16} {'ratio':>8}")
    for rg_name, ours, level, kwargs in FAMILIES:
        if only and rg_name not in only and ours not in only:
            continue
        try:
            rg = time_rg(py, rg_name, kwargs, args.seconds)
        except Exception as e:  # a family missing from this reasoning-gym version
            print(f"{rg_name:<18} {ours + ' d' + str(level):<24} {'n/a':>11}   ({e})")
            continue
        us = time_ours(binary, ours, level, args.seconds)
        ratio = us / rg
        rows.append((rg_name, ours, level, rg, us, ratio))
        if ratio < args.min_ratio:
            failed.append(rg_name)
        print(f"{rg_name:<18} {ours + ' d' + str(level):<24} {rg:>11,.0f} {us:>16,.0f} {ratio:>7,.1f}x", flush=True)
    if failed:
        print(f"under {args.min_ratio}x: {', '.join(failed)}")
        sys.exit(1)
    print(f"every compared family is at least {args.min_ratio}x faster")


if __name__ == "__main__":
    main()
