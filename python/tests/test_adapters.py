"""The TRL, reasoning-gym and veRL adapters give the rewards `verigym score` gives."""

import json

import pytest
import verigym
import verigym.reasoning_gym as rg
import verigym.trl
import verigym.verl
from conftest import cli, with_completions


def cli_rewards(env, tasks, completions):
    stdin = "".join(json.dumps({**t, "completion": c}) + "\n" for t, c in zip(tasks, completions))
    return [json.loads(l)["reward"] for l in cli("score", "--env", env, stdin=stdin).splitlines()]


def test_trl_reward_function_reads_the_task_column():
    rows = verigym.trl.dataset("countdown", n=10, seed=4) + verigym.trl.dataset("arithmetic", n=10, seed=4)
    tasks = [json.loads(r["task"]) for r in rows]
    completions = with_completions(tasks)
    reward = verigym.trl.reward_function()
    got = reward([r["prompt"] for r in rows], completions, task=[r["task"] for r in rows], trainer_state=None)
    expected = cli_rewards("countdown", tasks[:10], completions[:10]) + cli_rewards(
        "arithmetic", tasks[10:], completions[10:]
    )
    assert got == expected and 1.0 in got and 0.0 in got
    # Conversational completions, and records rather than JSON text in the column.
    chat = [[{"role": "assistant", "content": c}] for c in completions]
    assert reward([], chat, task=tasks) == expected
    assert verigym.trl.dataset("countdown", n=1, seed=4, chat=True)[0]["prompt"][0]["role"] == "user"


def test_trl_reward_function_names_a_missing_column():
    with pytest.raises(ValueError, match="no 'task' column"):
        verigym.trl.reward_function()(["p"], ["c"], answer=["1"])
    with pytest.raises(ValueError, match=r"task\[0\]: not a JSON task record"):
        verigym.trl.reward_function()(["p"], ["c"], task=["{oops"])


def test_reasoning_gym_dataset_items_and_scores():
    data = rg.create_dataset("countdown", size=8, seed=42, difficulty=2)
    assert len(data) == 8
    items = list(data)
    tasks = verigym.Env("countdown", difficulty=2).sample_batch(8, seed=42)
    for entry, task in zip(items, tasks):
        assert set(entry) == {"question", "answer", "metadata"}
        assert entry["question"] == task["prompt"] and entry["metadata"]["task"] == task
        assert entry["metadata"]["source_index"] == task["index"]
        assert rg.score_answer(entry["answer"], entry) == 1.0
        assert data.score_answer(entry["answer"], entry) == 1.0
    completions = with_completions(tasks)
    assert [rg.score_answer(c, e) for c, e in zip(completions, items)] == cli_rewards(
        "countdown", tasks, completions
    )
    assert rg.score_answer(None, items[0]) == 0.0
    with pytest.raises(IndexError):
        data[8]
    with pytest.raises(KeyError, match="nope"):
        rg.create_dataset("nope", size=1, seed=0)
    with pytest.raises(ValueError, match="unknown field 'bogus'"):
        rg.create_dataset("countdown", size=1, seed=0, bogus=1)
    with pytest.raises(ValueError, match="metadata"):
        rg.score_answer("1", {"question": "q", "answer": "1", "metadata": {}})


def test_reasoning_gym_config_overrides_reach_generation():
    data = rg.create_dataset("countdown", size=5, seed=1, max_target=50)
    env = verigym.Env("countdown", config={"max_target": 50})
    assert [e["metadata"]["task"] for e in data] == env.sample_batch(5, seed=1)
    assert data.env.config["max_target"] == 50


def test_verl_compute_score_over_exported_rows(tmp_path):
    out = tmp_path / "train.jsonl"
    cli("export", "--env", "countdown,letter_counting", "--n", "10", "--seed", "2",
        "--format", "jsonl", "--out", str(out))
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    tasks = [json.loads(r["extra_info"]["task"]) for r in rows]
    completions = with_completions(tasks)
    got = [
        verigym.verl.compute_score(r["data_source"], c, r["reward_model"]["ground_truth"], r["extra_info"])
        for r, c in zip(rows, completions)
    ]
    expected = cli_rewards("countdown", tasks[:10], completions[:10]) + cli_rewards(
        "letter_counting", tasks[10:], completions[10:]
    )
    assert got == expected and 1.0 in got
    batch = verigym.verl.compute_score_batch(
        [r["data_source"] for r in rows], completions,
        [r["reward_model"]["ground_truth"] for r in rows], [r["extra_info"] for r in rows],
    )
    assert batch == expected
    with pytest.raises(ValueError, match=r"extra_info\['task'\]"):
        verigym.verl.compute_score("verigym/countdown", "1", "{}", None)
