"""TRL adapter: a reward function for ``GRPOTrainer`` that grades with verigym's verifiers.

The task travels in a dataset column (``"task"`` by default) as the record ``Env.sample``
returns, or its JSON text (what :func:`dataset` writes, since one Arrow column cannot hold
every env's answer spec)::

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    import verigym.trl

    train = Dataset.from_list(verigym.trl.dataset("countdown", n=256, seed=0))
    trainer = GRPOTrainer(model=model, reward_funcs=verigym.trl.reward_function(),
                          args=GRPOConfig(...), train_dataset=train)

A runnable script: ``examples/trl_grpo.py``.
"""

import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from ._tasks import EnvCache, as_task
from ._verigym import Env


def _completion_text(completion: Any) -> str:
    """A completion as text: TRL passes a string, or chat messages in conversational mode."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")
    raise ValueError(f"a completion must be a string or chat messages, not {type(completion).__name__}")


def reward_function(
    task_column: str = "task", config: Optional[Mapping[str, Any]] = None
) -> Callable[..., List[float]]:
    """A TRL reward function ``(prompts, completions, **columns) -> list[float]``.

    Each completion is graded against the task in ``columns[task_column]`` (a record or its
    JSON text) by that task's env at that task's difficulty, with ``config`` overrides."""
    envs = EnvCache(config)

    def verigym_reward(prompts: List[Any], completions: List[Any], **columns: Any) -> List[float]:
        if task_column not in columns:
            raise ValueError(
                f"the dataset has no {task_column!r} column; columns: {sorted(columns)}"
            )
        column = columns[task_column]
        tasks = [as_task(t, f"{task_column}[{i}]") for i, t in enumerate(column)]
        texts = [_completion_text(c) for c in completions]
        return [r["reward"] for r in envs.score(tasks, texts)]

    return verigym_reward


def dataset(
    env: str,
    n: int,
    seed: int = 0,
    difficulty: Optional[int] = None,
    config: Optional[Mapping[str, Any]] = None,
    chat: bool = False,
    start: int = 0,
) -> List[Dict[str, Any]]:
    """Rows ``{"prompt", "task"}`` for ``datasets.Dataset.from_list``: the prompt as text (or
    as one user message with ``chat=True``) and the task record as JSON text."""
    rows = []
    for task in Env(env, difficulty=difficulty, config=config).sample_batch(n, seed, start):
        prompt = task["prompt"]
        if isinstance(prompt, str) and chat:
            prompt = [{"role": "user", "content": prompt}]
        rows.append({"prompt": prompt, "task": json.dumps(task, ensure_ascii=False)})
    return rows
