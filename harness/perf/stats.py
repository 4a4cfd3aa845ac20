"""The regression gate: a run is slower only if it is slower by a FACTOR and SIGNIFICANTLY (as asv does).

For one benchmark, ``current`` and ``baseline`` are per-round times (ms; the baseline pools the rounds of
the last few stored runs of the same GPU). :func:`gate`:

* ``ratio = median(current) / median(baseline)``, with a 95 % bootstrap interval (resampling both sides);
* one-sided Mann-Whitney U tests (scipy): ``p_slower`` that current rounds tend to be slower, ``p_faster``
  that they tend to be faster;
* **regression** when ``ratio > threshold`` AND ``p_slower < alpha``; **improvement** when
  ``ratio < 1 / threshold`` AND ``p_faster < alpha``; otherwise **no change**, with the reason (inside the
  threshold, or outside it but not significant);
* **too few samples** when even the most extreme ranking could not reach ``alpha`` (the exact one-sided
  minimum p is ``1 / C(n + m, n)``): the gate never pretends to have tested what it cannot.

Why both: with hundreds of rounds a 0.3 % shift between two processes (clocks, placement) is
"significant" yet harmless; a 10 % shift seen in two noisy rounds is a factor without evidence. Each
benchmark may carry its own threshold and alpha (``extra_info["regression_threshold"]`` /
``["regression_alpha"]``); command-line overrides win (:func:`threshold_for`).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass

import numpy as np

from . import require

DEFAULT_THRESHOLD = 1.05
DEFAULT_ALPHA = 0.002
BOOTSTRAP = 2000

REGRESSION, IMPROVEMENT, NO_CHANGE, TOO_FEW, NEW, MISSING = (
    "regression", "improvement", "no change", "too few samples", "new", "missing")


@dataclass
class Verdict:
    name: str
    status: str
    reason: str
    threshold: float
    alpha: float
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_slower: float | None = None
    p_faster: float | None = None
    current_median: float | None = None
    baseline_median: float | None = None
    n_current: int = 0
    n_baseline: int = 0
    baseline_runs: int = 0

    @property
    def alarm(self) -> bool:
        return self.status == REGRESSION

    def to_json(self) -> dict:
        return asdict(self)

    def ratio_text(self) -> str:
        if self.ratio is None:
            return "-"
        ci = f" [{self.ci_low:.3f}, {self.ci_high:.3f}]" if self.ci_low is not None else ""
        return f"{self.ratio:.3f}{ci}"


def min_p_value(n: int, m: int) -> float:
    """Smallest one-sided p the exact Mann-Whitney test can give for sample sizes n and m."""
    if n < 1 or m < 1:
        return 1.0
    return math.exp(math.lgamma(n + 1) + math.lgamma(m + 1) - math.lgamma(n + m + 1))  # 1 / C(n + m, n)


def bootstrap_ratio(current, baseline, *, resamples: int = BOOTSTRAP, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval of median(current) / median(baseline)."""
    rng = np.random.default_rng(seed)
    cur = np.asarray(current, dtype=float)
    base = np.asarray(baseline, dtype=float)
    c = np.median(cur[rng.integers(0, cur.size, size=(resamples, cur.size))], axis=1)
    b = np.median(base[rng.integers(0, base.size, size=(resamples, base.size))], axis=1)
    ratios = c / b
    lo, hi = np.quantile(ratios, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def gate(current, baseline, *, threshold: float = DEFAULT_THRESHOLD, alpha: float = DEFAULT_ALPHA,
         name: str = "", baseline_runs: int = 1) -> Verdict:
    """Judge one benchmark (see the module docstring). Lower times are better."""
    if not threshold > 1.0:
        raise ValueError(f"threshold={threshold!r} must be a slowdown factor > 1 (e.g. 1.05 for 5 %)")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha={alpha!r} must be a significance level in (0, 1), e.g. 0.002")
    cur = [float(x) for x in current if x is not None and math.isfinite(float(x))]
    base = [float(x) for x in baseline if x is not None and math.isfinite(float(x))]
    v = Verdict(name=name, status=TOO_FEW, reason="", threshold=threshold, alpha=alpha,
                n_current=len(cur), n_baseline=len(base), baseline_runs=baseline_runs)
    if cur:
        v.current_median = float(np.median(cur))
    if base:
        v.baseline_median = float(np.median(base))
    if cur and base and v.baseline_median > 0:
        v.ratio = v.current_median / v.baseline_median
    floor = min_p_value(len(cur), len(base))
    if len(cur) < 2 or len(base) < 2 or floor >= alpha:
        v.reason = (f"{len(cur)} current and {len(base)} baseline rounds: the smallest possible p is {floor:.3g}, "
                    f"not below alpha {alpha:g}; record more rounds")
        return v
    stats = require("scipy.stats", "the regression gate's Mann-Whitney U test")
    v.p_slower = float(stats.mannwhitneyu(cur, base, alternative="greater").pvalue)
    v.p_faster = float(stats.mannwhitneyu(cur, base, alternative="less").pvalue)
    v.ci_low, v.ci_high = bootstrap_ratio(cur, base)
    r = v.ratio
    if r > threshold and v.p_slower < alpha:
        v.status, v.reason = REGRESSION, (f"{(r - 1) * 100:.1f} % slower (threshold {(threshold - 1) * 100:.0f} %), "
                                          f"Mann-Whitney p = {v.p_slower:.2g} < {alpha:g}")
    elif r < 1.0 / threshold and v.p_faster < alpha:
        v.status, v.reason = IMPROVEMENT, (f"{(1 - r) * 100:.1f} % faster, Mann-Whitney p = {v.p_faster:.2g}")
    else:
        v.status = NO_CHANGE
        if 1.0 / threshold <= r <= threshold:
            v.reason = f"ratio {r:.3f} is within the threshold {threshold:g}"
        else:
            p = v.p_slower if r > 1 else v.p_faster
            v.reason = f"ratio {r:.3f} is outside the threshold {threshold:g} but not significant (p = {p:.2g})"
    return v


def parse_override(spec: str) -> tuple[str, float]:
    """``PATTERN=FACTOR`` (fnmatch pattern on the benchmark's full name or name)."""
    pattern, sep, factor = spec.rpartition("=")
    try:
        value = float(factor)
    except ValueError:
        value = float("nan")
    if not sep or not pattern or not value > 1.0:
        raise ValueError(f"--threshold-for={spec!r} must be PATTERN=FACTOR with FACTOR > 1, e.g. '*throughput*=1.2'")
    return pattern, value


def threshold_for(record, overrides=(), default: float = DEFAULT_THRESHOLD) -> float:
    for pattern, value in overrides:
        if fnmatch.fnmatchcase(record.fullname, pattern) or fnmatch.fnmatchcase(record.name, pattern):
            return value
    declared = (record.extra_info or {}).get("regression_threshold")
    return float(declared) if declared else default


def alpha_for(record, default: float = DEFAULT_ALPHA, forced: float | None = None) -> float:
    if forced is not None:
        return forced
    declared = (record.extra_info or {}).get("regression_alpha")
    return float(declared) if declared else default


def compare(current, history, *, last: int = 3, overrides=(), default_threshold: float = DEFAULT_THRESHOLD,
            alpha: float | None = None) -> list[Verdict]:
    """Every benchmark of ``current`` (a :class:`fusefuzz.harness.perf.history.Run`) against the pooled rounds of
    the ``last`` earlier runs of ``history`` that have it (same GPU key: the caller's job, checked again)."""
    earlier = [r for r in history if r.path != current.path and r.gpu_key == current.gpu_key]
    verdicts = []
    for name, rec in sorted(current.benchmarks.items()):
        thr = threshold_for(rec, overrides, default_threshold)
        a = alpha_for(rec, forced=alpha)
        having = [r for r in earlier if name in r.benchmarks][-last:] if last > 0 else []
        if not having:
            verdicts.append(Verdict(name=name, status=NEW, reason="no earlier run of this GPU has it", threshold=thr,
                                    alpha=a, current_median=rec.median_ms, n_current=len(rec.samples_ms)))
            continue
        pooled = [x for r in having for x in r.benchmarks[name].samples_ms]
        verdicts.append(gate(rec.samples_ms, pooled, threshold=thr, alpha=a, name=name, baseline_runs=len(having)))
    for name in sorted({n for r in earlier[-last:] for n in r.benchmarks} - set(current.benchmarks)):
        verdicts.append(Verdict(name=name, status=MISSING, reason="in the baseline runs, not in this run",
                                threshold=default_threshold, alpha=alpha or DEFAULT_ALPHA))
    return verdicts
