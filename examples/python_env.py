#!/usr/bin/env python3
"""A verigym environment in Python, served over the JSON-lines protocol (README: "Environments
in any language"): reverse a word. Standard library only.

    verigym sample --envs-file examples/python_envs.toml --env reverse_word --n 3

Each request is one JSON line on stdin, each reply one JSON line on stdout:
  {"op": "describe"}                                   -> {"name", "domain", "description"}
  {"op": "generate", "seed", "index", "difficulty", "config"} -> {"question", "answer", "solution"}
  {"op": "verify", "answer", "completion", ...}        -> {"reward", "correct", "reason"}
A task must be a function of (seed, index, difficulty, config). verigym adds the format
instructions and cuts the <answer> block out of the completion before `verify` (unless
describe says "raw": true).

`--fault crash|hang|garbage|random` makes it misbehave on generate (for verigym's tests).
"""
import json
import random
import sys

WORDS = ["apple", "banana", "cherry", "dragon", "emerald", "forest", "garden", "harbor",
         "island", "jungle", "kettle", "lantern", "meadow", "nectar", "orange", "pepper"]


def generate(seed, index, difficulty, config):
    rng = random.Random(f"reverse_word/{seed}/{index}/{difficulty}")
    n = max(1, min(int(config.get("words", difficulty)), 10))
    words = [rng.choice(WORDS) for _ in range(n)]
    text = " ".join(words)
    answer = text[::-1]
    thinking = f"Reading the {len(text)} characters of '{text}' from the last to the first."
    return {
        "question": f"Reverse the string '{text}' character by character.",
        "answer": answer,
        "solution": f"<think>{thinking}</think>\n<answer>{answer}</answer>",
    }


def verify(answer, completion):
    ok = completion.strip() == answer
    return {"reward": 1.0 if ok else 0.0, "correct": ok,
            "reason": None if ok else "not the reversed string"}


def main():
    fault = sys.argv[sys.argv.index("--fault") + 1] if "--fault" in sys.argv else None
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "describe":
            reply = {"name": "reverse_word", "domain": "text",
                     "description": "Reverse a string of words character by character"}
        elif op == "generate":
            if fault == "crash" and req["index"] > 0:
                sys.exit(3)
            if fault == "hang" and req["index"] > 0:
                import time
                time.sleep(3600)
            if fault == "garbage" and req["index"] > 0:
                print("this is not json", flush=True)
                continue
            reply = generate(req["seed"], req["index"], req["difficulty"], req.get("config") or {})
            if fault == "random":
                reply["question"] += f" ({random.random()})"
        elif op == "verify":
            reply = verify(req["answer"], req["completion"])
        else:
            reply = {"error": f"unknown op {op!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
