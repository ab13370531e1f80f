"""Type stubs of the Rust extension module (re-exported by ``verigym``)."""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

Task = Dict[str, Any]
"""A task record as ``verigym sample`` prints it: env, seed, index, difficulty, prompt,
answer, solution, question."""

Verdict = Dict[str, Any]
"""A ``verigym score`` record: reward, correct, components, extracted?, reason?, line,
seed, index."""

def list_envs() -> List[Dict[str, Any]]:
    """Every environment: ``{"name", "domain", "description", "difficulty": [1, 10]}``, as
    ``verigym list --json`` prints."""

class Env:
    """One environment at a difficulty level (default 3) with optional config overrides.

    Raises ``KeyError`` for an unknown name (the message lists the known names) and
    ``ValueError`` for a bad difficulty or config."""

    def __init__(
        self,
        name: str,
        difficulty: Optional[int] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def difficulty(self) -> int: ...
    @property
    def domain(self) -> str: ...
    @property
    def config(self) -> Dict[str, Any]:
        """The resolved config: the difficulty's config with the overrides merged in."""
    def sample(self, seed: int, index: int) -> Task:
        """Task ``index`` of ``seed``; the same on every machine and every run."""
    def sample_batch(self, n: int, seed: int, start: int = 0) -> List[Task]:
        """Tasks ``start .. start + n`` of ``seed``, on all cores without the GIL."""
    def score(self, task: Mapping[str, Any], completion: str) -> Verdict:
        """Grades one completion; ``ValueError`` if ``task`` is not a task record of this env."""
    def score_batch(
        self, tasks: Sequence[Union[Mapping[str, Any], str]], completions: Sequence[str]
    ) -> List[Verdict]:
        """Grades ``completions[i]`` of ``tasks[i]`` on all cores without the GIL; record
        ``i`` has ``"line": i + 1``. A task is a record or its JSON text (parsed in Rust,
        off the GIL). ``ValueError`` names the first bad task."""

def verify_math(
    gold: str, completion: str, options: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """``{"equal", "extracted", "reason"}`` (+ ``"method"`` when equal), as
    ``verigym verify math`` writes. Options: ``allow_unevaluated``, ``float_tolerance``,
    ``strict_extraction``."""

def verify_math_batch(
    golds: Sequence[str],
    completions: Sequence[str],
    options: Optional[Mapping[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """``verify_math`` over pairs, on all cores without the GIL."""
