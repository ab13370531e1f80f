"""`verigym reward-server` from Python clients: /score and /get_reward against `verigym score`."""

import json
import subprocess
import urllib.error
import urllib.request

import pytest
import verigym
from conftest import cli, verigym_bin, with_completions


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([verigym_bin(), "reward-server", "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    assert "http://127.0.0.1:" in line, line
    url = line.strip().rsplit(" ", 1)[-1]
    yield url
    proc.kill()
    proc.wait()


def post(url, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def items_and_expected():
    tasks = verigym.Env("arithmetic").sample_batch(20, seed=9) + verigym.Env("countdown").sample_batch(20, seed=9)
    completions = with_completions(tasks, seed=1)
    expected = []
    for env, part in (("arithmetic", slice(0, 20)), ("countdown", slice(20, 40))):
        stdin = "".join(json.dumps({**t, "completion": c}) + "\n" for t, c in zip(tasks[part], completions[part]))
        expected += [json.loads(l) for l in cli("score", "--env", env, stdin=stdin).splitlines()]
    for i, r in enumerate(expected):
        r["line"] = i + 1  # one request numbers its items 1..n
    return tasks, completions, expected


def test_health(server):
    with urllib.request.urlopen(server + "/health") as r:
        body = json.loads(r.read())
    assert body["status"] == "ok" and body["envs"] == len(verigym.list_envs())


def test_score_matches_verigym_score(server):
    tasks, completions, expected = items_and_expected()
    status, body = post(server + "/score", {"items": [{**t, "completion": c} for t, c in zip(tasks, completions)]})
    assert status == 200
    assert body["results"] == expected


def test_get_reward_is_openrlhf_shaped(server):
    tasks, completions, expected = items_and_expected()
    prompts = [t["prompt"] for t in tasks]
    payload = {
        "query": [p + c for p, c in zip(prompts, completions)],
        "prompts": prompts,
        "labels": [json.dumps(t) for t in tasks],
    }
    status, body = post(server + "/get_reward", payload)
    assert status == 200
    rewards = [r["reward"] for r in expected]
    assert body["rewards"] == rewards and body["scores"] == rewards
    assert body["extra_logs"]["correct"] == [1.0 if r["correct"] else 0.0 for r in expected]


def test_bad_requests_are_json_errors(server):
    status, body = post(server + "/score", b"{nope")
    assert status == 400 and "invalid JSON body" in body["error"]
    status, body = post(server + "/get_reward", {"query": ["x"], "prompts": ["y"], "labels": ["{}"]})
    assert status == 422 and body["error"].startswith("item 0")
