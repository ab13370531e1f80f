"""reasoning-gym-compatible datasets: ``create_dataset(name, size, seed, **config)`` whose
items are ``{"question", "answer", "metadata"}``, and ``score_answer(answer, entry)``.

Code written against reasoning-gym swaps the import::

    import verigym.reasoning_gym as rg
    data = rg.create_dataset("countdown", size=10, seed=42)
    for entry in data:
        print(entry["question"], rg.score_answer(entry["answer"], entry))   # ... 1.0

``question`` is the full prompt (problem and answer-format instructions), ``answer`` the
reference final answer, and ``metadata["task"]`` the verigym task record it was made from.
"""

import re
from typing import Any, Dict, Iterator, Mapping, Optional

from ._tasks import EnvCache, as_task
from ._verigym import Env

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_envs = EnvCache()


def _reference_answer(task: Mapping[str, Any]) -> str:
    """The final answer of the task's reference solution (the text inside ``<answer>``)."""
    found = _ANSWER.findall(task.get("solution") or "")
    return found[-1].strip() if found else ""


class VerigymDataset:
    """A fixed-size, seeded dataset of one env, generated on demand like reasoning-gym's
    ``ProceduralDataset``: item ``i`` is task ``i`` of ``seed``."""

    def __init__(self, name: str, size: int = 500, seed: int = 42, difficulty: Optional[int] = None, **config: Any):
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        self.name = name
        self.size = size
        self.seed = seed
        self.env = Env(name, difficulty=difficulty, config=config or None)
        self._scorer = EnvCache(config or None)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Dict[str, Any]:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for a dataset of size {self.size}")
        task = self.env.sample(self.seed, index)
        return {
            "question": task["prompt"] if isinstance(task["prompt"], str) else task["question"],
            "answer": _reference_answer(task),
            "metadata": {
                "source_dataset": self.name,
                "source_index": index,
                "difficulty": task["difficulty"],
                "task": task,
            },
        }

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        for i in range(self.size):
            yield self[i]

    def score_answer(self, answer: Optional[str], entry: Mapping[str, Any]) -> float:
        """Reward in [0, 1] of ``answer`` (a bare answer or a whole completion) for ``entry``."""
        return _score(self._scorer, answer, entry)


def create_dataset(name: str, size: int = 500, seed: int = 42, difficulty: Optional[int] = None, **config: Any) -> VerigymDataset:
    """``size`` tasks of env ``name`` from ``seed``; ``config`` overrides the difficulty's
    config fields (``KeyError`` for an unknown env, ``ValueError`` for a bad config)."""
    return VerigymDataset(name, size=size, seed=seed, difficulty=difficulty, **config)


def _score(envs: EnvCache, answer: Optional[str], entry: Mapping[str, Any]) -> float:
    metadata = entry.get("metadata") if isinstance(entry, Mapping) else None
    if not isinstance(metadata, Mapping) or "task" not in metadata:
        raise ValueError("entry has no metadata['task']; pass an item of a verigym dataset")
    if answer is None:
        return 0.0
    task = as_task(metadata["task"], "metadata['task']")
    return envs.score([task], [answer])[0]["reward"]


def score_answer(answer: Optional[str], entry: Mapping[str, Any]) -> float:
    """Reward in [0, 1] of ``answer`` for a dataset ``entry`` (graded with the env's default
    config at the entry's difficulty; use the dataset's own ``score_answer`` when it was
    made with config overrides)."""
    return _score(_envs, answer, entry)
