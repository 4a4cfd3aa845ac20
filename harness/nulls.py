"""Null candidates: proof, per problem, that its tolerance policy can tell right from wrong.

For a problem (built-in or ``--reference``), a handful of answers that are wrong on purpose - zeros, a constant
(the reference's mean output), the first input passed through or truncated to the output's size, the reference
on half its input (the last axis' second half zeroed: half the reduction), and the reference with one term
dropped (its last parameter, usually a bias, zeroed) - are judged under the problem's default policy on a few
small examples, in this process (no candidate code involved). Every one must fail. One that passes means the
outputs barely depend on what the kernel must compute (as all-zero answers passing 4 of 60 KernelBench level-1
problems in bf16, KernelBench issue #165): the problem is *degenerate* and a passing verdict on it proves little.

:func:`assess` caches by the reference's hash (its source), so it runs once per problem and process.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from dataclasses import dataclass, field

import torch

#: examples judged per problem
EXAMPLES = 3


@dataclass
class Assessment:
    problem: str
    #: null name -> True when it was refused on every example (as it must be)
    refused: dict = field(default_factory=dict)
    examples: int = 0

    @property
    def passing(self) -> list[str]:
        return [n for n, ok in self.refused.items() if not ok]

    @property
    def degenerate(self) -> bool:
        return bool(self.passing)

    def note(self) -> str | None:
        if not self.degenerate:
            return None
        return (f"problem {self.problem!r} is degenerate: under its default policy, the wrong answer(s) "
                f"{', '.join(self.passing)} pass on {self.examples} example(s) - its outputs barely depend on the "
                "inputs, so a passing verdict proves little; give a reference whose outputs vary, or a tighter policy")


def _nulls(reference, inputs, want_shape, expected_mean):
    n = 1
    for s in want_shape:
        n *= s
    x0 = inputs[0] if inputs else torch.zeros(1)
    flat = x0.detach().flatten().to(torch.float64)
    passed = flat[:n] if flat.numel() >= n else flat.repeat(-(-n // max(flat.numel(), 1)))[:n]
    yield "zeros", torch.zeros(want_shape, dtype=torch.float64)
    yield "a constant (the reference's mean output)", torch.full(want_shape, expected_mean, dtype=torch.float64)
    yield "the first input passed through or truncated", passed.reshape(want_shape)
    if inputs and inputs[0].dim() >= 1 and inputs[0].shape[-1] >= 2:
        half = [x.clone() for x in inputs]
        w = half[0].shape[-1]
        half[0][..., w - w // 2:] = 0
        with torch.no_grad():
            yield "half the reduction (the reference on half its input)", reference(*half).to(torch.float64)
    params = [p for p in reference.parameters()]
    if params:
        dropped = copy.deepcopy(reference)
        with torch.no_grad():
            list(dropped.parameters())[-1].zero_()
            yield "the reference with one term dropped (its last parameter zeroed)", dropped(*inputs).to(torch.float64)


def _examples(problem):
    explicit = getattr(problem, "explicit_examples", None)
    pool = list(explicit() if callable(explicit) else getattr(problem, "explicit", ()))
    picked = []
    for ex in pool:
        ex = ex.replace(dtype="float32")
        shape = tuple(problem.output_shape(ex))
        if torch.Size(shape).numel() >= 2:
            picked.append(ex)
        if len(picked) >= EXAMPLES:
            break
    return picked or [problem.smallest_example().replace(dtype="float32")]


def reference_hash(problem) -> str:
    try:
        text = inspect.getsource(problem.reference)
    except (OSError, TypeError):
        text = repr(problem.reference)
    return hashlib.sha1(f"{problem.name}\n{problem.source}\n{text}\n{problem.default_policy}".encode()).hexdigest()


_CACHE: dict[str, Assessment] = {}


def assess(problem, policy=None) -> Assessment:
    """Judge every null candidate on a few examples of ``problem`` (cached by the reference's hash)."""
    from . import policies
    from .compare import compare
    from .runner import Context

    key = reference_hash(problem) + ("" if policy is None else repr(policy))
    if key in _CACHE:
        return _CACHE[key]
    policy = policy or policies.parse(problem.default_policy)
    result = Assessment(problem.name)
    contract = "ieee" if "ieee" in getattr(problem, "auto_contracts", ("ieee",)) else problem.auto_contracts[0]
    for ex in _examples(problem):
        inputs = problem.make_inputs(ex, "cpu")
        reference = problem.make_reference(ex, "cpu")
        ctx = Context(problem, ex, [x.clone() for x in inputs], reference, 0.0, "cpu")
        expected, allowed = policy.expected_and_allowed(ctx, contract)
        mean = float(expected.double().mean())
        result.examples += 1
        for name, out in _nulls(reference, inputs, tuple(expected.shape), mean):
            ok = compare(out.to(expected.dtype) if out.dtype != expected.dtype else out, expected, allowed).ok
            result.refused[name] = result.refused.get(name, True) and not ok
    _CACHE[key] = result
    return result
