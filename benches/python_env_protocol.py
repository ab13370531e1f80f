#!/usr/bin/env python3
"""Throughput of a Python environment through verigym's JSON-lines process protocol, next to
calling the same Python functions in-process.

    python3 benches/python_env_protocol.py [--bin target/release/verigym] [--n 20000]
        [--reasoning-gym NAME]

The env is examples/python_env.py (reverse_word), a generator of a few microseconds, so the
protocol's own cost shows; with --reasoning-gym NAME (run with a Python that has
reasoning-gym installed) it is examples/reasoning_gym_env.py serving that dataset. In-process:
`generate` then `verify` of the reference answer, called in a loop in this interpreter
(reasoning-gym: the dataset's items and its `score_answer`). Through the protocol:
`verigym sample --envs-file F --env reverse_word --n N` (tasks made in parallel by verigym's
threads, each request answered by a free one of `workers` processes) and `verigym score` of
those tasks with their reference solutions (one verify request per line), for workers 1 and
2. Wall time from the command's start (process start-up and the start-up determinism check
included), and steady-state rates without the time of a one-task run. Prints one JSON
object. Standard library only.
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


def in_process_reasoning_gym(n, name):
    import reasoning_gym

    start = time.perf_counter()
    data = reasoning_gym.create_dataset(name, seed=0, size=n)
    entries = [data[i] for i in range(n)]
    generated = time.perf_counter()
    scores = [data.score_answer(answer=str(e["answer"]), entry=e) for e in entries]
    verified = time.perf_counter()
    assert all(s >= 1.0 for s in scores)
    return {"generate_per_s": n / (generated - start), "verify_per_s": n / (verified - generated)}


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


def through_protocol(binary, n, workers, folder, rg_name):
    envs = Path(folder) / f"envs-{workers}.toml"
    if rg_name:
        script = f"\"{ROOT / 'examples' / 'reasoning_gym_env.py'}\", \"{rg_name}\""
    else:
        script = f"\"{ROOT / 'examples' / 'python_env.py'}\""
    envs.write_text(
        "[[env]]\nname = \"bench_env\"\n"
        f"command = [\"{sys.executable}\", {script}]\n"
        f"workers = {workers}\ntimeout_s = 30\n"
    )
    common = ["--envs-file", str(envs), "--env", "bench_env"]

    def sample(count):
        return subprocess.run(
            [binary, "sample", *common, "--n", str(count), "--difficulty", str(DIFFICULTY)],
            check=True, capture_output=True, text=True,
        ).stdout

    def score(lines):
        return subprocess.run(
            [binary, "score", *common], input="\n".join(lines) + "\n",
            check=True, capture_output=True, text=True,
        ).stdout

    def timed(f, *a):
        t0 = time.perf_counter()
        out = f(*a)
        return out, time.perf_counter() - t0

    one, sample_startup = timed(sample, 1)
    tasks, sample_s = timed(sample, n)
    lines = []
    for line in tasks.splitlines():
        task = json.loads(line)
        task["completion"] = task["solution"]
        lines.append(json.dumps(task))
    assert len(lines) == n
    _, score_startup = timed(score, lines[:1])
    verdicts, score_s = timed(score, lines)
    rewards = [json.loads(l)["reward"] for l in verdicts.splitlines()]
    assert len(rewards) == n and all(r == 1.0 for r in rewards)
    return {
        "generate_per_s": n / sample_s,
        "verify_per_s": n / score_s,
        # Without the start-up (processes, imports, the determinism check): a one-task run's time.
        "generate_per_s_steady": (n - 1) / max(sample_s - sample_startup, 1e-9),
        "verify_per_s_steady": (n - 1) / max(score_s - score_startup, 1e-9),
        "startup_s": round(sample_startup, 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "verigym"))
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--reasoning-gym", metavar="NAME", help="a reasoning-gym dataset instead")
    args = ap.parse_args()
    rg = args.reasoning_gym
    base = in_process_reasoning_gym(args.n, rg) if rg else in_process(args.n)
    report = {"env": f"reasoning_gym:{rg}" if rg else "reverse_word", "n": args.n,
              "cpus": os.cpu_count(), "in_process": base}
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            report[f"protocol_workers_{workers}"] = through_protocol(args.bin, args.n, workers, folder, rg)
    for workers in (1, 2):
        got = report[f"protocol_workers_{workers}"]
        for op in ("generate_per_s", "verify_per_s"):
            got[op.replace("_per_s", "_vs_in_process")] = round(got[op] / base[op], 3)
            steady = got[op + "_steady"]
            got[op.replace("_per_s", "_steady_vs_in_process")] = round(steady / base[op], 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
