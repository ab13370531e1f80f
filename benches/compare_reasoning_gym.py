#!/usr/bin/env python3
"""Generation speed of verigym against reasoning-gym, one core, same run.

Creates a throw-away venv under /tmp with reasoning-gym from PyPI (reused across runs if it
is already there), builds the puzzles bench of verigym-envs in release mode, then, with
every timed process pinned to one CPU, times for every family in FAMILIES:
  * reasoning-gym: `create_dataset(name, size=N, seed=..., **kwargs)` and indexing items
    one after another (items are generated on access), in a child of the venv's Python;
  * verigym: `Environment::generate` (the whole task: prompt, gold, reference solution)
    in a loop on one thread, via the bench binary's VERIGYM_RATES mode.
The two sides alternate family by family, so both see the same machine load.
Prints tasks/second for both and the ratio, then the geometric mean of the ratios; exits 1
if any family is under --min-ratio (3x) or the geometric mean under --min-geomean (10x).

Adding a family is one line in FAMILIES:
    (reasoning-gym name, verigym name, verigym difficulty, reasoning-gym kwargs, verigym overrides)
Both sides should generate tasks of the same size: take reasoning-gym's defaults and pick
the verigym level (plus config overrides) that matches them, or set reasoning-gym's kwargs
to match a verigym level; the comment on each line says which.

Usage: python3 benches/compare_reasoning_gym.py [--seconds 2] [--only sudoku,maze]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

FAMILIES = [
    # rg name          verigym name         level rg kwargs / verigym overrides; how they match
    ("countdown",      "countdown",          10, {}, {}),   # 4-6 numbers <= 100, target < 1000 | 6 numbers, target <= 1000
    ("cryptarithm",    "cryptarithm",         6, {}, {"unique": False}),  # 2-3 addends; rg does not check uniqueness
    ("graph_color",    "graph_colouring",     4, {}, {"colours": 3, "edge_probability": 0.15}),  # 10 vertices, 3 colours, ~10% edges
    ("knights_knaves", "knights_knaves",      3, {}, {}),   # rg 2 people depth 2 | 3 people depth 2
    ("maze",           "maze",                4, {}, {}),   # rg 5-10 grid, distance 5-10 | 8x8, distance >= 6
    ("mini_sudoku",    "mini_sudoku",         7, {}, {}),   # 4x4, 8-12 empty | 10 empty
    ("n_queens",       "n_queens",            6, {}, {}),   # 8x8, 1-7 removed | 8x8, 2-5 removed
    ("puzzle24",       "game_of_24",          5, {}, {}),   # four numbers 1-10 | four numbers 1-10
    ("sudoku",         "sudoku",              5, {}, {}),   # 9x9, 30-50 empty | 9x9, 45 empty
    ("syllogism",      "syllogisms",          1, {}, {}),   # 3 terms
    ("tower_of_hanoi", "tower_of_hanoi",      5, {"min_disks": 4, "max_disks": 5, "max_pegs": 3}, {}),  # 4-5 disks, 3 pegs
    ("word_ladder",    "word_ladder",         5, {}, {}),   # 4-letter words
    ("zebra_puzzles",  "zebra",               5, {}, {}),   # 4 houses x 4 attributes
    # algorithmic and character-level families (verigym overrides set to rg's defaults)
    ("base_conversion", "base_conversion",    3, {}, {"min_bits": 1, "max_bits": 10, "hex": True}),  # values 0-1000 | 1-10 bits, bases 2/10/16
    ("bitwise_arithmetic", "bit_operations",  7, {}, {}),   # rg nested expressions (difficulty 2) | 12 bits, 2-3 operations
    ("caesar_cipher",  "caesar_cipher",      10, {}, {"min_words": 3, "max_words": 20, "max_shift": 25, "encrypt_probability": 0.0, "crack_probability": 1.0}),  # 3-20 words, shift 1-25 not given
    ("calendar_arithmetic", "date_arithmetic", 3, {}, {"max_days": 100}),  # offsets <= 100 days
    ("game_of_life",   "game_of_life",        5, {}, {"min_side": 10, "max_side": 10, "steps": 1, "density": 0.1}),  # 10x10, 1 step, ~10 live cells
    ("letter_counting", "letter_counting",    7, {}, {"min_words": 5, "max_words": 15}),  # 5-15 words
    ("number_sorting", "sorting",             4, {}, {"min_len": 3, "max_len": 10, "min_value": -100, "max_value": 100}),  # 3-10 numbers in [-100, 100]
    ("palindrome_generation", "palindrome",   1, {}, {"min_letters": 3, "max_letters": 10}),  # 3-10 letters
    ("spell_backward", "spell_backward",      3, {}, {"min_letters": 3, "max_letters": 10}),  # words of 3-10 letters
    ("word_sequence_reversal", "word_reversal", 2, {}, {"min_words": 3, "max_words": 8}),  # 3-8 words
]

ROOT = Path(__file__).resolve().parent.parent
VENV = Path("/tmp/verigym-rg-venv")

RG_CHILD = r"""
import json, sys, time
import reasoning_gym
name, kwargs, seconds = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
try:
    size = 100000
    ds = reasoning_gym.create_dataset(name, size=size, seed=42, **kwargs)
except Exception:  # some generators precompute per item and cap the size
    size = 500
    ds = reasoning_gym.create_dataset(name, size=size, seed=42, **kwargs)
ds[0]  # warm-up: imports, word lists, caches
n, failed, t0 = 0, 0, time.perf_counter()
while True:
    try:
        ds[1 + n + failed]
        n += 1
    except Exception:  # a generator that gives up on an index: skip it, keep its time
        failed += 1
    elapsed = time.perf_counter() - t0
    if (elapsed >= seconds and n >= 5) or n + failed >= size - 2:
        break
print(json.dumps({"n": n, "failed": failed, "seconds": elapsed}))
"""


def ensure_venv():
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import reasoning_gym"], capture_output=True).returncode == 0:
        return py
    print(f"creating {VENV} and installing reasoning-gym ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "reasoning-gym"], check=True)
    return py


def build_bench():
    """Builds the puzzles bench and returns the path of its executable."""
    out = subprocess.run(["cargo", "bench", "-q", "-p", "verigym-envs", "--bench", "puzzles", "--no-run",
                          "--message-format=json"], cwd=ROOT, check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "puzzles" \
                and msg.get("executable"):
            return msg["executable"]
    raise RuntimeError("could not find the puzzles bench executable")


def pin():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def time_rg(py, name, kwargs, seconds):
    out = subprocess.run([str(py), "-c", RG_CHILD, name, json.dumps(kwargs), str(seconds)],
                         capture_output=True, text=True, preexec_fn=pin)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r["failed"]:
        print(f"  ({name}: reasoning-gym gave up on {r['failed']} indices; their time is included)")
    return r["n"] / r["seconds"]


def time_ours(bench, name, level, overrides, seconds):
    env = dict(os.environ, VERIGYM_RATES=f"{name}:{level}", VERIGYM_RATE_SECONDS=str(seconds),
               VERIGYM_RATE_CONFIG=json.dumps(overrides))
    out = subprocess.run([bench], env=env, capture_output=True, text=True, check=True, preexec_fn=pin)
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time spent per family and side")
    ap.add_argument("--only", default="", help="comma-separated verigym or reasoning-gym names")
    ap.add_argument("--min-ratio", type=float, default=3.0, help="least ratio for every family")
    ap.add_argument("--min-geomean", type=float, default=10.0,
                    help="least geometric mean of the ratios over the compared families")
    args = ap.parse_args()
    py = ensure_venv()
    bench = build_bench()
    only = {s for s in args.only.split(",") if s}
    rows, failed = [], []
    print(f"{'family':<18} {'verigym':<24} {'rg tasks/s':>11} {'verigym tasks/s':>16} {'ratio':>8}")
    for rg_name, ours, level, kwargs, overrides in FAMILIES:
        if only and rg_name not in only and ours not in only:
            continue
        try:
            rg = time_rg(py, rg_name, kwargs, args.seconds)
        except Exception as e:  # a family missing from this reasoning-gym version
            print(f"{rg_name:<18} {ours + ' d' + str(level):<24} {'n/a':>11}   ({e})")
            continue
        try:
            us = time_ours(bench, ours, level, overrides, args.seconds)
        except subprocess.CalledProcessError as e:  # e.g. a family this checkout lacks
            last = (e.stderr or "").strip().splitlines()
            print(f"{rg_name:<18} {ours + ' d' + str(level):<24} {rg:>11,.0f} {'error':>16}   ({last[-1] if last else e})")
            failed.append(rg_name)
            continue
        ratio = us / rg
        rows.append((rg_name, ours, level, rg, us, ratio))
        if ratio < args.min_ratio:
            failed.append(rg_name)
        print(f"{rg_name:<18} {ours + ' d' + str(level):<24} {rg:>11,.0f} {us:>16,.0f} {ratio:>7,.1f}x", flush=True)
    geomean = math.exp(sum(math.log(r[5]) for r in rows) / len(rows)) if rows else 0.0
    print(f"geometric mean over {len(rows)} families: {geomean:,.1f}x")
    if failed:
        print(f"under {args.min_ratio}x: {', '.join(failed)}")
    if geomean < args.min_geomean:
        print(f"geometric mean under {args.min_geomean}x")
    if failed or geomean < args.min_geomean:
        sys.exit(1)
    print(f"every compared family is at least {args.min_ratio}x faster, {geomean:,.1f}x on average")


if __name__ == "__main__":
    main()
