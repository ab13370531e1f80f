"""The Python API against the CLI: byte-identical samples, identical verdicts, errors."""

import json

import pytest
import verigym
from conftest import cli, compact, with_completions

ALL_ENVS = [e["name"] for e in verigym.list_envs()]
# Envs whose verification runs code in the sandbox are graded by the CLI test suite.
# Multi-turn envs are scored from a single completion only as the episode's one turn, so
# their reference transcript does not earn full credit there (the CLI's `turns` input does).
SCORED_ENVS = [
    e["name"] for e in verigym.list_envs() if e["domain"] != "code" and not e["multi_turn"]
]
MULTI_TURN_ENVS = [e["name"] for e in verigym.list_envs() if e["multi_turn"]]


def test_list_envs_is_verigym_list_json():
    listed = [json.loads(l) for l in cli("list", "--json").splitlines()]
    assert verigym.list_envs() == listed
    assert len(listed) > 50 and {"countdown", "arithmetic"} <= set(ALL_ENVS)


@pytest.mark.parametrize("env", ALL_ENVS)
def test_sample_batch_is_verigym_sample_byte_for_byte(env):
    lines = cli("sample", "--env", env, "--n", "12", "--seed", "7", "--start", "3").splitlines()
    tasks = verigym.Env(env).sample_batch(12, seed=7, start=3)
    assert [compact(t) for t in tasks] == lines
    assert compact(verigym.Env(env).sample(7, 5)) == lines[2]


def test_difficulty_and_config_match_the_cli():
    args = ["--env", "countdown", "--n", "20", "--seed", "1", "--difficulty", "6"]
    cfg = {"max_target": 500}
    env = verigym.Env("countdown", difficulty=6, config=cfg)
    lines = cli("sample", *args, "--config", json.dumps(cfg)).splitlines()
    assert [compact(t) for t in env.sample_batch(20, seed=1)] == lines
    assert env.difficulty == 6 and env.config["max_target"] == 500 and env.domain == "puzzle"


@pytest.mark.parametrize("env", SCORED_ENVS)
def test_score_batch_is_verigym_score(env):
    tasks = verigym.Env(env, difficulty=4).sample_batch(15, seed=11)
    completions = with_completions(tasks)
    stdin = "".join(json.dumps({**t, "completion": c}) + "\n" for t, c in zip(tasks, completions))
    expected = cli("score", "--env", env, stdin=stdin).splitlines()
    got = verigym.Env(env).score_batch(tasks, completions)
    assert [compact(r) for r in got] == expected
    assert got[0]["reward"] == 1.0
    assert verigym.Env(env).score_batch([json.dumps(t) for t in tasks], completions) == got
    single = verigym.Env(env).score(tasks[2], completions[2])
    assert single == {**got[2], "line": 1}


@pytest.mark.parametrize("env", MULTI_TURN_ENVS)
def test_score_batch_of_a_multi_turn_env_is_verigym_score(env):
    tasks = verigym.Env(env).sample_batch(6, seed=11)
    completions = with_completions(tasks)
    stdin = "".join(json.dumps({**t, "completion": c}) + "\n" for t, c in zip(tasks, completions))
    expected = cli("score", "--env", env, stdin=stdin).splitlines()
    got = verigym.Env(env).score_batch(tasks, completions)
    assert [compact(r) for r in got] == expected
    assert len(MULTI_TURN_ENVS) == 6


def test_verify_math_is_verigym_verify_math():
    pairs = [
        ("\\frac{1}{2}", "so \\boxed{0.5}"),
        ("x^2+2x+1", "The final answer is (x+1)^2"),
        ("3", "<think>x</think>41 or 42"),
        ("[0, 1)", "\\boxed{[0,1)}"),
        ("2", ""),
    ]
    stdin = "".join(json.dumps({"gold": g, "completion": c}) + "\n" for g, c in pairs)
    expected = [json.loads(l) for l in cli("verify", "math", stdin=stdin).splitlines()]
    golds, comps = zip(*pairs)
    assert verigym.verify_math_batch(list(golds), list(comps)) == expected
    assert [verigym.verify_math(g, c) for g, c in pairs] == expected
    assert expected[0]["equal"] and not expected[2]["equal"]
    tol = verigym.verify_math("3.14159", "3.14", {"float_tolerance": 0.01})
    assert tol["equal"]


def test_unknown_env_is_a_key_error_listing_the_known_names():
    with pytest.raises(KeyError) as e:
        verigym.Env("nope")
    assert "nope" in str(e.value) and "countdown" in str(e.value) and "arithmetic" in str(e.value)


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"difficulty": 11}, "difficulty 11"),
        ({"difficulty": 300}, "difficulty 300"),
        ({"difficulty": -1}, "difficulty -1"),
        ({"config": {"digits": 3}}, "unknown field 'digits'"),
        ({"config": {"max_target": "many"}}, "invalid config for 'countdown'"),
        ({"config": "max_target=5"}, "config must be a dict"),
    ],
)
def test_bad_config_is_a_value_error(kwargs, says):
    with pytest.raises(ValueError, match=says):
        verigym.Env("countdown", **kwargs)


def test_bad_tasks_are_value_errors_naming_the_item():
    env = verigym.Env("arithmetic")
    tasks = env.sample_batch(3, seed=0)
    with pytest.raises(ValueError, match="3 tasks but 2 completions"):
        env.score_batch(tasks, ["a", "b"])
    with pytest.raises(ValueError, match=r"tasks\[1\]"):
        env.score_batch([tasks[0], {"env": "arithmetic"}, tasks[2]], ["a", "b", "c"])
    other = verigym.Env("countdown").sample(0, 0)
    with pytest.raises(ValueError, match="countdown"):
        env.score(other, "1")
    with pytest.raises(ValueError, match=r"tasks\[0\]"):
        env.score_batch([{**tasks[0], "difficulty": 42}], ["1"])
    with pytest.raises(ValueError, match=r"tasks\[0\]: not a task record"):
        env.score_batch(["{oops"], ["1"])
    with pytest.raises(TypeError):
        env.score_batch(tasks, "abc")
    with pytest.raises(ValueError, match="options"):
        verigym.verify_math("1", "1", {"nope": True})
    with pytest.raises(ValueError, match="golds"):
        verigym.verify_math_batch(["1"], [])


def test_batch_calls_release_the_gil():
    """Another Python thread keeps running while a long batch scores."""
    import threading

    env = verigym.Env("arithmetic", difficulty=8)
    tasks = env.sample_batch(40000, seed=0)
    completions = [t["solution"] for t in tasks]
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    t = threading.Thread(target=tick)
    t.start()
    before = len(ticks)
    env.score_batch(tasks, completions)
    during = len(ticks) - before
    stop.set()
    t.join()
    assert during > 3, "the ticker thread ran while score_batch held no GIL"
