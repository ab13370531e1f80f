"""veRL adapter: ``compute_score`` for ``custom_reward_function`` over a dataset that
``verigym export`` wrote (the task record travels in ``extra_info["task"]``)::

    verigym export --env countdown,arithmetic --n 10000 --seed 0 --format parquet --out train.parquet

    # veRL config
    custom_reward_function:
      path: <site-packages>/verigym/verl.py
      name: compute_score
"""

from typing import Any, List, Mapping, Optional, Sequence

from ._tasks import EnvCache, as_task

_envs = EnvCache()


def _task(extra_info: Optional[Mapping[str, Any]], where: str):
    if not isinstance(extra_info, Mapping) or "task" not in extra_info:
        raise ValueError(
            f"{where}: extra_info must carry the task record in extra_info['task'], "
            "as `verigym export` writes it"
        )
    return as_task(extra_info["task"], f"{where}: extra_info['task']")


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Optional[Mapping[str, Any]] = None,
) -> float:
    """Reward in [0, 1] of ``solution_str`` for the task in ``extra_info["task"]``.
    ``data_source`` and ``ground_truth`` are what veRL passes; the task record holds both."""
    return _envs.score([_task(extra_info, "compute_score")], [solution_str])[0]["reward"]


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Optional[Mapping[str, Any]]],
) -> List[float]:
    """The batched form (veRL's ``BatchRewardManager``): scored on all cores."""
    tasks = [_task(e, f"item {i}") for i, e in enumerate(extra_infos)]
    return [r["reward"] for r in _envs.score(tasks, list(solution_strs))]
