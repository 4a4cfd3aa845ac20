"""Tolerance policies: what "close enough" means, each a small frozen record with its derivation.

A policy turns an evaluation context into ``(expected, allowed)``: the value to compare against and the
per-element absolute error allowed. Three are provided:

``bound`` (default)
    Rounding-error analysis. ``expected`` is the float64 result from the candidate's exact inputs and
    parameters; ``allowed`` is the problem's worst-case bound for the declared precision contract
    (for conv2d_gelu_gap see :mod:`fusefuzz.harness.problems.conv2d_gelu_gap`). Nothing is tuned by hand: a
    kernel that rounds no worse than its contract cannot fail it, and an error above it is a bug.

``peer``
    The flash-attention rule: error vs float64 <= ``factor`` x the error of PyTorch computing the same
    thing at the candidate's precision, + ``floor_ulps`` ulps of the output's scale. PyTorch is run with
    TF32 off on operands pre-rounded the way the contract rounds them (``tf32``: truncated, as Triton
    does; ``tf32-rn``: nearest, as cuBLAS does), so the peer really has the candidate's precision; the
    default factor 2 is the flash-attention factor.

``allclose``
    KernelBench compatibility: ``|out - ref| <= atol + rtol |ref|`` against the reference run at the
    candidate's dtype with PyTorch's default flags. Tolerances are data per dtype (below).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .precision import U_ACC, output_roundoff


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    reason: str


def merge(*tolerances: Tolerance) -> Tolerance:
    """Loosen by max; the reasons of every contributing tolerance are kept."""
    return Tolerance(
        atol=max(t.atol for t in tolerances),
        rtol=max(t.rtol for t in tolerances),
        reason="; ".join(t.reason for t in tolerances),
    )


#: KernelBench's allclose tolerances per dtype (facts.md).
ALLCLOSE_TABLES: dict[str, dict[str, Tolerance]] = {
    "kernelbench": {
        "float32": Tolerance(1e-4, 1e-4, "KernelBench fp32 check (atol=rtol=1e-4)"),
        "float16": Tolerance(1e-2, 1e-2, "KernelBench fp16 check"),
        "bfloat16": Tolerance(1e-2, 1e-2, "KernelBench bf16 check"),
    },
    "kernelbench-v0": {
        "float32": Tolerance(1e-2, 1e-2, "KernelBench v0/v0.1 fp32 check (atol=rtol=1e-2)"),
        "float16": Tolerance(1e-2, 1e-2, "KernelBench fp16 check"),
        "bfloat16": Tolerance(1e-2, 1e-2, "KernelBench bf16 check"),
    },
}


@dataclass(frozen=True)
class BoundPolicy:
    name = "bound"

    def label(self, contract: str) -> str:
        return f"bound[{contract}]"

    def expected_and_allowed(self, ctx, contract: str):
        a = ctx.analysis()
        return a.ref64, ctx.problem.bound(a, contract, ctx.budget)


@dataclass(frozen=True)
class PeerPolicy:
    factor: float = 2.0
    floor_ulps: float = 4.0
    name = "peer"

    def label(self, contract: str) -> str:
        return f"peer[{contract}, {self.factor:g}x torch + {self.floor_ulps:g} ulp]"

    def expected_and_allowed(self, ctx, contract: str):
        ref = ctx.analysis().ref64.to("cpu")  # on the GPU the reference lives there: compare on one device
        peer = ctx.peer_output(contract).to("cpu", torch.float64)
        finite = torch.isfinite(peer) & torch.isfinite(ref)
        peer_err = float((peer - ref).abs()[finite].max()) if finite.any() else 0.0
        u = max(output_roundoff(ctx.example.dtype), U_ACC)
        scale = float(ref.abs()[torch.isfinite(ref)].max()) if torch.isfinite(ref).any() else 0.0
        allowed = self.factor * peer_err + self.floor_ulps * u * scale
        return ref, torch.full_like(ref, allowed)


@dataclass(frozen=True)
class AllclosePolicy:
    table: str = "kernelbench"
    override: Tolerance | None = None
    name = "allclose"
    tables: dict = field(default_factory=lambda: ALLCLOSE_TABLES, repr=False, compare=False)

    def tolerance(self, dtype: str) -> Tolerance:
        if self.override is not None:
            return self.override
        return self.tables[self.table][dtype]

    def label(self, contract: str) -> str:
        t = self.tolerance("float32")
        return f"allclose[atol={t.atol:g}, rtol={t.rtol:g}]" if self.override else f"allclose[{self.table}]"

    def expected_and_allowed(self, ctx, contract: str):
        ref = ctx.torch_output().to("cpu", torch.float64)
        t = self.tolerance(ctx.example.dtype)
        return ref, t.atol + t.rtol * ref.abs()


def parse(spec: str):
    """``bound`` | ``peer[:FACTOR]`` | ``allclose[:TOL]`` | ``allclose:kernelbench-v0``."""
    name, _, arg = spec.partition(":")
    if name == "bound" and not arg:
        return BoundPolicy()
    if name == "peer":
        return PeerPolicy(factor=float(arg)) if arg else PeerPolicy()
    if name == "allclose":
        if not arg:
            return AllclosePolicy()
        if arg in ALLCLOSE_TABLES:
            return AllclosePolicy(table=arg)
        tol = float(arg)
        return AllclosePolicy(override=Tolerance(tol, tol, f"user tolerance {tol:g}"))
    raise ValueError(
        f"policy={spec!r} is not a policy; use bound, peer[:FACTOR], allclose[:TOL] or allclose:kernelbench-v0"
    )

