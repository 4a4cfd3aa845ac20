"""Run one example: the candidate and the reference side by side, every autotune config, one verdict.

Order of checks for one example (the first failure wins and is reported with its config):

1. the candidate is built (``ModelNew(*init_args)``), moved to the device and dtype, and the reference's
   parameters are copied into it (:func:`fusefuzz.harness.candidates.copy_parameters`);
2. for each config of the sweep, every call of the candidate runs under :class:`fusefuzz.harness.guards.Watch`
   (fresh allocations poisoned, aten ops and Triton launches counted): an exception is ``exception`` (or
   *unsupported* when the backend is to blame); a non-tensor or wrong shape/dtype/device is
   ``bad_output``; calling the reference's own aten ops, or launching no Triton kernel, is
   ``torch_fallback``;
3. inputs and parameters are compared by content with their snapshots (``input_mutated``);
4. (first config) a second call on the same inputs with fresh memory poisoned differently: outputs that
   follow the poison are ``uninitialized_output``; other differences are ``nondeterministic`` (bitwise
   when the kernel declares determinism, else when the second result fails the policy);
5. the output is compared under the tolerance policy (``nan`` / ``mismatch`` / ``precision_contract``);
6. (first config) batch split and batch reversal give the same per-sample results (``batch_variance``);
7. (first config) a call with new values, then the same tensors refilled in place, give the new answer
   (``stale_output`` when the old answer comes back).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch

from . import backend, kinds, tamper
from .candidates import Candidate, MissingParameter, copy_parameters
from .configs import pinned, sweep
from .example import Example, apply_layout
from .guards import Watch
from .messages import exception_message as _exception_message
from .judging import (  # noqa: F401 - the judging primitives stay importable from here too
    Context,
    Failure,
    Outcome,
    _run_reference,
    check_output,
    judge,
    round_operand,
    tf32_disabled,
)
from .precision import torch_dtype
from .problems import ReferenceRaised


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class _Stop(Exception):
    """Ends the example: a failure was found, or the backend cannot run it."""

    def __init__(self, failure: Failure | None = None, unsupported: str | None = None):
        super().__init__()
        self.failure, self.unsupported = failure, unsupported


#: every property a full run checks; ``checks=`` picks a subset (``()``: equality only)
ALL_CHECKS = ("mutation", "poison", "fallback", "determinism", "freshness", "batch")

#: the second poison: finite, exact in every float dtype, and implausible as a result
SECOND_POISON = 4096.0 + 1.0 / 8


def _bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


CHECKS_ENV = "FUSEFUZZ_CHECKS"


def checks_from(spec: str | None) -> tuple[str, ...]:
    """``all`` (default), ``none`` (equality and output checks only) or a comma list of ALL_CHECKS."""
    if spec is None or spec.strip() in ("", "all"):
        return ALL_CHECKS
    if spec.strip() == "none":
        return ()
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if n not in ALL_CHECKS]
    if bad:
        raise ValueError(f"checks={spec!r} names unknown checks {bad}; use all, none or a comma list of "
                         f"{', '.join(ALL_CHECKS)}")
    return names


def run_example(problem, candidate: Candidate, example: Example, *, policy=None, precision: str | None = None,
                device: str | None = None, checks=None) -> Outcome:
    """Run ``example`` through every config of ``candidate``; see the module docstring.

    ``checks`` (default: ``$FUSEFUZZ_CHECKS``, else all) picks the properties beyond equality."""
    import os

    if checks is None:
        checks = checks_from(os.environ.get(CHECKS_ENV))
    if policy is None:
        from .policies import parse

        policy = parse(getattr(problem, "default_policy", "bound"))
    precision = precision or candidate.precision or "auto"
    device = device or backend.device()
    start = time.perf_counter()
    outcome = Outcome(example)
    try:
        _run_example(problem, candidate, example, policy, precision, device, set(checks), outcome)
    except _Stop as stop:
        if stop.failure is not None:
            outcome.failures.append(stop.failure)
        outcome.unsupported = stop.unsupported
    except ReferenceRaised as e:  # the example is outside what the reference accepts: no verdict
        outcome.failures.clear()
        outcome.unsupported = f"the reference itself raised here, not the candidate's fault: {e}"
    outcome.seconds = time.perf_counter() - start
    return outcome


def _run_example(problem, candidate, example, policy, precision, device, checks, outcome):
    dtype = torch_dtype(example.dtype)
    describe = example.describe()

    def fail(kind, text, config="", **details):
        raise _Stop(Failure(kind, example, f"{text}\nExample: {describe}", config, details=details))

    inputs = problem.make_inputs(example, device)
    snapshots = [x.clone() for x in inputs]
    reference = problem.make_reference(example, device)
    try:
        model = candidate.build(problem.init_args(example))
        model = model.to(device=device, dtype=dtype).eval()
    except Exception as e:  # noqa: BLE001 - the candidate's constructor is untrusted code
        reason = backend.unsupported_reason(e)
        if reason:
            raise _Stop(unsupported=reason) from None
        fail(kinds.EXCEPTION, f"ModelNew{problem.init_args(example)} raised {_exception_message(e)}")
    try:
        param_map = copy_parameters(reference, model)  # CandidateError propagates: a structural problem
    except MissingParameter as e:  # but a parameter the candidate lacks entirely is a wrong model
        fail(kinds.MISSING_PARAMETER, str(e), param_map=e.mapping)
    param_snapshot = {n: p.detach().clone() for n, p in model.named_parameters()}
    ctx = Context(problem, example, snapshots, reference, candidate.approx_budget, device)
    reference_ops = problem.reference_ops - frozenset(candidate.allowed_ops)

    for assignment in sweep(candidate.autotuners):
        config = assignment.describe()
        details = {"config_index": assignment.index, "param_map": param_map}
        first = assignment.index == 0

        def call(args, poison=float("nan"), what="forward"):
            """Run the candidate under the watch; return (output, watch)."""
            watch = Watch(poison) if ("poison" in checks or "fallback" in checks) else None
            try:
                with torch.no_grad(), (watch if watch is not None else contextlib.nullcontext()):
                    out = model(*args)
                _sync(device)
            except _Stop:
                raise
            except Exception as e:  # noqa: BLE001
                reason = backend.unsupported_reason(e)
                if reason:
                    raise _Stop(unsupported=reason) from None
                fail(kinds.EXCEPTION, f"{what} raised {_exception_message(e)}", config, **details)  # noqa: B023 (called only within this iteration)
            tampered = tamper.after_call(candidate.module)  # restores what it names: the reference stays honest
            if tampered:
                fail(kinds.TAMPERING, f"{what}: {tampered}", config, **details)  # noqa: B023 (called only within this iteration)
            tampered = tamper.after_call(candidate.module)  # restores what it names: the reference stays honest
            if tampered:
                fail(kinds.TAMPERING, f"{what}: {tampered}", config, **details)  # noqa: B023 (called only within this iteration)
            why = check_output(out, problem, _with_batch(problem, example, args), device)
            if why:
                fail(kinds.BAD_OUTPUT, f"{what}: {why}", config, **details)  # noqa: B023 (called only within this iteration)
            if watch is not None and "fallback" in checks:
                used = watch.fallback_ops(reference_ops, ())
                if used:
                    fail(kinds.TORCH_FALLBACK, f"{what} called PyTorch's own {', '.join(used)} (aten ops of the "
                         "reference's work; declare FUSEFUZZ_ALLOWED_OPS if intended)", config, **details)  # noqa: B023 (called only within this iteration)
                launches.append(watch.launches)  # noqa: B023 (called only within this iteration)
            # the value at return time (after a device-wide sync) is what a caller gets: later calls must not
            # change it behind our back (lazy outputs, deferred launches)
            return out.detach().clone()

        # the interpreter evaluates kernels with numpy: overflow warnings are the candidate's business,
        # judged from its output, not noise for the report
        launches: list[int] = []
        with pinned(assignment), np.errstate(all="ignore"):
            out = call(inputs)
            outcome.configs_run += 1
            if "mutation" in checks:
                _check_unchanged(inputs, snapshots, model, param_snapshot, fail, config, details)
            if first and ("poison" in checks or "determinism" in checks):
                again = call(inputs, poison=SECOND_POISON, what="a second call on the same inputs")
                if not _bitwise_equal(out, again):
                    unwritten = (torch.isnan(out) & (again == SECOND_POISON)).sum().item()
                    if unwritten:
                        fail(kinds.UNINITIALIZED_OUTPUT,
                             f"{int(unwritten)} of {out.numel()} outputs were never written: NaN when fresh "
                             f"allocations are NaN-filled, exactly {SECOND_POISON} when they are filled with that",
                             config, **details)
                    if bool((torch.isnan(out) != torch.isnan(again)).any()):
                        n = int((torch.isnan(out) != torch.isnan(again)).sum())
                        fail(kinds.NONDETERMINISTIC,
                             f"the result depends on the contents of fresh allocations (uninitialised scratch): "
                             f"{n} outputs are NaN with NaN-filled memory and finite with {SECOND_POISON}-filled",
                             config, **details)
                    if candidate.deterministic:
                        n = int((out != again).sum())
                        fail(kinds.NONDETERMINISTIC, f"declared deterministic, but two runs on the same inputs "
                             f"differ in {n} outputs (max {float((out.double() - again.double()).abs().max()):.3g})",
                             config, **details)
                    f2, _ = judge(ctx, again, policy, precision, config)
                    if f2 is not None:
                        f2.kind = kinds.NONDETERMINISTIC
                        f2.message = "the second run on the same inputs (fresh allocations filled with " \
                                     f"{SECOND_POISON}) is wrong while the first was not checked yet:\n" + f2.message
                        raise _Stop(f2)
            failure, ratios = judge(ctx, out, policy, precision, config)
            for c, r in ratios.items():
                outcome.ratios[c] = max(outcome.ratios.get(c, 0.0), r)
            if failure:
                failure.details.update(details)
                raise _Stop(failure)
            if launches and launches[0] == 0:
                fail(kinds.TORCH_FALLBACK, "forward launched no Triton kernel (the result came from elsewhere)",
                     config, **details)
            if first and "batch" in checks and example.sizes.get(getattr(problem, "batch_name", "batch"), 0) >= 2:
                _check_batch(call, inputs, out, ctx, example, policy, precision, candidate, fail, config, details)
            if first and "freshness" in checks:
                _check_fresh(call, problem, example, inputs, out, reference, candidate, policy, precision, device,
                             fail, config, details)
                for x, snap in zip(inputs, snapshots, strict=True):  # the next config sees the original values
                    x.copy_(snap)


def _with_batch(problem, example, args):
    """The example as seen by a call on a sub-batch (for the output-shape check)."""
    name = getattr(problem, "batch_name", "batch")
    b = args[0].shape[0] if args and isinstance(args[0], torch.Tensor) and args[0].dim() else None
    if b is None or name not in example.sizes or b == example[name]:
        return example
    return example.replace(**{name: b})


def _check_unchanged(inputs, snapshots, model, param_snapshot, fail, config, details):
    for i, (x, snap) in enumerate(zip(inputs, snapshots, strict=True)):
        if not _bitwise_equal(x, snap):
            n = int((~((x == snap) | (torch.isnan(x) & torch.isnan(snap)))).sum())
            fail(kinds.INPUT_MUTATED, f"input {i} was modified by the candidate ({n} elements changed)",
                 config, **details)
    for n, p in model.named_parameters():
        if not torch.equal(p.detach(), param_snapshot[n]):
            fail(kinds.INPUT_MUTATED, f"parameter {n} was modified by the candidate", config, **details)


def _check_batch(call, inputs, out, ctx, example, policy, precision, candidate, fail, config, details):
    """f(cat(a, b)) == cat(f(a), f(b)) and f(x[perm]) == f(x)[perm]: bitwise when the kernel declares
    determinism, within the policy otherwise."""
    x, rest = inputs[0], inputs[1:]
    B = x.shape[0]
    k = B // 2
    halves = []
    for part, which in ((x[:k], "first"), (x[k:], "second")):
        what = f"forward on the {which} half of the batch"
        got = call([part, *rest], what=what)
        # NaN here (allocations are NaN-filled) that reads exactly SECOND_POISON when they are filled with that:
        # outputs this batch size never writes, an uninitialised output rather than a batch-dependent result
        nan = torch.isnan(got)
        if bool(nan.any()):
            again = call([part, *rest], poison=SECOND_POISON, what=what + f" (allocations filled with {SECOND_POISON})")
            n = int((nan & (again == SECOND_POISON)).sum())
            if n:
                fail(kinds.UNINITIALIZED_OUTPUT,
                     f"with the {which} half of the batch alone ({part.shape[0]} of {B} images), {n} outputs are "
                     f"never written: NaN when allocations are NaN-filled, exactly {SECOND_POISON} when they are "
                     "filled with that", config, **details)
                return
        halves.append(got)
    split = torch.cat(halves)
    perm = torch.arange(B - 1, -1, -1, device=x.device)
    xp = apply_layout(x[perm], example.layout)
    permuted = call([xp, *rest], what="forward on the batch reversed")[perm]
    for name, got in (("split into two halves", split), ("reversed", permuted)):
        if candidate.deterministic:
            if not _bitwise_equal(got, out):
                n = int((~((got == out) | (torch.isnan(got) & torch.isnan(out)))).sum())
                fail(kinds.BATCH_VARIANCE, f"declared deterministic, but the batch {name} gives {n} different "
                     f"outputs (max difference {float((got.double() - out.double()).abs().max()):.3g})",
                     config, **details)
        else:
            f2, _ = judge(ctx, got, policy, precision, config)
            if f2 is not None:
                f2.kind = kinds.BATCH_VARIANCE
                f2.message = f"with the batch {name} the result is wrong:\n" + f2.message
                f2.details.update(details)
                raise _Stop(f2)


def _check_fresh(call, problem, example, inputs, out, reference, candidate, policy, precision, device, fail,
                 config, details):
    """A second call with new values of the same shape, then the same storage refilled in place, must
    give the new answer (no caching by shape or data pointer, no lazy outputs)."""
    fresh_example = example.replace(seed=(example.seed + 1) % 2**32)
    fresh = problem.make_inputs(fresh_example, device)
    ctx2 = Context(problem, example, [t.clone() for t in fresh], reference, candidate.approx_budget, device)
    got = call(fresh, what="a second call with new values")
    for attempt, args in (("a second call with new values of the same shape", fresh),
                          ("a call on the same tensors refilled in place with new values", None)):
        if args is None:
            for x, f in zip(inputs, fresh, strict=True):
                x.copy_(f)
            got = call(inputs, what=attempt)
            args = inputs
        f2, _ = judge(ctx2, got, policy, precision, config)
        if f2 is not None:
            stale = _bitwise_equal(got, out)
            f2.kind = kinds.STALE_OUTPUT if stale else f2.kind
            f2.message = (f"{attempt} returned {'the previous answer' if stale else 'a wrong answer'}:\n"
                          + f2.message)
            f2.details.update(details)
            raise _Stop(f2)
