#!/usr/bin/env python3
"""Compare verigym's math verifier with Hugging Face math-verify on the same pairs, in one run.

Creates a throw-away virtual environment under /tmp, pip installs math-verify into it, builds
`verigym` in release, then grades every pair of verifiers/tests/data/math_cases.txt with both:

- agreement between the two (math-verify given bare answer texts wrapped in $...$, and raw), and each side's accuracy against the case file's labels;
- every disagreement, with the case label and which side is right;
- single-thread throughput of each (pairs/s) and the ratio. Our side is timed through the
  release CLI (`RAYON_NUM_THREADS=1 verigym verify math`), process start and JSON included,
  on the same pairs repeated; math-verify is timed in-process (parse gold + parse answer +
  verify) on one thread.

Then the third-party suites (verifiers/tests/data/third_party_math_cases.jsonl, assembled by
benches/assemble_math_suites.py from other graders' test files, each case with its source):
agreement of each grader with the labels, on the cases written for the grader's default
settings and on all, and every case where verigym disagrees with the label. math-verify
grades these as their tests do (both sides parsed with extraction, the test's settings).

Usage: python3 benches/compare_math_verify.py [--reps-ours 400] [--reps-theirs 1] [--no-build]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "verifiers" / "tests" / "data" / "math_cases.txt"
SUITES = ROOT / "verifiers" / "tests" / "data" / "third_party_math_cases.jsonl"
VENV = Path(tempfile.gettempdir()) / "verigym-compare-math-verify-venv"
PKG = "math-verify[antlr4_13_2]"
BINARY = ROOT / "target" / "release" / "verigym"


def load_cases():
    cases, group = [], ""
    for n, raw in enumerate(CASES.read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith("## "):
            group = raw[3:].split(" — ")[0].strip()
            continue
        if raw.startswith("#") or not raw.strip():
            continue
        tag, rest = raw.split(" ", 1)
        if " ||| " in rest:
            gold, completion = rest.split(" ||| ", 1)
        else:
            gold, completion = rest.rstrip().removesuffix(" |||"), ""
        cases.append(
            {
                "line": n,
                "group": group,
                "expect": tag.startswith("="),
                "unevaluated": tag.endswith("u"),
                "gold": gold,
                "completion": completion.replace("⏎", "\n"),
            }
        )
    return cases


def ensure_venv():
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} and installing {PKG} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", PKG],
            check=True,
        )
    return py


# Runs inside the venv: grades every pair with math-verify, prints verdicts and timing.
THEIR_SIDE = r"""
import json, sys, time
from math_verify import parse, verify
cases = json.load(open(sys.argv[1]))
reps = int(sys.argv[2])

def grade(c):
    try:
        g = parse("$" + c["gold"] + "$")
        a = parse(c["completion"])
        return bool(verify(g, a))
    except Exception:
        return False

def wrapped(c):
    # math-verify extracts LaTeX only inside $...$ / \boxed{}; a bare answer text (no
    # delimiters, tags or newlines) is wrapped so that it gets a fair reading.
    t = c["completion"]
    bare = not any(m in t for m in ("$", "\\boxed", "\\fbox", "<think>", "</think>", "<answer>", "\n", "\\(", "\\["))
    return dict(c, completion=f"${t}$" if bare and t.strip() else t)

raw = [grade(c) for c in cases]  # also warms up sympy / the parser caches
fair = [wrapped(c) for c in cases]
verdicts = [grade(c) for c in fair]
t0 = time.perf_counter()
for _ in range(reps):
    for c in fair:
        grade(c)
elapsed = time.perf_counter() - t0
print(json.dumps({"verdicts": verdicts, "raw": raw, "seconds": elapsed, "pairs": reps * len(cases)}))
"""


# Runs inside the venv: grades the third-party cases with math-verify under each case's
# settings, as the test that wrote the case does.
THEIR_SUITES = r"""
import json, sys
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    s = c.get("settings") or {}
    try:
        if "match_types" in s:
            t = [LatexExtractionConfig(boxed_match_priority=0) if m == "latex" else ExprExtractionConfig()
                 for m in s["match_types"]]
            g, a = parse(c["gold"], t), parse(c["pred"], t)
            ok = verify(g, a, float_rounding=s.get("precision", 6), strict=s.get("strict", True),
                        allow_set_relation_comp=s.get("allow_set_relation_comp", False))
        else:
            ok = verify(parse(c["gold"]), parse(c["pred"]))
        out.append(bool(ok))
    except Exception:
        out.append(False)
print(json.dumps(out))
"""


def load_suites():
    return [json.loads(l) for l in SUITES.read_text(encoding="utf-8").splitlines() if l.strip()]


def run_theirs_suites(py, suites):
    with tempfile.TemporaryDirectory() as d:
        cf = Path(d) / "suites.json"
        cf.write_text(json.dumps(suites))
        script = Path(d) / "suites.py"
        script.write_text(THEIR_SUITES)
        out = subprocess.run([str(py), str(script), str(cf)], check=True, capture_output=True,
                             text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours_suites(suites):
    binary = BINARY
    data = "".join(json.dumps({"gold": c["gold"], "completion": c["pred"]}) + "\n" for c in suites)
    out = subprocess.run([str(binary), "verify", "math"], input=data, capture_output=True,
                         text=True, check=True)
    return [json.loads(l) for l in out.stdout.splitlines()]


def report_suites(py, skip_theirs=False):
    suites = load_suites()
    ours = run_ours_suites(suites)
    theirs = None if skip_theirs else run_theirs_suites(py, suites)
    print(f"third-party suites: {len(suites)} labelled pairs ({SUITES.relative_to(ROOT)})")
    sources = sorted({c["source"] for c in suites})
    for scope, pick in (("default settings", lambda c: c["default_settings"]), ("all", lambda c: True)):
        idx = [i for i, c in enumerate(suites) if pick(c)]
        o = sum(ours[i]["equal"] == suites[i]["expected"] for i in idx)
        line = f"  {scope}: verigym {o}/{len(idx)} = {100 * o / len(idx):.1f}%"
        if theirs is not None:
            t = sum(theirs[i] == suites[i]["expected"] for i in idx)
            line += f", math-verify {t}/{len(idx)} = {100 * t / len(idx):.1f}%"
        print(line)
        for src in sources:
            js = [i for i in idx if suites[i]["source"] == src]
            o = sum(ours[i]["equal"] == suites[i]["expected"] for i in js)
            print(f"    {src}: verigym {o}/{len(js)}")
    print("  cases where verigym differs from the label (* = written for a non-default setting):")
    for i, c in enumerate(suites):
        if ours[i]["equal"] != c["expected"]:
            mark = " " if c["default_settings"] else "*"
            mv = "" if theirs is None else f" math-verify={theirs[i]}"
            print(f"   {mark} {c['source']} {c['path']}:{c.get('line', c.get('test'))} "
                  f"gold={c['gold']!r} pred={c['pred']!r} label={c['expected']}{mv} "
                  f"extracted={ours[i].get('extracted')!r} reason={ours[i].get('reason')!r}")


def run_theirs(py, cases, reps):
    with tempfile.TemporaryDirectory() as d:
        cf = Path(d) / "cases.json"
        cf.write_text(json.dumps(cases))
        script = Path(d) / "theirs.py"
        script.write_text(THEIR_SIDE)
        out = subprocess.run(
            [str(py), str(script), str(cf), str(reps)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours(cases, reps, threads):
    binary = BINARY
    lines = []
    for c in cases:
        rec = {"gold": c["gold"], "completion": c["completion"]}
        if c["unevaluated"]:
            rec["options"] = {"allow_unevaluated": True}
        lines.append(json.dumps(rec))
    one = "\n".join(lines) + "\n"
    env = {**os.environ}
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    first = subprocess.run(
        [str(binary), "verify", "math"], input=one, capture_output=True, text=True, env=env
    )
    verdicts = [json.loads(l)["equal"] for l in first.stdout.splitlines()]
    data = one * reps
    t0 = time.perf_counter()
    subprocess.run(
        [str(binary), "verify", "math"],
        input=data,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    elapsed = time.perf_counter() - t0
    return {"verdicts": verdicts, "seconds": elapsed, "pairs": reps * len(cases)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps-ours", type=int, default=400)
    ap.add_argument("--reps-theirs", type=int, default=1)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--suites-only", action="store_true", help="only the third-party suites")
    ap.add_argument("--no-theirs", action="store_true", help="suites without math-verify")
    ap.add_argument("--binary", help="grade with this verigym binary (implies --no-build)")
    args = ap.parse_args()
    if args.binary:
        global BINARY
        BINARY = Path(args.binary)
        args.no_build = True

    cases = load_cases()
    if not args.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "verigym", "--bin", "verigym"],
            cwd=ROOT,
            check=True,
        )
    py = None if args.no_theirs else ensure_venv()
    if args.suites_only:
        report_suites(py, skip_theirs=args.no_theirs)
        return
    theirs = run_theirs(py, cases, args.reps_theirs)
    ours = run_ours(cases, args.reps_ours, threads=1)
    ours_all = run_ours(cases, args.reps_ours, threads=0)

    ov, tv = ours["verdicts"], theirs["verdicts"]
    assert len(ov) == len(tv) == len(cases), (len(ov), len(tv), len(cases))
    agree = sum(o == t for o, t in zip(ov, tv))
    ours_right = sum(o == c["expect"] for o, c in zip(ov, cases))
    theirs_right = sum(t == c["expect"] for t, c in zip(tv, cases))
    n = len(cases)
    raw_agree = sum(o == t for o, t in zip(ov, theirs["raw"]))
    raw_right = sum(t == c["expect"] for t, c in zip(theirs["raw"], cases))
    print(f"pairs: {n} (verifiers/tests/data/math_cases.txt)")
    print(
        f"math-verify on the raw completions (bare LaTeX not extracted): agreement "
        f"{raw_agree}/{n} = {100 * raw_agree / n:.1f}%, matches labels {raw_right}/{n}"
    )
    print("below: bare answer texts wrapped in $...$ for math-verify (its fair reading)")
    print(f"agreement with math-verify: {agree}/{n} = {100 * agree / n:.1f}%")
    print(f"matches the case labels: verigym {ours_right}/{n}, math-verify {theirs_right}/{n}")
    print()
    print("disagreements (label = the case file's expected verdict):")
    for o, t, c in zip(ov, tv, cases):
        if o == t:
            continue
        right = "verigym" if o == c["expect"] else "math-verify"
        print(
            f"  line {c['line']:3} [{c['group']}] gold={c['gold']!r} answer={c['completion']!r}: "
            f"verigym={o} math-verify={t} label={c['expect']} -> {right} is right"
        )
    print()
    ours_rate = ours["pairs"] / ours["seconds"]
    ours_all_rate = ours_all["pairs"] / ours_all["seconds"]
    theirs_rate = theirs["pairs"] / theirs["seconds"]
    print(f"math-verify, 1 thread: {theirs_rate:,.0f} pairs/s ({theirs['pairs']} pairs in {theirs['seconds']:.2f}s)")
    print(f"verigym CLI, 1 thread: {ours_rate:,.0f} pairs/s ({ours['pairs']} pairs in {ours['seconds']:.2f}s)")
    print(f"verigym CLI, all {os.cpu_count()} cores: {ours_all_rate:,.0f} pairs/s")
    print(f"single-thread speed ratio: {ours_rate / theirs_rate:,.0f}x")
    print()
    report_suites(py)


if __name__ == "__main__":
    main()
