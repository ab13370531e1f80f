"""Shared helpers of the adapters: task records from columns, and one Env per env name."""

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._verigym import Env

TaskLike = Union[str, Mapping[str, Any]]


def as_task(value: TaskLike, where: str) -> Dict[str, Any]:
    """A task record from a dict or from its JSON text (how datasets and Parquet carry it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: not a JSON task record: {e}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: a task record must be a dict or JSON text, not {type(value).__name__}")
    return dict(value)


class EnvCache:
    """One ``Env`` per env name (tasks carry their difficulty; config overrides are shared)."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None):
        self._config = dict(config) if config else None
        self._envs: Dict[str, Env] = {}

    def get(self, name: str) -> Env:
        env = self._envs.get(name)
        if env is None:
            env = self._envs[name] = Env(name, config=self._config)
        return env

    def score(self, tasks: Sequence[Dict[str, Any]], completions: Sequence[str]) -> List[Dict[str, Any]]:
        """``score_batch`` per env, results back in input order."""
        if len(tasks) != len(completions):
            raise ValueError(f"{len(tasks)} tasks but {len(completions)} completions")
        by_env: Dict[str, List[int]] = {}
        for i, t in enumerate(tasks):
            env = t.get("env")
            if not isinstance(env, str):
                raise ValueError(f"task {i} has no \"env\" field")
            by_env.setdefault(env, []).append(i)
        out: List[Dict[str, Any]] = [{}] * len(tasks)
        for name, idx in by_env.items():
            records = self.get(name).score_batch([tasks[i] for i in idx], [completions[i] for i in idx])
            for i, r in zip(idx, records):
                out[i] = r
        return out
