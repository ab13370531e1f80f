#!/usr/bin/env python3
"""verigym from Python: `Env.score_batch` against the Rust CLI and against math-verify on
the same items, and the reward server's verdicts/s under 64 concurrent clients.

Run inside a venv with the wheel (python/tests/run.sh makes target/py-venv):

    target/py-venv/bin/python benches/python_bindings.py [--n 200000] [--clients 64]

1. score_batch vs `verigym score`: N tasks of math envs with a mix of right and wrong
   completions. The CLI reads the JSONL file and writes verdict lines (process start
   included); score_batch takes the task dicts already in memory and returns dicts. Both
   on all cores; best of --repeats.
2. score_batch vs math-verify (`pip install "math-verify[antlr4_13_2]"`, installed into
   this venv when missing) on the same (gold, completion) pairs: the reference final
   answer as gold, math-verify given parse("$gold$") and parse(completion), one thread,
   on the first --mv-n pairs (it is slow).
3. The reward server: --clients keep-alive connections each posting /score with --items
   math tasks per request, for --seconds; verdicts/s = items answered / wall time.
Prints one JSON object.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import verigym

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("VERIGYM_BIN", str(ROOT / "target" / "release" / "verigym"))
ENVS = ["arithmetic", "fractions", "polynomial_expansion", "linear_equation"]
ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)


def items(n, seed=0):
    """n tasks over ENVS (equal shares) and completions: right, wrong, another's answer."""
    tasks, completions = [], []
    per = n // len(ENVS)
    for name in ENVS:
        batch = verigym.Env(name, difficulty=5).sample_batch(per, seed=seed)
        for i, t in enumerate(batch):
            kind = i % 3
            if kind == 0:
                completions.append(t["solution"])
            elif kind == 1:
                completions.append(batch[(i + 1) % per]["solution"])
            else:
                completions.append("<think>guess</think><answer>17/3</answer>")
        tasks += batch
    return tasks, completions


def bench_cli(tasks, completions, repeats):
    by_env = {}
    for t, c in zip(tasks, completions):
        by_env.setdefault(t["env"], []).append(json.dumps({**t, "completion": c}) + "\n")
    files = []
    for env, lines in by_env.items():
        f = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
        f.writelines(lines)
        f.close()
        files.append((env, f.name))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for env, path in files:
            with open(path) as stdin:
                subprocess.run([BIN, "score", "--env", env], stdin=stdin, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t0)
    for _, path in files:
        os.unlink(path)
    return len(tasks) / best


def bench_python(tasks, completions, repeats):
    envs = {name: verigym.Env(name) for name in ENVS}
    groups = {}
    for t, c in zip(tasks, completions):
        g = groups.setdefault(t["env"], ([], []))
        g[0].append(t)
        g[1].append(c)
    best = float("inf")
    rewards = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rewards = []
        for name, (ts, cs) in groups.items():
            rewards += [r["reward"] for r in envs[name].score_batch(ts, cs)]
        best = min(best, time.perf_counter() - t0)
    return len(tasks) / best, sum(rewards) / len(rewards)


def bench_math_verify(tasks, completions, n):
    try:
        from math_verify import parse, verify
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "math-verify[antlr4_13_2]"])
        from math_verify import parse, verify
    pairs = []
    for t, c in zip(tasks, completions):
        gold = ANSWER.findall(t["solution"])[-1]
        pairs.append((gold, c))
    # Interleave envs so the subset has every kind of answer.
    step = max(1, len(pairs) // n)
    sub = list(range(0, len(pairs), step))[:n]
    t0 = time.perf_counter()
    theirs = []
    for i in sub:
        gold, c = pairs[i]
        theirs.append(bool(verify(parse(f"${gold}$"), parse(c))))
    mv_rate = len(sub) / (time.perf_counter() - t0)
    # Ours on the same pairs: score_batch grades them against the same tasks.
    envs = {name: verigym.Env(name) for name in ENVS}
    reps = max(1, 20000 // len(sub))
    t0 = time.perf_counter()
    for _ in range(reps):
        for name in ENVS:
            idx = [i for i in sub if tasks[i]["env"] == name]
            envs[name].score_batch([tasks[i] for i in idx], [completions[i] for i in idx])
    ours = reps * len(sub) / (time.perf_counter() - t0)
    return mv_rate, ours, len(sub)


async def bench_server(tasks, completions, clients, per_request, seconds):
    proc = subprocess.Popen([BIN, "reward-server", "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        port = int(line.strip().rsplit(":", 1)[1])
        bodies = []
        for k in range(0, 64 * per_request, per_request):
            its = [{**tasks[(k + j) % len(tasks)], "completion": completions[(k + j) % len(tasks)]}
                   for j in range(per_request)]
            body = json.dumps({"items": its}).encode()
            bodies.append(b"POST /score HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body) + body)
        done = 0
        deadline = time.perf_counter() + seconds

        async def client(k):
            nonlocal done
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            req = bodies[k % len(bodies)]
            while time.perf_counter() < deadline:
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), head
                length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
                await reader.readexactly(length)
                done += per_request
            writer.close()

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        return done / (time.perf_counter() - t0)
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mv-n", type=int, default=400)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--items", type=int, default=16, help="items per /score request")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    tasks, completions = items(args.n)
    cli = bench_cli(tasks, completions, args.repeats)
    py, mean_reward = bench_python(tasks, completions, args.repeats)
    mv, ours_mv, mv_n = bench_math_verify(tasks, completions, args.mv_n)
    server = asyncio.run(bench_server(tasks, completions, args.clients, args.items, args.seconds))
    print(json.dumps({
        "items": len(tasks), "envs": ENVS, "cores": os.cpu_count(), "mean_reward": round(mean_reward, 4),
        "cli_verdicts_per_s": round(cli), "python_score_batch_verdicts_per_s": round(py),
        "python_vs_cli": round(py / cli, 3),
        "math_verify_pairs": mv_n, "math_verify_per_s": round(mv, 1),
        "score_batch_same_pairs_per_s": round(ours_mv), "vs_math_verify": round(ours_mv / mv, 1),
        "server_clients": args.clients, "server_items_per_request": args.items,
        "server_verdicts_per_s": round(server),
    }))


if __name__ == "__main__":
    main()
