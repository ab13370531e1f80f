#!/usr/bin/env python3
"""Load on `verigym serve`: N concurrent chat requests against the server, completion
tokens per second from the first request sent to the last reply received, next to
`verigym bench sample` at the same batch, prompt length and new tokens on the same
checkpoint (the target: serve >= 80% of bench sample).

    python3 benches/serve_load.py [--bin target/release/verigym] [--model DIR]
        [--requests 64] [--prompt-len 32] [--new-tokens 128] [--rounds 3]

Without --model it makes the random 3.5 M-parameter Llama of the sampling comparison
(vocab 512, hidden 256, 4 layers; built-in tokenizer) in a temporary folder. Requests use
temperature 1, a seed each and `ignore_eos`, so every one makes exactly --new-tokens, as
bench sample's sequences do; their prompts render to --prompt-len tokens with the built-in
chat template. Standard library only. Prints one JSON object.
"""

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "vocab_size": 512,
    "hidden_size": 256,
    "intermediate_size": 768,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "max_position_embeddings": 1024,
}
# <bos> "user: " ... "\n" "assistant: " of the built-in template, in tokens (bytes).
CHAT_OVERHEAD = 19


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
    return json.loads(out.stdout)


def post(host, port, body):
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{resp.status}: {data}")
    return data


def one_round(host, port, requests, content_len, new_tokens, round_no):
    bodies = []
    for i in range(requests):
        content = f"req {round_no}-{i} " + "x" * content_len
        bodies.append(
            {
                "messages": [{"role": "user", "content": content[:content_len]}],
                "max_tokens": new_tokens,
                "temperature": 1.0,
                "seed": round_no * 1000 + i,
                "ignore_eos": True,
            }
        )
    replies = [None] * requests
    errors = []
    start = threading.Barrier(requests + 1)

    def worker(i):
        start.wait()
        try:
            replies[i] = post(host, port, bodies[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"request {i}: {e}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(requests)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    if errors:
        sys.exit("; ".join(errors[:5]))
    made = sum(r["usage"]["completion_tokens"] for r in replies)
    prompt = sum(r["usage"]["prompt_tokens"] for r in replies) / requests
    return made, secs, prompt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "verigym"))
    ap.add_argument("--model", help="checkpoint folder (default: a random 3.5 M Llama)")
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model = args.model
    if model is None:
        model = str(Path(tmp.name) / "llama-3.5m")
        init = [args.bin, "checkpoint", "init", "--config", json.dumps(CONFIG), "--out", model]
        subprocess.run(init, check=True)
    bench = run_json(
        [args.bin, "bench", "sample", "--model", model, "--batch", str(args.requests),
         "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens),
         "--repeats", str(args.rounds)]
    )
    proc = subprocess.Popen(
        [args.bin, "serve", "--model", model, "--port", "0", "--max-batch", str(args.requests)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        if "listening on http://" not in line:
            sys.exit(f"no listening line from verigym serve: {line!r}")
        host, port = line.strip().rsplit("/", 1)[-1].rsplit(":", 1)
        port = int(port)
        content_len = max(1, args.prompt_len - CHAT_OVERHEAD)
        one_round(host, port, 4, content_len, 8, 999)  # warm-up
        best = None
        for r in range(args.rounds):
            made, secs, prompt = one_round(host, port, args.requests, content_len, args.new_tokens, r)
            if made != args.requests * args.new_tokens:
                sys.exit(f"expected {args.requests * args.new_tokens} tokens, got {made}")
            if best is None or secs < best[1]:
                best = (made, secs, prompt)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    made, secs, prompt = best
    serve_tps = made / secs
    print(json.dumps({
        "serve_tokens_per_s": round(serve_tps, 1),
        "bench_sample_tokens_per_s": bench["tokens_per_s"],
        "ratio": round(serve_tps / bench["tokens_per_s"], 3),
        "requests": args.requests,
        "prompt_tokens_mean": prompt,
        "new_tokens": args.new_tokens,
        "serve_seconds": round(secs, 3),
        "bench_seconds": round(bench["seconds"], 3),
        "rounds": args.rounds,
        "device": bench.get("device"),
        "params": bench.get("params"),
    }))


if __name__ == "__main__":
    main()
