"""How accurate a candidate is, beyond pass/fail: its worst error/allowed ratio under four grades, strictest first.

``GRADES`` (each a tolerance policy of :mod:`fusefuzz.harness.policies`):

1. ``bound`` under the candidate's precision contract (rounding-error analysis; not defined for problems built
   from a reference file, whose ratio is ``None``);
2. ``peer``: at most twice PyTorch's own error at the candidate's precision, plus 4 ulps of the output's scale;
3. ``allclose 1e-4``: ``|out - ref| <= 1e-4 + 1e-4 |ref|`` against PyTorch at the candidate's dtype;
4. ``allclose 1e-2``: the same at 1e-2 (KernelBench's fp16/bf16 check).

:func:`grade_output` measures one output; :func:`merge` combines examples (worst ratio per grade) and names the
tightest grade that every example passed (ratio <= 1). A ratio is ``inf`` where the output is non-finite and the
expected value is finite, or where a non-finite expected value is not matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from .compare import compare
from .policies import AllclosePolicy, BoundPolicy, PeerPolicy, Tolerance

#: (name, policy), strictest first
GRADES = (
    ("bound", BoundPolicy()),
    ("peer", PeerPolicy()),
    ("allclose 1e-4", AllclosePolicy(override=Tolerance(1e-4, 1e-4, "allclose at atol = rtol = 1e-4"))),
    ("allclose 1e-2", AllclosePolicy(override=Tolerance(1e-2, 1e-2, "allclose at atol = rtol = 1e-2"))),
)


@dataclass
class Accuracy:
    """Worst error/allowed ratio per grade (None: the grade does not apply), and the tightest grade passed."""

    ratios: dict  # grade name -> worst ratio or None, in GRADES order
    contract: str  # the contract the bound and peer grades were taken under
    tightest: str | None = None  # the first grade with ratio <= 1; None when every grade failed

    def to_json(self) -> dict:
        return {"tightest": self.tightest, "contract": self.contract,
                "grades": [{"grade": n, "worst_ratio": r, "passed": r is not None and r <= 1}
                           for n, r in self.ratios.items()]}

    def describe(self) -> str:
        parts = [f"{n} {'n/a' if r is None else f'{r:.3g}'}" for n, r in self.ratios.items()]
        return f"accuracy: {self.tightest or 'none of the grades'} (worst error/allowed: {', '.join(parts)})"


def _tightest(ratios: dict) -> str | None:
    return next((n for n, r in ratios.items() if r is not None and r <= 1), None)


def resolve_contract(ctx, out, precision: str) -> str:
    """``precision`` itself, or for ``auto`` the strictest of the problem's auto contracts whose bound ``out``
    fits (the loosest when none does, as :func:`fusefuzz.harness.runner.judge` judges it)."""
    if precision != "auto":
        return precision
    from .precision import AUTO_ORDER

    contracts = list(getattr(ctx.problem, "auto_contracts", AUTO_ORDER))
    for c in contracts:
        try:
            expected, allowed = BoundPolicy().expected_and_allowed(ctx, c)
        except ValueError:  # no bound: the strictest contract stands for all
            return contracts[0]
        if compare(out, expected, allowed).ok:
            return c
    return contracts[-1]


def grade_output(ctx, out, precision: str) -> Accuracy:
    """The worst error/allowed ratio of ``out`` under each grade, for one example's judging context
    (:class:`fusefuzz.harness.runner.Context`). ``precision`` is the candidate's contract or ``auto``
    (see :func:`resolve_contract`)."""
    contract = resolve_contract(ctx, out, precision)
    ratios: dict = {}
    for name, policy in GRADES:
        try:
            expected, allowed = policy.expected_and_allowed(ctx, contract)
        except ValueError:  # a problem without a rounding-error bound (built from a reference file)
            if name != "bound":
                raise
            ratios[name] = None
            continue
        comp = compare(out, expected, allowed)
        ratio = comp.worst_ratio
        if not comp.ok and ratio <= 1:  # non-finite expected values, not matched: no finite ratio says it
            ratio = float("inf")
        ratios[name] = ratio
    return Accuracy(ratios, contract, _tightest(ratios))


def merge(results) -> Accuracy | None:
    """Examples combined: the worst ratio per grade (None where some example lacks the grade) and the tightest
    grade that every example passed. None when there are no results."""
    results = [r for r in results if r is not None]
    if not results:
        return None
    ratios: dict = {}
    for name, _ in GRADES:
        values = [r.ratios.get(name) for r in results]
        ratios[name] = None if any(v is None for v in values) else max(values)  # passed by every example or not
    contracts = sorted({r.contract for r in results})
    return Accuracy(ratios, "/".join(contracts), _tightest(ratios))
