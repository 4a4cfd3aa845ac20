"""Config sweep: run every ``@triton.autotune`` kernel of a candidate one config at a time.

The interpreter cannot autotune (it tries to benchmark), and on a GPU the config the users' 4090 picks
may never be the one the dev GPU picks, so every config must be proven correct. For an example the
runner makes ``max(len(configs))`` passes; pass ``j`` pins config ``j mod len`` of every autotuner, so
each config of each kernel runs on every example. An autotuner with a single config never benchmarks,
on any backend, so pinning is a plain assignment of ``configs`` (restored afterwards).
"""

from __future__ import annotations

import contextlib
import functools
import types
from dataclasses import dataclass


@dataclass(frozen=True)
class Tuned:
    """One autotuned kernel found in a candidate module."""

    name: str
    autotuner: object

    @property
    def configs(self):
        return list(getattr(self.autotuner, "_fusefuzz_all_configs", self.autotuner.configs))


def _autotuner_type():
    try:
        from triton.runtime.autotuner import Autotuner
    except Exception:  # pragma: no cover
        return None
    return Autotuner


def find_autotuners(module: types.ModuleType) -> list[Tuned]:
    """Autotuners reachable from the module's globals (also under ``@triton.heuristics``)."""
    autotuner_cls = _autotuner_type()
    if autotuner_cls is None:
        return []
    found, seen = [], set()
    for name, value in sorted(vars(module).items()):
        obj, depth = value, 0
        while obj is not None and depth < 4:
            if isinstance(obj, autotuner_cls) and id(obj) not in seen:
                seen.add(id(obj))
                found.append(Tuned(name, obj))
                break
            obj, depth = getattr(obj, "fn", None), depth + 1
    return found


def describe_config(cfg) -> str:
    parts = [f"{k}={v}" for k, v in getattr(cfg, "kwargs", {}).items()]
    for attr in ("num_warps", "num_stages", "num_ctas", "maxnreg"):  # maxnreg: configs may differ by it alone
        v = getattr(cfg, attr, None)
        if v is not None and not (attr == "num_ctas" and v == 1):
            parts.append(f"{attr}={v}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Assignment:
    """Config index per autotuner for one pass of the sweep."""

    index: int
    picks: tuple  # ((Tuned, config), ...)

    def describe(self) -> str:
        if not self.picks:
            return "no autotuned kernels"
        return "; ".join(f"{t.name}[{describe_config(c)}]" for t, c in self.picks)


def sweep(tuned: list[Tuned]) -> list[Assignment]:
    if not tuned:
        return [Assignment(0, ())]
    n = max(len(t.configs) for t in tuned)
    return [Assignment(j, tuple((t, t.configs[j % len(t.configs)]) for t in tuned)) for j in range(n)]


def _as_if_tuning(autotuner, configs: list):
    """``autotuner.run`` that refuses what Triton's benchmarking refuses before any launch: with several configs,
    a meta-parameter passed explicitly that a config also sets. Pinned to one config, Triton would skip that check
    and fail later with a TypeError about duplicate keyword arguments; the candidate must see Triton's own error."""
    run = autotuner.run

    @functools.wraps(run)
    def checked(*args, **kwargs):
        for cfg in configs:
            conflicts = kwargs.keys() & getattr(cfg, "kwargs", {}).keys()
            if conflicts:  # Triton's words (triton/runtime/autotuner.py, Autotuner._bench)
                raise ValueError(f"Conflicting meta-parameters: {', '.join(conflicts)}."
                                 " Make sure that you don't re-define auto-tuned symbols.")
        return run(*args, **kwargs)

    return checked


@contextlib.contextmanager
def pinned(assignment: Assignment):
    """Make each autotuner of ``assignment`` see only its picked config (and check its arguments as it would
    with all of them, see :func:`_as_if_tuning`)."""
    saved = []
    for t, cfg in assignment.picks:
        at = t.autotuner
        if not hasattr(at, "_fusefuzz_all_configs"):
            at._fusefuzz_all_configs = list(at.configs)
        saved.append((at, at.configs, dict(getattr(at, "cache", {}) or {}), "run" in vars(at)))
        if len(at._fusefuzz_all_configs) > 1 and "run" not in vars(at):
            at.run = _as_if_tuning(at, at._fusefuzz_all_configs)
        at.configs = [cfg]
        if hasattr(at, "cache"):
            at.cache = {}
    try:
        yield assignment
    finally:
        for at, configs, cache, had_run in saved:
            at.configs = configs
            if hasattr(at, "cache"):
                at.cache = cache
            if not had_run:
                vars(at).pop("run", None)
