"""`verigym export`: veRL's schema in Parquet (read back with pyarrow and datasets) and JSONL."""

import json

import pyarrow.parquet as pq
import pytest
from conftest import cli


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    args = ["export", "--env", "countdown,arithmetic", "--n", "25", "--seed", "5", "--difficulty", "4"]
    cli(*args, "--format", "parquet", "--out", str(d / "train.parquet"))
    cli(*args, "--format", "jsonl", "--out", str(d / "train.jsonl"))
    return d


def test_parquet_reads_back_with_pyarrow_in_verl_schema(exported):
    table = pq.read_table(exported / "train.parquet")
    assert table.num_rows == 50
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows = table.to_pylist()
    jsonl = [json.loads(l) for l in (exported / "train.jsonl").read_text().splitlines()]
    assert rows == jsonl, "Parquet and JSONL hold the same rows"
    for env, part in (("countdown", rows[:25]), ("arithmetic", rows[25:])):
        sampled = cli("sample", "--env", env, "--n", "25", "--seed", "5", "--difficulty", "4").splitlines()
        assert [r["extra_info"]["task"] for r in part] == sampled, "extra_info.task is the sample line"
        for r, line in zip(part, sampled):
            task = json.loads(line)
            assert r["data_source"] == f"verigym/{env}"
            assert r["prompt"] == [{"role": "user", "content": task["prompt"]}]
            assert r["reward_model"] == {"style": "rule", "ground_truth": json.dumps(task["answer"], separators=(",", ":"), ensure_ascii=False)}
            assert r["extra_info"]["seed"] == 5 and r["extra_info"]["index"] == task["index"]
            assert r["extra_info"]["difficulty"] == 4
    assert {r["ability"] for r in rows} == {"puzzle", "math"}


def test_parquet_loads_with_datasets(exported):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(exported / "train.parquet"), split="train")
    assert len(ds) == 50 and ds[0]["prompt"][0]["role"] == "user"
    assert json.loads(ds[30]["extra_info"]["task"])["env"] == "arithmetic"


def test_unknown_env_exits_2():
    import subprocess

    from conftest import verigym_bin

    out = subprocess.run([verigym_bin(), "export", "--env", "countdown,nope", "--n", "1", "--format", "jsonl",
                          "--out", "/dev/null"], capture_output=True, text=True)
    assert out.returncode == 2 and "nope" in out.stderr and "countdown" in out.stderr
