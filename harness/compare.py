"""Elementwise comparison against an allowed-error tensor, and the one mismatch message layout.

The layout follows ``torch.testing``: mismatched count and percentage, greatest absolute and relative
difference with their index and the allowed bound there; then the worst error/bound ratio, the policy,
the example and the kernel config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Comparison:
    ok: bool
    total: int
    mismatched: int
    nonfinite: int  # non-finite outputs where the expected value is finite
    max_abs: float
    max_abs_index: tuple
    max_abs_allowed: float
    max_rel: float
    max_rel_index: tuple
    max_rel_allowed: float
    worst_ratio: float  # max |actual - expected| / allowed
    worst_ratio_index: tuple
    first_nonfinite_index: tuple | None = None
    first_nonfinite_value: float | None = None
    first_nonfinite_expected: float | None = None

    @property
    def kind(self) -> str | None:
        from .kinds import MISMATCH, NAN

        if self.ok:
            return None
        return NAN if self.nonfinite else MISMATCH


def _index(flat_idx: int, shape) -> tuple:
    idx = []
    for dim in reversed(shape):
        idx.append(flat_idx % dim)
        flat_idx //= dim
    return tuple(reversed(idx))


def compare(actual: torch.Tensor, expected: torch.Tensor, allowed: torch.Tensor) -> Comparison:
    """``actual`` is the candidate's output, ``expected`` a float64 (or same-dtype) reference and
    ``allowed`` the per-element absolute error allowed (broadcastable). Non-finite expected values
    (an fp16 result past 65504) must be matched exactly; a non-finite actual value where the expected
    one is finite always fails."""
    a = actual.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    allow = torch.broadcast_to(allowed.detach().to("cpu", torch.float64), e.shape)
    shape = tuple(e.shape)
    exp_finite = torch.isfinite(e)
    act_finite = torch.isfinite(a)
    nonfinite_bad = exp_finite & ~act_finite
    special_bad = ~exp_finite & ~((a == e) | (torch.isnan(a) & torch.isnan(e)))
    diff = torch.where(exp_finite & act_finite, (a - e).abs(), torch.zeros_like(e))
    diff = torch.where(nonfinite_bad, torch.full_like(e, float("inf")), diff)
    rel = diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny)
    bad = (diff > allow) | nonfinite_bad | special_bad
    ratio = diff / allow.clamp_min(torch.finfo(torch.float64).tiny)
    total = e.numel()
    if total == 0:
        return Comparison(True, 0, 0, 0, 0.0, (), 0.0, 0.0, (), 0.0, 0.0, ())

    def argmax(t):
        t = torch.nan_to_num(t, nan=float("inf"))
        return int(torch.argmax(t.reshape(-1)).item())

    ia, ir, iq = argmax(diff), argmax(rel), argmax(ratio)
    flat_allow, flat_e = allow.reshape(-1), e.reshape(-1)
    comp = Comparison(
        ok=not bool(bad.any()),
        total=total,
        mismatched=int(bad.sum().item()),
        nonfinite=int(nonfinite_bad.sum().item()),
        max_abs=float(diff.reshape(-1)[ia]),
        max_abs_index=_index(ia, shape),
        max_abs_allowed=float(flat_allow[ia]),
        max_rel=float(rel.reshape(-1)[ir]),
        max_rel_index=_index(ir, shape),
        max_rel_allowed=float(flat_allow[ir] / max(abs(float(flat_e[ir])), torch.finfo(torch.float64).tiny)),
        worst_ratio=float(ratio.reshape(-1)[iq]),
        worst_ratio_index=_index(iq, shape),
    )
    if comp.nonfinite:
        i = int(torch.nonzero(nonfinite_bad.reshape(-1))[0].item())
        comp.first_nonfinite_index = _index(i, shape)
        comp.first_nonfinite_value = float(a.reshape(-1)[i])
        comp.first_nonfinite_expected = float(flat_e[i])
    return comp


def _fmt_index(idx) -> str:
    return "(" + ", ".join(str(i) for i in idx) + ")"


def mismatch_message(comp: Comparison, *, policy: str, example: str, config: str = "") -> str:
    """The one layout every numerical failure is reported in."""
    pct = 100.0 * comp.mismatched / max(comp.total, 1)
    lines = []
    if comp.nonfinite:
        lines.append(f"Non-finite output where the float64 reference is finite (policy {policy})!")
        lines.append(
            f"Non-finite elements: {comp.nonfinite} / {comp.total} ({100.0 * comp.nonfinite / comp.total:.1f}%), "
            f"first at index {_fmt_index(comp.first_nonfinite_index)}: {comp.first_nonfinite_value} "
            f"(reference {comp.first_nonfinite_expected:.6g})"
        )
    else:
        lines.append(f"Tensor-likes are not close under policy {policy}!")
    lines.append(f"Mismatched elements: {comp.mismatched} / {comp.total} ({pct:.1f}%)")
    lines.append(
        f"Greatest absolute difference: {comp.max_abs:.6g} at index {_fmt_index(comp.max_abs_index)} "
        f"(up to {comp.max_abs_allowed:.3g} allowed)"
    )
    lines.append(
        f"Greatest relative difference: {comp.max_rel:.6g} at index {_fmt_index(comp.max_rel_index)} "
        f"(up to {comp.max_rel_allowed:.3g} allowed)"
    )
    lines.append(f"Greatest error / allowed: {comp.worst_ratio:.4g} at index {_fmt_index(comp.worst_ratio_index)}")
    lines.append(f"Example: {example}")
    if config:
        lines.append(f"Kernel config: {config}")
    return "\n".join(lines)
