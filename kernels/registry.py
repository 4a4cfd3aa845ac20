"""The registry of in-repo kernels: a record per kernel, pointing at a KernelBench-format module.

A record carries the kernel's contract (precision, determinism, approximation budget, aten ops it may
call) so that ``fusefuzz fuzz`` can hold every kernel to what it declares.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KernelRecord:
    name: str
    problem: str
    module: str  # importable module defining ModelNew
    precision: str  # contract for fp32 inputs: ieee, tf32, ...
    description: str
    kwargs: dict = field(default_factory=dict, hash=False)
    deterministic: bool = False
    approx_budget: float = 0.0
    allowed_ops: frozenset = frozenset()

    def candidate(self, **overrides):
        from fusefuzz.harness import problems
        from fusefuzz.harness.candidates import from_module

        mod = importlib.import_module(self.module)
        problem = problems.get(self.problem)
        opts = dict(precision=self.precision, deterministic=self.deterministic,
                    approx_budget=self.approx_budget, allowed_ops=self.allowed_ops, kwargs=dict(self.kwargs),
                    # the constructor's positional arity is the problem's (linear_gelu: 2, layernorm: 1)
                    n_init_args=len(problem.init_args(problem.headline)),
                    # a registered kernel claims every dtype and layout and full fusion: notes fail it
                    strict=True)
        opts.update({k: v for k, v in overrides.items() if v is not None})
        return from_module(mod, name=self.name, path=getattr(mod, "__file__", None), **opts)


_KERNELS: dict[str, KernelRecord] = {}


def register(record: KernelRecord) -> KernelRecord:
    if record.name in _KERNELS:
        raise ValueError(f"kernel name={record.name!r} is registered twice; names must be unique")
    _KERNELS[record.name] = record
    return record


def get(name: str) -> KernelRecord:
    import fusefuzz.kernels as kernels  # noqa: F401  (registers the bundled kernels)

    try:
        return _KERNELS[name]
    except KeyError:
        raise KeyError(f"no kernel or file named {name!r}; registered kernels: {', '.join(sorted(_KERNELS))}") from None


def all_kernels(problem: str | None = None) -> list[KernelRecord]:
    import fusefuzz.kernels as kernels  # noqa: F401

    return [r for r in _KERNELS.values() if problem is None or r.problem == problem]
