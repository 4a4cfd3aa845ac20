"""What the runner and the property records share: the failure record, an example's outcome, the judging
context (the float64 analysis, peer and torch outputs, computed lazily once per example) and :func:`judge`, which
compares one output under a tolerance policy.

Below both :mod:`fusefuzz.harness.runner` (which composes the checks) and :mod:`fusefuzz.properties.checks` (the
property records), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import kinds
from .compare import Comparison, compare, mismatch_message
from .example import Example
from .messages import exception_message  # noqa: F401 - the runner's calls format candidates' errors with it
from .policies import BoundPolicy
from .precision import AUTO_ORDER, CONTRACTS, torch_dtype
from .reference import round_operand, run_reference, tf32_disabled  # noqa: F401 - re-exported


@dataclass
class Failure:
    kind: str
    example: Example
    message: str
    config: str = ""
    repro: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return self.message.splitlines()[0] if self.message else self.kind

    def to_json(self) -> dict:
        return {"kind": self.kind, "example": self.example.to_dict(), "message": self.message,
                "config": self.config, "repro": self.repro}


@dataclass
class Outcome:
    example: Example
    failures: list[Failure] = field(default_factory=list)
    #: findings that do not fail (kinds.NOTE_KINDS): partial fusion, out-of-scope refusals
    notes: list[Failure] = field(default_factory=list)
    unsupported: str | None = None
    configs_run: int = 0
    #: the first config's output graded under each accuracy grade (fusefuzz.harness.accuracy.Accuracy)
    accuracy: object = None
    #: worst error/bound ratio per contract (only for the bound policy)
    ratios: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, finding: Failure) -> None:
        """Keep ``finding`` unless one of its kind is kept already (one per kind and example)."""
        into = self.notes if finding.kind in kinds.NOTE_KINDS else self.failures
        if all(f.kind != finding.kind for f in into):
            into.append(finding)


# ----------------------------------------------------------------------------------------------------
# What policies may ask for, computed lazily once per example
# ----------------------------------------------------------------------------------------------------

class Context:
    """What policies may ask of one example's reference, computed lazily once: the float64 analysis, the
    analysis with operands rounded like a contract, PyTorch's peer output and PyTorch's own output. All of them
    are computed in the reference process (:mod:`fusefuzz.harness.refserver`), where candidate code never ran."""

    def __init__(self, problem, example, inputs, reference, budget, device):
        from .refserver import Session

        self.problem = problem
        self.example = example
        self.inputs = inputs  # snapshots: what the candidate was given
        self.reference = reference  # reference module at the example's dtype, parameters as copied
        self.params = {n: p.detach() for n, p in reference.named_parameters()}
        self.budget = budget
        self.device = device
        self._session = Session(problem, example, inputs, self.params, device, reference)
        self._analysis = None
        self._peer: dict = {}
        self._torch = None

    @property
    def evaluated_where(self) -> str:
        """Where the reference values come from (the reference process, or this one and why)."""
        return self._session.where

    def analysis(self):
        if self._analysis is None:
            self._analysis = self._session.analysis()
        return self._analysis

    def emulated(self, contract: str):
        """The problem's float64 analysis of the same computation with operands rounded like ``contract``."""
        key = ("emulated", contract)
        if key not in self._peer:
            self._peer[key] = self._session.emulated(contract)
        return self._peer[key]

    def peer_output(self, contract: str) -> torch.Tensor:
        """PyTorch at the candidate's precision: TF32 off, operands pre-rounded like the contract."""
        if contract not in self._peer:
            self._peer[contract] = self._session.peer(contract)
        return self._peer[contract]

    def torch_output(self) -> torch.Tensor:
        """The reference at the candidate's dtype with PyTorch's default flags (KernelBench's check)."""
        if self._torch is None:
            self._torch = self._session.torch()
        return self._torch


# ----------------------------------------------------------------------------------------------------

def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def check_output(out, problem, example, device) -> str | None:
    """Why ``out`` is not an acceptable output tensor, or None."""
    if not isinstance(out, torch.Tensor):
        return f"forward returned {type(out).__name__}, not a torch.Tensor"
    if type(out) is not torch.Tensor:  # a subclass can compute when read (lazy outputs) or lie about its values
        return f"forward returned a {type(out).__name__}, a torch.Tensor subclass; return a plain torch.Tensor"
    want_shape = tuple(problem.output_shape(example))
    if tuple(out.shape) != want_shape:
        return f"output shape {tuple(out.shape)} != expected {want_shape}"
    want_dtype = torch_dtype(example.dtype)
    if out.dtype != want_dtype:
        return f"output dtype {out.dtype} != expected {want_dtype}"
    if out.device.type != torch.device(device).type:
        return f"output on device {out.device} != expected {device}"
    return None


def _looser(contract: str) -> list[str]:
    u = CONTRACTS[contract].unit_roundoff
    return [c for c in AUTO_ORDER if CONTRACTS[c].unit_roundoff > u]


def judge(ctx: Context, out: torch.Tensor, policy, precision: str, config: str) -> tuple[Failure | None, dict]:
    """Compare one output under ``policy``; ``precision`` is a contract name or ``"auto"``."""
    ex = ctx.example
    ratios: dict[str, float] = {}
    contracts = list(getattr(ctx.problem, "auto_contracts", AUTO_ORDER)) if precision == "auto" else [precision]
    comps: dict[str, Comparison] = {}
    tensors: dict[str, tuple] = {}
    for c in contracts:
        expected, allowed = policy.expected_and_allowed(ctx, c)
        tensors[c] = (expected, torch.broadcast_to(allowed, expected.shape))
        comps[c] = compare(out, expected, allowed)
        ratios[c] = comps[c].worst_ratio
    chosen = contracts[-1] if precision == "auto" else precision
    comp = comps[chosen]
    if comp.ok:
        return None, ratios
    label = policy.label(chosen if precision != "auto" else f"auto: {'/'.join(contracts)}")
    kind = comp.kind
    message = mismatch_message(comp, policy=label, example=ex.describe(), config=config)
    if kind == kinds.MISMATCH and precision != "auto" and isinstance(policy, BoundPolicy):
        for looser in _looser(precision):
            expected, allowed = policy.expected_and_allowed(ctx, looser)
            c2 = compare(out, expected, allowed)
            ratios[looser] = c2.worst_ratio
            if not c2.ok:
                continue
            # Fitting the looser bound is not enough (a small genuine bug fits a loose bound too): the output
            # must match the computation with operands rounded the looser way, to accumulation accuracy.
            emulated = ctx.emulated(looser)
            c3 = compare(out, emulated.ref64, 2 * ctx.problem.bound(emulated, "ieee", ctx.budget))
            if c3.ok:
                kind = kinds.PRECISION_CONTRACT
                message = (f"Errors exceed the declared {precision} contract but match a computation with "
                           f"{looser} operand rounding (error/bound {comp.worst_ratio:.3g} under {precision}; "
                           f"{c3.worst_ratio:.3g} against the {looser}-rounded float64 result): declare "
                           f"precision={looser!r} or fix the kernel.\n" + message)
                break
    expected, allowed = tensors[chosen]
    details = {"expected": expected.double().cpu().tolist(), "allowed": allowed.double().cpu().tolist(),
               "policy": label}
    return Failure(kind, ex, message, config, details=details), ratios


#: the second poison: finite, exact in every float dtype, and implausible as a result
SECOND_POISON = 4096.0 + 1.0 / 8


def bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


class Stop(Exception):
    """Ends the example: the candidate's call raised or returned no usable output, or the backend cannot run it.
    ``note`` is set instead of ``failure`` when that is outside the candidate's contract (``out_of_scope``)."""

    def __init__(self, failure: Failure | None = None, unsupported: str | None = None, note: Failure | None = None):
        super().__init__()
        self.failure, self.unsupported, self.note = failure, unsupported, note


@dataclass
class Trial:
    """One config of one example as the property records (:mod:`fusefuzz.properties.checks`) see it: the
    primary call's output, the watch it ran under, and a ``call`` to run the candidate again."""

    problem: object
    candidate: object
    example: Example
    ctx: Context
    policy: object
    precision: str
    device: str
    config: str
    details: dict
    first: bool  # the first config of the sweep: the properties that cost extra calls run here only
    inputs: list
    snapshots: list
    model: object
    param_snapshot: dict
    out: torch.Tensor
    watch: object  # guards.Watch of the primary call, or None
    call: object  # call(args, poison=nan, what="forward") -> output tensor (raises Stop)
    checks: frozenset = frozenset()
    _value: tuple | None = None

    def value(self) -> tuple[Failure | None, dict]:
        """:func:`judge` of the primary output (computed once)."""
        if self._value is None:
            self._value = judge(self.ctx, self.out, self.policy, self.precision, self.config)
            if self._value[0] is not None:
                self._value[0].details.update(self.details)
        return self._value

    def judge(self, out: torch.Tensor, ctx: Context | None = None) -> Failure | None:
        failure, _ = judge(ctx or self.ctx, out, self.policy, self.precision, self.config)
        if failure is not None:
            failure.details.update(self.details)
        return failure

    def finding(self, kind: str, text: str, **details) -> Failure:
        return Failure(kind, self.example, f"{text}\nExample: {self.example.describe()}", self.config,
                       details={**self.details, **details})
