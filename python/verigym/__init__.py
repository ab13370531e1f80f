"""verigym from Python: seeded environments and strict verifiers, without libtorch.

>>> import verigym
>>> env = verigym.Env("countdown", difficulty=2)
>>> task = env.sample(seed=0, index=0)
>>> env.score(task, task["solution"])["reward"]
1.0

Batch calls (``Env.sample_batch``, ``Env.score_batch``, ``verify_math_batch``) release the
GIL and run on all cores. Adapters: ``verigym.trl``, ``verigym.reasoning_gym``,
``verigym.verl``.
"""

from ._verigym import Env, list_envs, verify_math, verify_math_batch

__all__ = ["Env", "list_envs", "verify_math", "verify_math_batch"]
