"""The :class:`Problem` record and the registry of problems by name (:func:`register`). Each problem module
imports this one; the package (:mod:`fusefuzz.harness.problems`) looks problems up and loads the built-in ones.
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
    #: tolerance policy when none is given (``fusefuzz.harness.policies.parse`` spec): problems without an error
    #: analysis (``bound``) default to ``peer``
    default_policy: str = "bound"
    #: the size that is dimension 0 of the first input and of the output (batch split/reversal checks);
    #: None: no such size, the batch checks are skipped
    batch_name: str | None = "batch"
    #: contracts ``--precision auto`` tries (problems without a dot product: ``("ieee",)``)
    auto_contracts: tuple[str, ...] = ("ieee", "tf32-rn", "tf32")
    #: how another process rebuilds this problem (JSON, see :func:`register`); None: importing
    #: :mod:`fusefuzz.harness.problems` registers it
    source: str | None = None

    def smallest_example(self) -> Example:
        """The smallest example the reference accepts (every size 1 unless the problem knows better)."""
        return Example(sizes={n: 1 for n in self.size_names})

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


class ReferenceRaised(Exception):
    """The reference itself raised for an example (its sizes are outside what it accepts): the example
    gets no verdict and is counted; the candidate is never blamed for it."""


_REGISTRY: dict[str, Problem] = {}

#: problems registered at run time (``--reference``, :mod:`fusefuzz.harness.problems.kernelbench`) are recorded
#: here as {name: source}, so that worker processes (which get the parent's environment) can rebuild them
SOURCES_ENV = "FUSEFUZZ_PROBLEM_SOURCES"


def register(problem: Problem, *, replace: bool = False) -> Problem:
    """Make ``problem`` known by its name; ``replace`` lets a new problem take an existing name."""
    if problem.name in _REGISTRY and _REGISTRY[problem.name] is not problem and not replace:
        raise ValueError(f"problem name={problem.name!r} is already registered; pick another name")
    _REGISTRY[problem.name] = problem
    if problem.source is not None:
        import json
        import os

        sources = json.loads(os.environ.get(SOURCES_ENV) or "{}")
        sources[problem.name] = problem.source
        os.environ[SOURCES_ENV] = json.dumps(sources)
    return problem
