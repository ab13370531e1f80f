#!/usr/bin/env python3
"""Scoring at scale on Ray: a Ray Data pipeline whose workers generate tasks and
completions and grade them with verigym, on a local Ray cluster (`ray.init()`), the way a
multi-node job does on `ray.init(address="auto")`.

Stage 1 (`generate`, Ray tasks) draws tasks by index and a completion for each from a stand-in policy
(the reference solution, another task's answer, or a wrong answer, chosen by a seeded RNG;
a real job reads completions from its sampler). Stage 2 (`Score`) runs `Env.score_batch` in
W actors, each keeping its `Env`s between batches. Tasks travel between stages as JSON text: one Arrow column cannot hold every
env's answer spec, and verigym parses the text in Rust without the GIL.

Prints one JSON line: {"items", "workers", "verdicts_per_s", "mean_reward"}.

    pip install ./python "ray[data]"
    python examples/ray_scoring.py --n 100000 --workers 2
"""

import argparse
import json
import random
import time

import numpy as np
import ray
import verigym


def generate(batch, envs, seed, difficulty):
    """Task `id` of env `envs[id % len(envs)]`, and one completion per task from a stand-in
    policy seeded by the batch's first id."""
    ids = batch["id"].tolist()
    made = {name: verigym.Env(name, difficulty=difficulty) for name in envs}
    tasks = [made[envs[i % len(envs)]].sample(seed, i) for i in ids]
    rng = random.Random(seed * 1_000_003 + ids[0])
    completions = []
    for t in tasks:
        roll = rng.random()
        if roll < 0.5:
            completions.append(t["solution"])
        elif roll < 0.75:
            completions.append(rng.choice(tasks)["solution"])
        else:
            completions.append("<think>guess</think><answer>0</answer>")
    return {
        "env": np.array([t["env"] for t in tasks]),
        "task": np.array([json.dumps(t) for t in tasks]),
        "completion": np.array(completions),
    }


class Score:
    """One verigym `Env` per env name, reused for every batch this actor scores."""

    def __init__(self):
        self.envs = {}

    def __call__(self, batch):
        names = batch["env"].tolist()
        tasks = batch["task"].tolist()
        completions = batch["completion"].tolist()
        rewards = np.zeros(len(tasks))
        for name in set(names):
            idx = [i for i, n in enumerate(names) if n == name]
            env = self.envs.setdefault(name, verigym.Env(name))
            records = env.score_batch([tasks[i] for i in idx], [completions[i] for i in idx])
            rewards[idx] = [r["reward"] for r in records]
        return {"reward": rewards}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="items to generate and score")
    ap.add_argument("--workers", type=int, default=2, help="scoring actors")
    ap.add_argument("--envs", default="arithmetic,countdown", help="comma-separated env names")
    ap.add_argument("--difficulty", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=2048)
    args = ap.parse_args()
    envs = args.envs.split(",")
    for name in envs:
        verigym.Env(name, difficulty=args.difficulty)  # fail here, not inside a worker

    # Logical CPUs: one per scoring actor plus one per generating task; each actor's
    # score_batch itself spreads over all the machine's cores.
    ray.init(num_cpus=2 * max(args.workers, 1), include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    blocks = max(1, -(-args.n // args.batch_size))
    start = time.perf_counter()
    rewards = (
        ray.data.range(args.n, override_num_blocks=blocks)
        .map_batches(generate, fn_kwargs=dict(envs=envs, seed=args.seed, difficulty=args.difficulty),
                     batch_size=None)
        .map_batches(Score, batch_size=args.batch_size,
                     compute=ray.data.ActorPoolStrategy(size=args.workers))
        .to_numpy_refs()
    )
    values = np.concatenate([r["reward"] for r in ray.get(rewards)])
    elapsed = time.perf_counter() - start
    ray.shutdown()
    print(json.dumps({
        "items": int(values.size),
        "workers": args.workers,
        "verdicts_per_s": round(values.size / elapsed, 1),
        "mean_reward": round(float(values.mean()), 4) if values.size else 0.0,
    }))


if __name__ == "__main__":
    main()
