"""Run one example: the candidate and the reference side by side, every autotune config, every property.

1. the candidate is built (``ModelNew(*init_args)``), moved to the device and dtype, and the reference's
   parameters are copied into it (:func:`fusefuzz.harness.candidates.copy_parameters`);
2. when it has autotuned kernels with several configs, the example's first call runs as a user's first call
   would, with the autotuner benchmarking every config on the call's own buffers (:mod:`fusefuzz.harness.autotuning`),
   and the ``autotune`` property judges it;
3. for each config of the sweep (:mod:`fusefuzz.harness.configs`), the primary call runs under
   :class:`fusefuzz.harness.guards.Watch` (fresh allocations poisoned, aten ops and Triton launches seen). An
   exception is ``exception`` (``out_of_scope``, a note, on a dtype/layout outside the candidate's declared
   contract; *unsupported here* when the backend is to blame); a non-tensor or a wrong shape/dtype/device is
   ``bad_output``. Both end the example;
4. otherwise every record of :data:`fusefuzz.properties.checks.PROPERTIES` judges the call — the value comparison
   first — and each reports its own findings; all of them are kept (failures and notes), one per kind.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from fusefuzz.properties import checks as properties

from . import autotuning, backend, kinds, tamper
from .candidates import Candidate, MissingParameter, copy_parameters
from .configs import pinned, sweep
from .example import Example
from .guards import Watch
from .judging import (  # noqa: F401 - re-exported likewise
    Context,  # noqa: F401 - re-exported: tests and tools import it from here
    Failure,
    Outcome,
    Stop,
    Trial,
    check_output,
    exception_message,
    judge,
    round_operand,
    sync,
)
from .precision import torch_dtype
from .problems import ReferenceRaised

#: every property a full run checks; ``checks=`` picks a subset (``()``: equality only)
ALL_CHECKS = ("mutation", "poison", "fallback", "determinism", "freshness", "batch")

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
    except Stop as stop:
        if stop.failure is not None:
            outcome.add(stop.failure)
        if stop.note is not None:
            outcome.add(stop.note)
        outcome.unsupported = stop.unsupported
    except ReferenceRaised as e:  # the example is outside what the reference accepts: no verdict
        outcome.failures.clear()
        outcome.notes.clear()
        outcome.unsupported = f"the reference itself raised here, not the candidate's fault: {e}"
    outcome.seconds = time.perf_counter() - start
    return outcome


def in_scope(candidate: Candidate, example: Example) -> bool:
    """Whether the example's dtype and layout are inside the contract the candidate declares."""
    dtypes, layouts = getattr(candidate, "dtypes", None), getattr(candidate, "layouts", None)
    return (dtypes is None or example.dtype in dtypes) and (layouts is None or example.layout in layouts)


def _scope_text(candidate: Candidate) -> str:
    dtypes = ", ".join(candidate.dtypes) if getattr(candidate, "dtypes", None) else "every dtype"
    layouts = ", ".join(candidate.layouts) if getattr(candidate, "layouts", None) else "every layout"
    return f"{dtypes}; {layouts}"


def _run_example(problem, candidate, example, policy, precision, device, checks, outcome):
    dtype = torch_dtype(example.dtype)
    describe = example.describe()
    scoped = in_scope(candidate, example)

    def refuse(kind, text, config="", **details):
        """End the example with a failure, or with an out_of_scope note outside the contract."""
        failure = Failure(kind, example, f"{text}\nExample: {describe}", config, details=details)
        if kind == kinds.EXCEPTION and not scoped:
            failure.kind = kinds.OUT_OF_SCOPE
            failure.message = (f"{example.dtype}/{example.layout} is outside the candidate's declared contract "
                               f"({_scope_text(candidate)}) and it refused: {text}\nExample: {describe}")
            raise Stop(note=failure)
        raise Stop(failure)

    inputs = problem.make_inputs(example, device)
    snapshots = [x.clone() for x in inputs]
    reference = problem.make_reference(example, device)
    try:
        model = candidate.build(problem.init_args(example))
        model = model.to(device=device, dtype=dtype).eval()
    except Exception as e:  # noqa: BLE001 - the candidate's constructor is untrusted code
        reason = backend.unsupported_reason(e)
        if reason:
            raise Stop(unsupported=reason) from None
        refuse(kinds.EXCEPTION, f"ModelNew{problem.init_args(example)} raised {exception_message(e)}")
    try:
        param_map = copy_parameters(reference, model)  # CandidateError propagates: a structural problem
    except MissingParameter as e:  # but a parameter the candidate lacks entirely is a wrong model
        refuse(kinds.MISSING_PARAMETER, str(e), param_map=e.mapping)
    param_snapshot = {n: p.detach().clone() for n, p in model.named_parameters()}
    ctx = Context(problem, example, snapshots, reference, candidate.approx_budget, device)
    watching = "poison" in checks or "fallback" in checks

    def make_call(config, details):
        def call(args, poison=float("nan"), what="forward", moves=False):
            """Run the candidate under the watch; return its output (a copy, as it was at return time)."""
            watch = Watch(poison, moves=moves) if watching else None
            try:
                with torch.no_grad(), (watch if watch is not None else contextlib.nullcontext()):
                    out = model(*args)
                sync(device)
            except Stop:
                raise
            except Exception as e:  # noqa: BLE001
                reason = backend.unsupported_reason(e)
                if reason:
                    raise Stop(unsupported=reason) from None
                refuse(kinds.EXCEPTION, f"{what} raised {exception_message(e)}", config, **details)
            tampered = tamper.after_call(candidate.module)  # restores what it names: the reference stays honest
            if tampered:
                refuse(kinds.TAMPERING, f"{what}: {tampered}", config, **details)
            why = check_output(out, problem, _with_batch(problem, example, args), device)
            if why:
                refuse(kinds.BAD_OUTPUT, f"{what}: {why}", config, **details)
            call.last_watch = watch
            # the value at return time (after a device-wide sync) is what a caller gets: later calls must not
            # change it behind our back (lazy outputs, deferred launches)
            return out.detach().clone()

        call.last_watch = None
        return call

    def trial(config, details, first, out, watch, call):
        return Trial(problem=problem, candidate=candidate, example=example, ctx=ctx, policy=policy,
                     precision=precision, device=device, config=config, details=details, first=first, inputs=inputs,
                     snapshots=snapshots, model=model, param_snapshot=param_snapshot, out=out, watch=watch,
                     call=call, checks=frozenset(checks))

    def restore_inputs():
        for x, snap in zip(inputs, snapshots, strict=True):
            x.copy_(snap)

    # the interpreter evaluates kernels with numpy: overflow warnings are the candidate's business,
    # judged from its output, not noise for the report
    with np.errstate(all="ignore"):
        tuned = autotuning.benchmarking(candidate.autotuners)
        if tuned:
            details = {"config_index": None, "param_map": param_map, "autotuned": autotuning.describe(tuned)}
            config = "autotuned first call (every config benchmarked): " + autotuning.describe(tuned)
            call = make_call(config, details)
            with autotuning.as_first_call(tuned, interpreted=backend.name() == "interpreter"):
                out = call(inputs, what="the first call (autotuner benchmarking)")
                t = trial(config, details, True, out, None, call)
                for finding in properties.AUTOTUNE.check(t):
                    outcome.add(finding)
            restore_inputs()
        for assignment in sweep(candidate.autotuners):
            config = assignment.describe()
            details = {"config_index": assignment.index, "param_map": param_map}
            call = make_call(config, details)
            with pinned(assignment):
                out = call(inputs, moves="fallback" in checks)
                outcome.configs_run += 1
                t = trial(config, details, assignment.index == 0, out, call.last_watch, call)
                _, ratios = t.value()
                for c, r in ratios.items():
                    outcome.ratios[c] = max(outcome.ratios.get(c, 0.0), r)
                if t.first:
                    outcome.accuracy = _grade(ctx, out, precision)
                found = [f for prop in properties.PROPERTIES if prop.applies(t) for f in prop.check(t)]
                if any(f.kind == kinds.UNINITIALIZED_OUTPUT or f.details.get("poison_dependent") for f in found):
                    # the NaN of poisoned memory the kernel never wrote (or read as scratch): that finding names
                    # the bug, the NaN is its symptom
                    found = [f for f in found if f.kind != kinds.NAN]
                for finding in found:
                    outcome.add(finding)
                restore_inputs()


def _grade(ctx, out, precision):
    """The accuracy grades of one output; None when a grade cannot be computed here (never a verdict)."""
    from . import accuracy

    try:
        return accuracy.grade_output(ctx, out, precision)
    except Exception:  # noqa: BLE001 - grading is information, not judgement: a reference that cannot run
        return None  # PyTorch at the candidate's precision here (e.g. fp16 conv on some CPU builds) grades nothing


def _with_batch(problem, example, args):
    """The example as seen by a call on a sub-batch (for the output-shape check)."""
    name = getattr(problem, "batch_name", "batch")
    b = args[0].shape[0] if args and isinstance(args[0], torch.Tensor) and args[0].dim() else None
    if b is None or name not in example.sizes or b == example[name]:
        return example
    return example.replace(**{name: b})
