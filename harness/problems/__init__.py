"""Problems: a reference module, the example space to fuzz it over, and how its rounding errors add up.

A problem is a :class:`Problem` record plus a few functions. Register one with :func:`register`; look one
up with :func:`get`. See :mod:`fusefuzz.harness.problems.conv2d_gelu_gap` for the headline problem.
"""

from __future__ import annotations

from .problem import _REGISTRY, SOURCES_ENV, Problem, ReferenceRaised, register

__all__ = ["SOURCES_ENV", "Problem", "ReferenceRaised", "get", "names", "register"]


def _from_source(name: str) -> Problem | None:
    """Rebuild a run-time problem from its recorded source (in a worker process)."""
    import json
    import os

    source = json.loads(os.environ.get(SOURCES_ENV) or "{}").get(name)
    if source is None:
        return None
    from . import kernelbench

    problem = kernelbench.from_source(source)
    _REGISTRY[name] = problem
    return problem


def _load_builtin() -> None:
    from . import conv2d_gelu_gap, layernorm, linear_gelu  # noqa: F401  (each registers itself)


def get(name: str) -> Problem:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        rebuilt = _from_source(name)
        if rebuilt is not None:
            return rebuilt
        raise ValueError(f"problem={name!r} is not registered; known: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)
