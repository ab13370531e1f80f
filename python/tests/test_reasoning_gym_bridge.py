"""The reasoning-gym bridge (examples/reasoning_gym_env.py) serves reasoning-gym datasets
through the process protocol: `verigym sample` draws their tasks (the same ones on every
run), and `verigym score` grades with reasoning-gym's scorer: the reference solutions score
1, wrong answers 0."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, cli

DATASETS = ["basic_arithmetic", "chain_sum", "letter_counting", "spell_backward",
            "word_sorting", "gcd"]


@pytest.fixture(scope="module")
def envs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rg") / "envs.toml"
    bridge = ROOT / "examples" / "reasoning_gym_env.py"
    body = "".join(
        f'[[env]]\nname = "rg_{d}"\ncommand = ["{sys.executable}", "{bridge}", "{d}"]\n'
        f"workers = 2\ntimeout_s = 60\n"
        # Declared, so each command starts only the processes of the env it uses.
        f'domain = "logic"\ndescription = "reasoning-gym {d}"\n\n'
        for d in DATASETS
    )
    path.write_text(body)
    return str(path)


def test_envs_are_listed(envs_file):
    names = [json.loads(l)["name"] for l in cli("list", "--json", "--envs-file", envs_file).splitlines()]
    for d in DATASETS:
        assert f"rg_{d}" in names
    assert "arithmetic" in names


def test_the_bridge_describes_itself():
    bridge = ROOT / "examples" / "reasoning_gym_env.py"
    out = subprocess.run([sys.executable, str(bridge), "gcd"], input='{"op": "describe"}\n',
                         capture_output=True, text=True, timeout=120, check=True)
    reply = json.loads(out.stdout)
    assert reply["name"] == "gcd" and reply["domain"] == "logic" and reply["description"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_tasks_are_seeded_and_scored_by_reasoning_gym(envs_file, dataset):
    env = f"rg_{dataset}"
    args = ["sample", "--envs-file", envs_file, "--env", env, "--n", "8", "--seed", "5"]
    first = cli(*args)
    assert first == cli(*args), "the same tasks on every run"
    tasks = [json.loads(l) for l in first.splitlines()]
    assert len(tasks) == 8 and all("error" not in t for t in tasks)
    assert len({t["question"] for t in tasks}) > 1
    lines = []
    for t in tasks:
        lines.append(json.dumps({**t, "completion": t["solution"]}))
        lines.append(json.dumps({**t, "completion": "<think>no idea</think>\n<answer>zzz-not-it</answer>"}))
    verdicts = [json.loads(l) for l in cli("score", "--envs-file", envs_file, "--env", env,
                                           stdin="\n".join(lines) + "\n").splitlines()]
    assert [v["reward"] for v in verdicts[0::2]] == [1.0] * 8, verdicts[0::2]
    assert [v["correct"] for v in verdicts[1::2]] == [False] * 8
