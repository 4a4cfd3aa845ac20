"""Problems: a reference module, the example space to fuzz it over, and how its rounding errors add up.

A problem is a :class:`Problem` record plus a few functions. Register one with :func:`register`; look one
up with :func:`get`. See :mod:`harness.problems.conv2d_gelu_gap` for the headline problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..example import Example, apply_layout, make_values


@dataclass(frozen=True)
class Problem:
    """Everything the harness needs to know about one kind of computation.

    ``analyse(example, inputs, params)`` returns an object with at least ``ref64`` (the float64 result
    computed from the candidate's exact inputs and parameters); ``bound(analysis, contract, example,
    budget)`` turns it into a per-output error bound. ``strategy(**options)`` returns a Hypothesis
    strategy of :class:`Example`.
    """

    name: str
    description: str
    reference: type[torch.nn.Module]
    size_names: tuple[str, ...]
    init_args: Callable[[Example], tuple]
    input_shapes: Callable[[Example], list[tuple[int, ...]]]
    output_shape: Callable[[Example], tuple[int, ...]]
    analyse: Callable
    bound: Callable
    strategy: Callable
    headline: Example
    #: What may vary, in words (shown by ``fusefuzz problems``).
    varies: str = ""
    #: aten ops that are the reference's own work: calling them from a candidate is a fallback.
    reference_ops: frozenset[str] = field(default_factory=frozenset)
    #: degenerate examples every campaign runs first, on purpose (1x1 outputs, tile +- 1 sizes, batch > 2)
    explicit: tuple = ()
    flops: Callable[[Example], float] | None = None
    min_bytes: Callable[[Example], float] | None = None
    #: strategy options for the Triton interpreter (cost caps such as ``max_macs``, ``max_outputs``), in place
    #: of the campaign's defaults (sized for conv2d_gelu_gap); empty: the defaults
    interpreter_options: dict = field(default_factory=dict)

    def make_inputs(self, example: Example, device: str | torch.device) -> list[torch.Tensor]:
        """Inputs for ``example``: drawn on the CPU from its seed, cast, laid out, moved to ``device``."""
        gen = torch.Generator().manual_seed(example.seed)
        out = []
        for shape in self.input_shapes(example):
            t = make_values(shape, example.distribution, example.scale, gen)
            t = t.to(_dtype(example.dtype)).to(device)
            out.append(apply_layout(t, example.layout))
        return out

    def make_reference(self, example: Example, device, dtype=None) -> torch.nn.Module:
        """The reference module with parameters drawn from its own init under ``example.seed``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(example.seed)
            model = self.reference(*self.init_args(example))
        return model.to(device=device, dtype=dtype or _dtype(example.dtype)).eval()


def _dtype(name: str) -> torch.dtype:
    from ..precision import torch_dtype

    return torch_dtype(name)


_REGISTRY: dict[str, Problem] = {}


def register(problem: Problem) -> Problem:
    if problem.name in _REGISTRY and _REGISTRY[problem.name] is not problem:
        raise ValueError(f"problem name={problem.name!r} is already registered; pick another name")
    _REGISTRY[problem.name] = problem
    return problem


def _load_builtin() -> None:
    from . import conv2d_gelu_gap, layernorm, linear_gelu  # noqa: F401  (each registers itself)


def get(name: str) -> Problem:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"problem={name!r} is not registered; known: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)
