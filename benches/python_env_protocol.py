#!/usr/bin/env python3
"""Throughput of a Python environment through verigym's JSON-lines process protocol, next to
calling the same Python functions in-process.

    python3 benches/python_env_protocol.py [--bin target/release/verigym] [--n 20000]

The env is examples/python_env.py (reverse_word). In-process: `generate` then `verify` of
the reference answer, called in a loop in this interpreter. Through the protocol:
`verigym sample --envs-file F --env reverse_word --n N` (tasks made in parallel by verigym's
threads, each request answered by a free one of `workers` processes) and `verigym score` of
those tasks with their reference solutions (one verify request per line), for workers 1 and
2. Wall time from the command's start, so process start-up and the start-up determinism
check are included. Prints one JSON object. Standard library only.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIFFICULTY = 5


def in_process(n):
    spec = importlib.util.spec_from_file_location("python_env", ROOT / "examples" / "python_env.py")
    env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(env)
    start = time.perf_counter()
    tasks = [env.generate(0, i, DIFFICULTY, {}) for i in range(n)]
    generated = time.perf_counter()
    correct = sum(env.verify(t["answer"], t["answer"])["correct"] for t in tasks)
    verified = time.perf_counter()
    assert correct == n
    return {"generate_per_s": n / (generated - start), "verify_per_s": n / (verified - generated)}


def through_protocol(binary, n, workers, folder):
    envs = Path(folder) / f"envs-{workers}.toml"
    envs.write_text(
        "[[env]]\nname = \"reverse_word\"\n"
        f"command = [\"{sys.executable}\", \"{ROOT / 'examples' / 'python_env.py'}\"]\n"
        f"workers = {workers}\ntimeout_s = 30\n"
    )
    common = ["--envs-file", str(envs), "--env", "reverse_word"]
    start = time.perf_counter()
    sample = subprocess.run(
        [binary, "sample", *common, "--n", str(n), "--difficulty", str(DIFFICULTY)],
        check=True, capture_output=True, text=True,
    )
    generated = time.perf_counter()
    lines = []
    for line in sample.stdout.splitlines():
        task = json.loads(line)
        task["completion"] = task["solution"]
        lines.append(json.dumps(task))
    assert len(lines) == n
    start_score = time.perf_counter()
    score = subprocess.run(
        [binary, "score", *common], input="\n".join(lines) + "\n",
        check=True, capture_output=True, text=True,
    )
    verified = time.perf_counter()
    rewards = [json.loads(l)["reward"] for l in score.stdout.splitlines()]
    assert len(rewards) == n and all(r == 1.0 for r in rewards)
    return {"generate_per_s": n / (generated - start), "verify_per_s": n / (verified - start_score)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "verigym"))
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    report = {"n": args.n, "cpus": os.cpu_count(), "in_process": in_process(args.n)}
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            report[f"protocol_workers_{workers}"] = through_protocol(args.bin, args.n, workers, folder)
    base = report["in_process"]
    for workers in (1, 2):
        got = report[f"protocol_workers_{workers}"]
        for op in ("generate_per_s", "verify_per_s"):
            got[op.replace("_per_s", "_vs_in_process")] = round(got[op] / base[op], 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
