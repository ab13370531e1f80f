#!/usr/bin/env python3
"""Serves any reasoning-gym dataset as a verigym environment over the JSON-lines protocol,
with reasoning-gym's own generator and scorer.

    pip install reasoning-gym
    # envs.toml
    [[env]]
    name = "rg_basic_arithmetic"
    command = ["python3", "examples/reasoning_gym_env.py", "basic_arithmetic"]
    workers = 2

    verigym sample --envs-file envs.toml --env rg_basic_arithmetic --n 5
    verigym train grpo --set envs_file="envs.toml" --set 'envs=[{name="rg_basic_arithmetic"}]'

    python3 examples/reasoning_gym_env.py NAME [--config JSON]

Task (seed, index) is item `index` of `create_dataset(NAME, seed=seed, size=SIZE, **config)`,
where config is --config merged with the request's config (verigym's difficulty level is
ignored: reasoning-gym difficulty lives in each dataset's own config). The gold answer sent
with each task is the whole reasoning-gym entry, so `verify` can hand it back to the
dataset's `score_answer`; a completion is correct when that score is 1.
"""
import argparse
import json
import sys

# Items are addressed by index below this bound (reasoning-gym items depend on seed and
# index, not on the dataset's size).
SIZE = 1_000_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a reasoning-gym dataset name, e.g. basic_arithmetic")
    parser.add_argument("--config", default="{}", help="JSON config for create_dataset")
    args = parser.parse_args()
    import reasoning_gym

    base = json.loads(args.config)
    datasets = {}

    def dataset(seed, config):
        key = (seed, json.dumps(config, sort_keys=True))
        if key not in datasets:
            datasets[key] = reasoning_gym.create_dataset(args.name, seed=seed, size=SIZE, **config)
        return datasets[key]

    # The dataset the scorer comes from (scoring does not depend on the seed).
    scorer = dataset(0, base)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "describe":
                reply = {"name": args.name, "domain": "logic",
                         "description": f"reasoning-gym's {args.name} (its own generator and scorer)"}
            elif op == "generate":
                config = {**base, **(req.get("config") or {})}
                index = int(req["index"])
                if not 0 <= index < SIZE:
                    raise ValueError(f"index must be below {SIZE}")
                entry = dataset(int(req["seed"]), config)[index]
                entry = json.loads(json.dumps(entry, default=str))
                answer = str(entry["answer"])
                reply = {
                    "question": entry["question"],
                    "answer": entry,
                    "solution": "<think>The reference answer of reasoning-gym.</think>\n"
                                f"<answer>{answer}</answer>",
                }
            elif op == "verify":
                score = float(scorer.score_answer(answer=req["completion"], entry=req["answer"]))
                reply = {"reward": score, "correct": score >= 1.0,
                         "reason": None if score >= 1.0 else "reasoning-gym scored it below 1"}
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as e:  # a bad request gets an error reply, never a dead process
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
