"""``fusefuzz bench CANDIDATE``: time one candidate on one example, and refuse timings that are not honest.

Integrity, in order:

0. **The clock out of reach** (:mod:`fusefuzz.harness.tamper`): the timer calls the CUDA event and clock
   callables captured before the candidate was imported; a candidate that replaced any of them (or a torch
   callable or numerics switch the reference uses), at import or during the rounds, is ``tampering`` and no
   timing is reported. The candidate is timed a fixed number of rounds (:data:`FIXED_ROUNDS`), not a count
   derived from its warm-up; new values are written into the inputs before every round.
1. **Device-wide synchronisation** (:class:`fusefuzz.harness.perf.timer.GpuTimer`): each round ends with
   ``torch.cuda.synchronize()``, so work the call leaves on a side stream is counted; rounds where it did
   are counted and reported, with what stream events alone would have claimed.
2. **Outputs re-verified after the timing loop**, against the float64 reference under the harness's
   tolerance policy (:func:`fusefuzz.harness.runner.judge`): the outputs of a few rounds drawn at random
   (:data:`CHECKED_ROUNDS`, each against its own input values), the *last timed round's* output; the inputs (unchanged
   by the rounds); and a call on new values written into the same tensors with fresh allocations poisoned
   (NaN) - a kernel that defers its work, caches by shape or pointer, or returns a buffer it has not
   written yet fails here. A failed check voids the timing: it is not reported.
3. **Roofline**: a median faster than the device can do the work (:func:`fusefuzz.harness.perf.peaks.impossible`)
   is flagged and not reported.

Speedups over eager PyTorch and ``torch.compile`` of the reference are measured in the same process with
the same clock. The helpers here (:func:`prepare`, :func:`verify_after_timing`) also serve the pytest suite.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

import torch

from .. import backend, kinds, tamper
from ..candidates import copy_parameters
from ..policies import BoundPolicy
from ..precision import torch_dtype
from . import peaks as peaks_mod

VALID, INVALID, IMPOSSIBLE, TAMPERING = "valid", "invalid", "impossible", "tampering"
#: timed rounds of the candidate: a fixed count, so nothing it does in its warm-up changes how often it is timed
FIXED_ROUNDS = 100
#: input sets the rounds cycle through (new values written into the same tensors before every round)
INPUT_SETS = 3
#: rounds (besides the last) whose outputs are kept and checked after the loop, drawn at random per run
CHECKED_ROUNDS = 3


@dataclass
class Setup:
    problem: object
    candidate: object
    example: object
    device: str
    model: torch.nn.Module
    reference: torch.nn.Module
    inputs: list
    snapshots: list
    param_map: dict

    def call(self):
        with torch.no_grad():
            return self.model(*self.inputs)


def prepare(problem, candidate, example, device: str | None = None) -> Setup:
    """Inputs, the reference (parameters drawn from its own init) and the candidate with them copied in."""
    device = device or backend.device()
    dtype = torch_dtype(example.dtype)
    inputs = problem.make_inputs(example, device)
    snapshots = [x.clone() for x in inputs]
    reference = problem.make_reference(example, device)
    model = candidate.build(problem.init_args(example)).to(device=device, dtype=dtype).eval()
    param_map = copy_parameters(reference, model)
    return Setup(problem, candidate, example, device, model, reference, inputs, snapshots, param_map)


@dataclass
class Check:
    name: str
    ok: bool
    kind: str | None = None
    message: str = ""
    worst_ratio: float | None = None


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _judge(setup: Setup, out, inputs_given, *, policy, precision: str, what: str) -> Check:
    from ..runner import Context, check_output, judge

    why = check_output(out, setup.problem, setup.example, setup.device)
    if why:
        return Check(what, False, kinds.BAD_OUTPUT, why)
    out = out.detach().clone()
    ctx = Context(setup.problem, setup.example, inputs_given, setup.reference, setup.candidate.approx_budget,
                  setup.device)
    failure, ratios = judge(ctx, out, policy, precision, config="")
    worst = ratios.get(precision) if precision != "auto" else min(ratios.values(), default=None)
    if failure is None:
        return Check(what, True, None, f"within {policy.label(precision)}", worst)
    kind = failure.kind
    expected = ctx.analysis().ref64
    if kind == kinds.NAN and bool((torch.isnan(out.double().cpu()) & torch.isfinite(expected.cpu())).any()):
        kind = kinds.UNINITIALIZED_OUTPUT if what.startswith("poisoned") else kind
    lines = failure.message.splitlines()
    return Check(what, False, kind, " | ".join(lines[:4]), worst)


def verify_after_timing(setup: Setup, last_out, *, policy=None, precision: str | None = None) -> list[Check]:
    """The three post-loop checks of the module docstring; inputs are restored afterwards."""
    from ..guards import Watch

    policy = policy or BoundPolicy()
    precision = precision or setup.candidate.precision or "auto"
    _sync(setup.device)
    checks = [_judge(setup, last_out, setup.snapshots, policy=policy, precision=precision,
                     what="last timed output vs the float64 reference")]
    changed = [i for i, (x, s) in enumerate(zip(setup.inputs, setup.snapshots, strict=True))
               if not bool(((x == s) | (torch.isnan(x) & torch.isnan(s))).all())]
    checks.append(Check("inputs unchanged by the timed rounds", not changed,
                        None if not changed else kinds.INPUT_MUTATED,
                        "" if not changed else f"input(s) {changed} were modified during timing"))
    fresh = setup.problem.make_inputs(setup.example.replace(seed=(setup.example.seed + 1) % 2**32), setup.device)
    for x, f in zip(setup.inputs, fresh, strict=True):
        x.copy_(f)  # same storage, new values: a cache keyed on shape or pointer returns the old answer
    try:
        with torch.no_grad(), Watch(float("nan")):
            out = setup.model(*setup.inputs)
        _sync(setup.device)
        checks.append(_judge(setup, out, [f.clone() for f in fresh], policy=policy, precision=precision,
                             what="poisoned call on new values in the same tensors"))
    except Exception as e:  # noqa: BLE001 - the candidate's forward is untrusted code
        checks.append(Check("poisoned call on new values in the same tensors", False, kinds.EXCEPTION,
                            f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"))
    finally:
        for x, s in zip(setup.inputs, setup.snapshots, strict=True):
            x.copy_(s)
        _sync(setup.device)
    return checks


class RoundPlan:
    """New values before every timed round (the input sets in turn, the last round on the original values);
    the outputs of a few rounds drawn at random are kept for checking after the loop."""

    def __init__(self, setup: Setup, pool: list, rounds: int, checked: set):
        self.setup, self.pool, self.rounds, self.checked = setup, pool, rounds, checked
        self.kept: dict[int, torch.Tensor] = {}

    def which(self, i: int) -> int:
        return (self.rounds - 1 - i) % len(self.pool)

    def before(self, i: int) -> None:
        for x, v in zip(self.setup.inputs, self.pool[self.which(i)], strict=True):
            x.copy_(v)

    def after(self, i: int, out) -> None:
        if i in self.checked:
            self.kept[i] = out.detach().clone() if isinstance(out, torch.Tensor) else out

    def verify(self, setup: Setup, *, policy, precision) -> list[Check]:
        checks = []
        for i in sorted(self.kept):
            checks.append(_judge(setup, self.kept[i], self.pool[self.which(i)], policy=policy or BoundPolicy(),
                                 precision=precision or setup.candidate.precision or "auto",
                                 what=f"timed round {i} of {self.rounds} (input set {self.which(i)}) vs the float64 "
                                      "reference"))
        for x, s in zip(setup.inputs, setup.snapshots, strict=True):
            x.copy_(s)
        return checks


def _input_pool(setup: Setup, rounds: int):
    """Input set 0 is the original values, the others new values of the same shapes; a random sample of
    rounds (not the last: it is checked anyway) is kept."""
    import random

    pool = [[s.clone() for s in setup.snapshots]]
    for k in range(1, INPUT_SETS):
        ex = setup.example.replace(seed=(setup.example.seed + 101 * k) % 2**32)
        pool.append(setup.problem.make_inputs(ex, setup.device))
    checked = set(random.SystemRandom().sample(range(rounds - 1), min(CHECKED_ROUNDS, rounds - 1)))
    plan = RoundPlan(setup, pool, rounds, checked)
    return pool, plan.kept, plan


# ----------------------------------------------------------------------------------------------------
# Baselines: the reference, eager and compiled
# ----------------------------------------------------------------------------------------------------

def reference_fn(reference: torch.nn.Module, inputs, mode: str):
    """A no-grad call of the reference module: ``eager`` or ``compile`` (torch.compile, default mode)."""
    if mode == "eager":
        model = reference
    elif mode == "compile":
        # ``from torch import _dynamo``, not ``import torch._dynamo``: the latter would bind ``torch`` as a local
        # name of this function, and the eager branch's closure below would find it unbound (NameError on the GPU)
        from torch import _dynamo

        for name in ("cache_size_limit", "recompile_limit"):  # one entry per shape/dtype: never fall back to eager
            if hasattr(_dynamo.config, name):
                setattr(_dynamo.config, name, max(64, getattr(_dynamo.config, name)))
        model = torch.compile(reference)
    else:
        raise ValueError(f"baseline mode={mode!r} is not known; use eager or compile")

    def run():
        with torch.no_grad():
            return model(*inputs)

    return run


def tuned_configs(candidate) -> str:
    """The config each autotuned kernel of ``candidate`` picked (after it has run), e.g. for extra_info."""
    from ..configs import describe_config, find_autotuners

    parts = []
    for t in find_autotuners(candidate.module):
        best = getattr(t.autotuner, "best_config", None)
        parts.append(f"{t.name}[{describe_config(best) if best is not None else 'not tuned yet'}]")
    return "; ".join(parts) or "no autotuned kernels"


# ----------------------------------------------------------------------------------------------------
# The whole bench
# ----------------------------------------------------------------------------------------------------

@dataclass
class BenchResult:
    candidate: str
    problem: str
    example: dict
    precision: str
    verdict: str = VALID
    reason: str = ""
    median_ms: float | None = None  # None when the timing is void
    claimed_median_ms: float | None = None  # what the rounds measured, reported or not
    iqr_ms: float | None = None
    rounds: int = 0
    samples_ms: list = field(default_factory=list)
    timer: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    flops: float | None = None
    bytes: float | None = None
    compute: str | None = None
    tflops: float | None = None
    gbps: float | None = None
    roofline: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    speedups: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == VALID else 1

    def to_json(self) -> dict:
        d = asdict(self)
        d["checks"] = [asdict(c) if isinstance(c, Check) else c for c in self.checks]
        return d


def _iqr(xs) -> float:
    if len(xs) < 4:
        return 0.0
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


def run_bench(problem, candidate, example, *, timer_factory, policy=None, precision: str | None = None,
              baselines=("eager", "compile"), min_time: float = 0.5, min_rounds: int = 30, max_rounds: int = 2000,
              spec=None, measured=None, device: str | None = None, rounds: int | None = None) -> BenchResult:
    """Time ``candidate`` on ``example`` with a timer from ``timer_factory()``; see the module docstring."""
    policy = policy or BoundPolicy()
    precision = precision or candidate.precision or "auto"
    res = BenchResult(candidate=candidate.name, problem=problem.name, example=example.to_dict(), precision=precision)
    tampered = tamper.after_call(candidate.module)  # at import: nothing it could time is trusted
    if tampered:
        res.verdict, res.reason = TAMPERING, tampered + " - not timed"
        return res
    setup = prepare(problem, candidate, example, device)
    timer = timer_factory()
    rounds = int(rounds or FIXED_ROUNDS)
    pool, kept, plan = _input_pool(setup, rounds)
    samples, last = timer.measure(setup.call, rounds=rounds, before_round=plan.before, after_round=plan.after)
    tampered = tamper.after_call(candidate.module)
    if tampered:
        res.verdict, res.reason = TAMPERING, tampered + " - timing not reported"
        res.claimed_median_ms = statistics.median(samples) if samples else None
        return res
    res.samples_ms = [round(x, 6) for x in samples]
    res.rounds = len(samples)
    res.claimed_median_ms = statistics.median(samples)
    res.iqr_ms = _iqr(samples)
    res.timer = timer.summary() if hasattr(timer, "summary") else {}
    side = res.timer.get("side_stream_rounds") or 0
    if side:
        res.notes.append(f"{side} of {len(samples)} rounds left work running after the launching stream's end "
                         f"event (stream events alone: median {res.timer.get('stream_ms_median')} ms); counted "
                         "with device-wide synchronisation")
    res.checks = plan.verify(setup, policy=policy, precision=precision)
    res.checks += verify_after_timing(setup, last, policy=policy, precision=precision)
    failed = [c for c in res.checks if not c.ok]
    if failed:
        res.verdict = INVALID
        res.reason = "; ".join(f"{c.name}: {c.kind}" for c in failed) + " - timing not reported"
    if problem.flops is not None and problem.min_bytes is not None:
        res.flops, res.bytes = problem.flops(example), problem.min_bytes(example)
        res.compute = peaks_mod.compute_class(example.dtype, None if precision == "auto" else precision)
        t = peaks_mod.throughput(res.flops, res.bytes, res.claimed_median_ms)
        res.tflops, res.gbps = t["tflops"], t["gbps"]
        for label, pk in (("spec", spec), ("measured", measured)):
            if pk is not None:
                line = peaks_mod.Roofline(res.flops, res.bytes, res.compute, pk)
                res.roofline[label] = {"peaks": pk.name, "ms": line.ms, "bound": line.bound,
                                       "percent": line.percent(res.claimed_median_ms)}
        why = peaks_mod.impossible(res.flops, res.bytes, res.claimed_median_ms, res.compute, spec, measured)
        if why and res.verdict == VALID:
            res.verdict, res.reason = IMPOSSIBLE, why + " - timing not reported"
        elif why:
            res.notes.append(why)
    if res.verdict == VALID:
        res.median_ms = res.claimed_median_ms
        for mode in baselines:
            ms = statistics.median(timer_factory().measure(reference_fn(setup.reference, setup.inputs, mode),
                                                           min_time=min_time,
                                                           min_rounds=min_rounds, max_rounds=max_rounds)[0])
            res.baselines[mode] = ms
            res.speedups[mode] = ms / res.median_ms if res.median_ms > 0 else None
    else:
        res.tflops = res.gbps = None
    return res


def render(res: BenchResult, out) -> None:
    """Human-readable summary (rich console or plain text)."""
    ex = " ".join(f"{k}={v}" for k, v in res.example.items() if k not in ("scale",))
    out.print(f"fusefuzz bench {res.candidate}  (problem {res.problem})", markup=False)
    if res.machine.get("gpu"):
        out.print(f"  device:    {res.machine['gpu']} (driver {res.machine.get('driver')}, torch "
                  f"{res.machine.get('torch')}, triton {res.machine.get('triton')})", markup=False)
    out.print(f"  example:   {ex}; precision {res.precision}", markup=False)
    t = res.timer
    if res.claimed_median_ms is None:
        out.print(f"  verdict:   {res.verdict.upper()} - {res.reason}", markup=False)
        return
    out.print(f"  rounds:    {res.rounds}; claimed median {res.claimed_median_ms:.4f} ms (IQR {res.iqr_ms:.4f}); "
              f"stream events {t.get('stream_ms_median')} ms, device-wide {t.get('device_ms_median')} ms; "
              f"side-stream rounds {t.get('side_stream_rounds', 0)}", markup=False)
    for c in res.checks:
        status = "ok" if c.ok else f"FAIL ({c.kind})"
        extra = f" (worst error/bound {c.worst_ratio:.3g})" if c.worst_ratio is not None else ""
        out.print(f"  verify:    {c.name}: {status}{extra}{'' if c.ok else ' - ' + c.message}", markup=False)
    if res.flops:
        roof = "; ".join(f"{v['percent']:.1f} % of the {k} roofline ({v['peaks']}: {v['ms']:.4g} ms, "
                         f"{v['bound']}-bound)" for k, v in res.roofline.items()) or "no peaks known for this device"
        rate = (f"{res.tflops:.4g} TFLOP/s, {res.gbps:.4g} GB/s; " if res.tflops is not None else "")
        out.print(f"  roofline:  {res.flops / 1e9:.3g} GFLOP ({res.compute}), {res.bytes / 1e6:.3g} MB; {rate}{roof}",
                  markup=False)
    if res.baselines:
        out.print("  baselines: " + ", ".join(f"{m} {ms:.4f} ms ({res.speedups[m]:.2f}x)" for m, ms in
                                              res.baselines.items()), markup=False)
    for n in res.notes:
        out.print(f"  note:      {n}", markup=False)
    if res.verdict == VALID:
        out.print(f"  verdict:   VALID - median {res.median_ms:.4f} ms", markup=False)
    else:
        out.print(f"  verdict:   {res.verdict.upper()} - {res.reason}", markup=False)
