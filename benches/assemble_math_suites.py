#!/usr/bin/env python3
"""Assemble third-party math-equivalence test cases as data (gold, prediction, expected label).

Reads the labelled pairs that other graders publish in their test files and writes them, with
the source (repository, path, commit, line, test name) and the grader setting each case was
written under, to verifiers/tests/data/third_party_math_cases.jsonl. Only literal data is
taken: pytest `parametrize` tables are read with `ast.literal_eval`; nothing is executed.

Sources:
- huggingface/Math-Verify tests/*.py (parametrize tables), read from a local git mirror
  (`--math-verify-git`, a bare repository; the commit is recorded);
- hendrycks/math modeling/math_equivalence_test.py (unittest asserts, transcribed below);
- openai/simple-evals common.py EQUALITY_TEMPLATE (the labelled examples of the judge prompt,
  transcribed below).

A case "uses a non-default setting" when its test calls the grader with strict=False,
allow_set_relation_comp=True, a float_rounding other than 6, or without LaTeX extraction
(expression-only tests read "1,22" as a decimal comma, which LaTeX extraction does not).

Usage: python3 benches/assemble_math_suites.py --math-verify-git /path/to/Math-Verify/repo
"""

import argparse
import ast
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "verifiers" / "tests" / "data" / "third_party_math_cases.jsonl"
MV_FILES = [
    "tests/test_all.py",
    "tests/test_boxed.py",
    "tests/test_numina_cases.py",
    "tests/test_open_thoughts.py",
    "tests/test_yujianll.py",
]
MV_DEFAULTS = {"precision": 6, "strict": True, "allow_set_relation_comp": False,
               "match_types": ["latex", "expr"]}

# hendrycks/math modeling/math_equivalence_test.py: (test name, gold, prediction, expected).
HENDRYCKS = [
    ("test_fractions", "\\tfrac{1}{2} + \\frac1{72}", "\\\\frac{1}{2} + 2/3", False),
    ("test_order", "10, 4, -2", "4, 10, -2", False),
    ("test_order2", "10, 4, 2", "4, 12, 2", False),
    ("test_dfrac", "\\tfrac{1}{2} +\\! \\frac1{72}", "\\\\dfrac{1}{2} +\\frac{1}{72}", True),
    ("test_units", "10\\text{ units}", "10 ", True),
    ("test_units2", "10\\text{ units}", "100 ", False),
    ("test_dollars", "10", "\\$10", True),
    ("test_parentheses", "\\left(x-2\\right)\\left(x+2\\right)", "(x-2)(x+2)", True),
    ("test_decimals", "0.1, 4, 2", "4, .1, 2", False),
    ("test_decimals2", "0.1", ".1", True),
    ("test_percentage", "10\\%", "10", True),
    ("test_sqrt", "10\\sqrt{3} + \\sqrt4", "10\\sqrt3 + \\sqrt{4}", True),
    ("test_frac", "\\frac34i", "\\frac{3}{4}i", True),
    ("test_tfrac", "\\tfrac83", "\\frac{8}{3}", True),
    ("test_expression", "5x - 7y + 11z + 4 = 0", "x + y - z + 2 = 0", False),
    ("test_half", "1/2", "\\frac{1}{2}", True),
]

# openai/simple-evals common.py EQUALITY_TEMPLATE examples: (expression 1, expression 2, label).
SIMPLE_EVALS = [
    ("$2x+3$", "$3+2x$", True),
    ("3/2", "1.5", True),
    ("$x^2+2x+1$", "$y^2+2y+1$", False),
    ("$x^2+2x+1$", "$(x+1)^2$", True),
    ("3245/5", "649", False),
    ("2/(-3)", "-2/3", True),
    ("72 degrees", "72", True),
    ("64", "64 square feet", True),
]


def git_show(repo, rev, path):
    return subprocess.run(["git", "--git-dir", repo, "show", f"{rev}:{path}"],
                          check=True, capture_output=True, text=True).stdout


def call_settings(fn):
    """Keyword arguments of the grader call inside a test function."""
    found = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            for kw in node.keywords:
                try:
                    found[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    found[kw.arg] = ("param", getattr(kw.value, "id", "?"))
            return found, True
    return found, False


def math_verify_cases(repo, rev):
    out, skipped = [], 0
    for path in MV_FILES:
        tree = ast.parse(git_show(repo, rev, path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            kws, harness = call_settings(fn)
            for dec in fn.decorator_list:
                if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize"):
                    continue
                names = [n.strip() for n in ast.literal_eval(dec.args[0]).split(",")]
                for elt in dec.args[1].elts:
                    try:
                        row = dict(zip(names, ast.literal_eval(elt)))
                    except ValueError:
                        skipped += 1  # computed at run time (f-strings): not data
                        continue
                    gold = row.get("gold")
                    pred = row.get("pred")
                    expected = row.get("expected", row.get("result"))
                    if gold is None or pred is None or expected is None:
                        continue
                    settings = dict(MV_DEFAULTS) if harness else {}
                    for k, v in kws.items():
                        settings[k] = row[v[1]] if isinstance(v, tuple) else v
                    for k in ("precision", "allow_set_relation_comp"):
                        if k in row:
                            settings[k] = row[k]
                    default = (not harness) or (
                        settings.get("strict") is True
                        and settings.get("allow_set_relation_comp") is False
                        and settings.get("precision") == 6
                        and "latex" in settings.get("match_types", []))
                    out.append({
                        "source": "huggingface/Math-Verify", "path": path, "commit": rev,
                        "line": elt.lineno, "test": fn.name, "settings": settings,
                        "default_settings": default, "gold": gold, "pred": pred,
                        "expected": bool(expected),
                    })
    return out, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--math-verify-git", required=True)
    ap.add_argument("--rev", default="HEAD")
    args = ap.parse_args()
    rev = subprocess.run(["git", "--git-dir", args.math_verify_git, "rev-parse", args.rev],
                         check=True, capture_output=True, text=True).stdout.strip()
    cases, skipped = math_verify_cases(args.math_verify_git, rev)
    for name, g, p, e in HENDRYCKS:
        cases.append({"source": "hendrycks/math", "path": "modeling/math_equivalence_test.py",
                      "commit": "5f3bf91d13367550bed100240554fd11c25abe48", "test": name,
                      "settings": {}, "default_settings": True, "gold": g, "pred": p,
                      "expected": e})
    for g, p, e in SIMPLE_EVALS:
        cases.append({"source": "openai/simple-evals", "path": "common.py (EQUALITY_TEMPLATE)",
                      "test": "judge prompt example", "settings": {}, "default_settings": True,
                      "gold": g, "pred": p, "expected": e})
    with OUT.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    by = {}
    for c in cases:
        by[c["source"]] = by.get(c["source"], 0) + 1
    print(f"wrote {len(cases)} cases to {OUT} ({by}; {skipped} computed rows skipped; "
          f"{sum(not c['default_settings'] for c in cases)} use a non-default setting)")


if __name__ == "__main__":
    main()
