"""An example's first call of an autotuned kernel, as a user's first call would run it.

On the first call of a key, Triton's ``Autotuner.run`` benchmarks every (pruned) config **on the caller's own
arguments**, each several times, then launches the best one once more. A kernel that accumulates into its output
(``tl.atomic_add`` into a zero-filled tensor) without ``reset_to_zero=[...]`` therefore returns a first answer that
holds every benchmark launch's contribution too. The config sweep (:mod:`fusefuzz.harness.configs`) pins one config
at a time, so the autotuner never benchmarks there and the bug stays hidden: :func:`as_first_call` undoes that.

* On a GPU Triton's own autotuner runs: the per-key cache is emptied and its disk cache is not consulted.
* In the interpreter Triton's autotuner cannot time anything (no driver), so only its timer is replaced:
  :func:`emulated_bench` launches each config :data:`EMULATED_LAUNCHES` time(s) through Triton's own
  ``kernel_call`` (which runs ``reset_to_zero``, ``restore_value``, ``pre_hook`` and ``post_hook`` exactly as on
  a GPU) and reports equal times, so the first config is picked. Everything else is Triton's code.
"""

from __future__ import annotations

import contextlib

from .configs import Tuned, describe_config

#: how many times the emulated benchmark launches each config (Triton's ``do_bench`` launches it tens to
#: hundreds of times on a GPU; once is enough: the real launch that follows adds to what every config left)
EMULATED_LAUNCHES = 1


def emulated_bench(kernel_call, quantiles=None, **_):
    for _ in range(EMULATED_LAUNCHES):
        kernel_call()
    return [1.0, 1.0, 1.0] if quantiles else 1.0


def benchmarking(tuned: list[Tuned]) -> list[Tuned]:
    """The autotuners that benchmark on a first call (more than one config)."""
    return [t for t in tuned if len(t.configs) > 1]


def describe(tuned: list[Tuned]) -> str:
    return "; ".join(f"{t.name}: " + " | ".join(describe_config(c) or "default" for c in t.configs) for t in tuned)


@contextlib.contextmanager
def as_first_call(tuned: list[Tuned], *, interpreted: bool):
    """Within: the next call of each autotuner benchmarks all its configs on its arguments, as a user's first
    call of a new key does. Caches and timers are restored afterwards."""
    saved = []
    for t in tuned:
        at = t.autotuner
        state = {"configs": at.configs, "cache": dict(getattr(at, "cache", {}) or {}),
                 "cache_results": getattr(at, "cache_results", None), "bench": at.__dict__.get("do_bench", None),
                 "_do_bench": getattr(at, "_do_bench", None)}
        saved.append((at, state))
        at.configs = list(t.configs)  # every config, as declared (the sweep pins one at a time)
        if hasattr(at, "cache"):
            at.cache = {}
        if state["cache_results"] is not None:
            at.cache_results = False  # a disk-cache hit would skip the benchmark a fresh machine runs
        if interpreted:
            try:
                at.do_bench = emulated_bench  # triton >= 3.7: a cached_property, so an instance attribute wins
            except AttributeError:
                pass
            if hasattr(at, "_do_bench"):
                at._do_bench = emulated_bench
    try:
        yield
    finally:
        for at, state in saved:
            at.configs = state["configs"]
            if hasattr(at, "cache"):
                at.cache = state["cache"]
            if state["cache_results"] is not None:
                at.cache_results = state["cache_results"]
            if interpreted:
                if state["bench"] is None:
                    at.__dict__.pop("do_bench", None)
                else:
                    at.__dict__["do_bench"] = state["bench"]
                if hasattr(at, "_do_bench"):
                    at._do_bench = state["_do_bench"]
