"""The Ray and TRL examples run end to end on small inputs."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT


def run_example(name, *args, timeout=600):
    # A loaded CI machine can take longer than Ray's default 10 s to start a raylet.
    env = {**os.environ, "RAY_raylet_start_wait_time_s": "120"}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args],
                         capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ray_scoring_example():
    pytest.importorskip("ray")
    result = run_example("ray_scoring.py", "--n", "3000", "--workers", "2", "--batch-size", "500")
    assert set(result) == {"items", "workers", "verdicts_per_s", "mean_reward"}
    assert result["items"] == 3000 and result["workers"] == 2 and result["verdicts_per_s"] > 0
    # Half the stand-in completions are reference solutions (reward 1), the rest mostly wrong.
    assert 0.45 < result["mean_reward"] < 0.8


def test_trl_grpo_example_runs_a_step():
    pytest.importorskip("trl")
    result = run_example("trl_grpo.py", "--steps", "1")
    assert result["steps"] == 1 and result["reward"] is not None
