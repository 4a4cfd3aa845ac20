"""A kernel's declared approximation budget: what its approximations (a cheaper GELU, a tanh form) may cost.

Per activation ``f(v)`` the budget allows ``absolute + relative * |f(v)| + of_input * |v|`` on top of the exact
evaluation's own roundings. A float is the absolute part alone (``FUSEFUZZ_APPROX_BUDGET = 5e-4``); a mapping
names the parts::

    FUSEFUZZ_APPROX_BUDGET = {"relative": 2**-14, "of_input": 2**-24}

Every term is linear in per-activation magnitudes, so a problem whose bound averages activations (the global
mean of conv2d_gelu_gap) applies it to the means. Problems pass ``|f(v)|`` and ``|v|`` to :meth:`term`;
a problem with no activation passes its output for both.
"""

from __future__ import annotations

from dataclasses import dataclass

_PARTS = ("absolute", "relative", "of_input")


@dataclass(frozen=True)
class ApproxBudget:
    absolute: float = 0.0
    relative: float = 0.0
    of_input: float = 0.0

    def __bool__(self) -> bool:
        return any((self.absolute, self.relative, self.of_input))

    def term(self, out_abs, in_abs):
        """The allowance per activation (or the mean of it, given mean magnitudes)."""
        return self.absolute + self.relative * out_abs + self.of_input * in_abs

    def describe(self) -> str:
        parts = [f"{self.absolute:.3g}"] if self.absolute else []
        parts += [f"{self.relative:.3g} |f(v)|"] if self.relative else []
        parts += [f"{self.of_input:.3g} |v|"] if self.of_input else []
        return " + ".join(parts) or "0"

    @classmethod
    def parse(cls, value, *, name: str = "FUSEFUZZ_APPROX_BUDGET") -> ApproxBudget:
        if isinstance(value, ApproxBudget):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = {"absolute": value}
        if not isinstance(value, dict) or set(value) - set(_PARTS):
            raise ValueError(f"{name}={value!r} is not an approximation budget; give a float (absolute, per "
                             f"activation) or a dict with keys {', '.join(_PARTS)}")
        parts = {}
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"{name}[{key!r}]={v!r} must be a number >= 0")
            parts[key] = float(v)
        return cls(**parts)


def term(budget, out_abs, in_abs):
    """``budget`` as problems receive it (an :class:`ApproxBudget`, or a float for the absolute part)."""
    return ApproxBudget.parse(budget).term(out_abs, in_abs) if budget else 0.0
