"""The properties fusefuzz checks on every example, one record each.

A record says what the property runs, the *signature* it detects and the kind it reports; its ``check`` takes
the :class:`~fusefuzz.harness.judging.Trial` of one config (the primary call's output and a way to call the
candidate again) and returns its findings. The runner (:mod:`fusefuzz.harness.runner`) judges the primary output
first (``value``, ``nan``) and then runs the other records in :data:`PROPERTIES` order; a record reports its own
kind only on its own signature, so a plain wrong answer is ``mismatch``/``nan`` whichever record saw it first.

A new property is one more :class:`Property` here plus its check function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from fusefuzz.harness import kinds
from fusefuzz.harness.compare import compare
from fusefuzz.harness.configs import describe_config
from fusefuzz.harness.example import apply_layout
from fusefuzz.harness.judging import SECOND_POISON, Context, Failure, Trial, bitwise_equal


@dataclass(frozen=True)
class Property:
    name: str
    #: what it runs, in words
    runs: str
    #: what it detects
    signature: str
    #: the kinds it reports
    kinds: tuple[str, ...]
    check: Callable[[Trial], list[Failure]]
    #: the ``$FUSEFUZZ_CHECKS`` name that enables it; None: always on
    enabled_by: str | None = None
    #: runs on the first config of the sweep only (it costs extra calls)
    first_config_only: bool = False

    def applies(self, trial: Trial) -> bool:
        if self.enabled_by is not None and self.enabled_by not in trial.checks:
            return False
        return trial.first or not self.first_config_only


# ---- value --------------------------------------------------------------------------------------------

def _value(trial: Trial) -> list[Failure]:
    failure, _ = trial.value()
    return [failure] if failure is not None and failure.kind != kinds.NAN else []


def _nan(trial: Trial) -> list[Failure]:
    failure, _ = trial.value()
    return [failure] if failure is not None and failure.kind == kinds.NAN else []


# ---- immutability ---------------------------------------------------------------------------------------

def _immutability(trial: Trial) -> list[Failure]:
    found = []
    for i, (x, snap) in enumerate(zip(trial.inputs, trial.snapshots, strict=True)):
        if not bitwise_equal(x, snap):
            n = int((~((x == snap) | (torch.isnan(x) & torch.isnan(snap)))).sum())
            found.append(trial.finding(kinds.INPUT_MUTATED, f"input {i} was modified by the candidate "
                                                             f"({n} elements changed)"))
            x.copy_(snap)  # the other properties see what the reference saw
    for n, p in trial.model.named_parameters():
        if not torch.equal(p.detach(), trial.param_snapshot[n]):
            found.append(trial.finding(kinds.INPUT_MUTATED, f"parameter {n} was modified by the candidate"))
            with torch.no_grad():
                p.copy_(trial.param_snapshot[n])
    return found[:1]


# ---- fusion ---------------------------------------------------------------------------------------------

def _fusion(trial: Trial) -> list[Failure]:
    watch = trial.watch
    if watch is None:
        return []
    compute = [op for op in watch.ops if op not in _BOOKKEEPING]
    if watch.launches == 0:
        if not compute:  # neither a launch nor PyTorch arithmetic seen: a deferred launch, a buffer returned
            return []  # unfilled (the value and poison properties judge that), not PyTorch's work
        return [trial.finding(kinds.TORCH_FALLBACK, "forward launched no Triton kernel: the result came from "
                              f"PyTorch ({_ops(watch)})")]
    reference_ops = trial.problem.reference_ops - frozenset(trial.candidate.allowed_ops)
    used = watch.fallback_ops(reference_ops, ())
    if watch.only_moved and (used or not trial.candidate.allowed_ops):
        # PyTorch computed the result and Triton copied it; only a candidate that declares the reference ops it
        # runs in PyTorch (FUSEFUZZ_ALLOWED_OPS) and calls no other may do that openly
        return [trial.finding(kinds.TORCH_FALLBACK, f"every Triton launch of forward ({watch.launches}) only moved "
                              "values that PyTorch had computed (each written tensor holds exactly another "
                              f"argument's previous values): the arithmetic is PyTorch's ({_ops(watch)})")]
    if used:
        return [trial.finding(kinds.PARTIAL_FUSION, f"forward runs the reference's {', '.join(used)} in PyTorch "
                              f"beside {watch.launches} Triton launch(es); the values are still checked "
                              "(declare FUSEFUZZ_ALLOWED_OPS to silence this note)", ops=used)]
    return []


def _ops(watch) -> str:
    compute = sorted(op for op in watch.ops if op not in _BOOKKEEPING)
    return "aten ops: " + (", ".join(compute[:8]) + (" ..." if len(compute) > 8 else "") if compute else "none")


_BOOKKEEPING = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros",
                          "zeros_like", "new_zeros", "fill_", "zero_", "view", "_unsafe_view", "reshape",
                          "as_strided", "contiguous", "clone", "copy_", "detach", "t", "transpose", "permute",
                          "expand", "squeeze", "unsqueeze", "select", "slice", "alias", "lift_fresh", "_to_copy",
                          "to", "is_contiguous", "stride", "size", "numel", "sym_size", "sym_stride"})


# ---- determinism and poisoned allocations ----------------------------------------------------------------

def _determinism(trial: Trial) -> list[Failure]:
    out = trial.out
    again = trial.call(trial.inputs, poison=SECOND_POISON, what="a second call on the same inputs")
    if bitwise_equal(out, again):
        return []
    unwritten = int((torch.isnan(out) & (again == SECOND_POISON)).sum().item())
    if unwritten:
        return [trial.finding(kinds.UNINITIALIZED_OUTPUT,
                              f"{unwritten} of {out.numel()} outputs were never written: NaN when fresh "
                              f"allocations are NaN-filled, exactly {SECOND_POISON} when they are filled with that")]
    flips = int((torch.isnan(out) != torch.isnan(again)).sum())
    if flips:
        return [trial.finding(kinds.NONDETERMINISTIC,
                              "the result depends on the contents of fresh allocations (uninitialised scratch): "
                              f"{flips} outputs are NaN with NaN-filled memory and finite with "
                              f"{SECOND_POISON}-filled", poison_dependent=True)]
    differ = int((out != again).sum())
    largest = float((out.double() - again.double()).abs().max())
    if trial.candidate.deterministic:
        return [trial.finding(kinds.NONDETERMINISTIC, f"declared deterministic, but two runs on the same inputs "
                              f"differ in {differ} outputs (max {largest:.3g})")]
    # not declared deterministic: the runs may differ in the last bits (atomic order), not by more than the
    # policy allows for one answer
    _, allowed = trial.policy.expected_and_allowed(trial.ctx, _contract(trial))
    comp = compare(again, out, torch.broadcast_to(allowed, out.shape))
    if comp.ok:
        return []
    return [trial.finding(kinds.NONDETERMINISTIC, f"two runs on the same inputs differ by more than the policy "
                          f"allows for one answer: {comp.mismatched} of {comp.total} outputs, largest difference "
                          f"{comp.max_abs:.3g} (allowed {comp.max_abs_allowed:.3g}, error/allowed "
                          f"{comp.worst_ratio:.3g})")]


def _contract(trial: Trial) -> str:
    if trial.precision != "auto":
        return trial.precision
    return tuple(getattr(trial.problem, "auto_contracts", ("ieee",)))[-1]


# ---- batch -----------------------------------------------------------------------------------------------

def _batch(trial: Trial) -> list[Failure]:
    name = getattr(trial.problem, "batch_name", None)
    if name is None or trial.example.sizes.get(name, 0) < 2:
        return []
    if trial.value()[0] is not None:
        return []  # the whole batch is already wrong: the value property reports it
    x, rest = trial.inputs[0], trial.inputs[1:]
    B, k = x.shape[0], x.shape[0] // 2
    halves = []
    for part, which in ((x[:k], "first"), (x[k:], "second")):
        what = f"forward on the {which} half of the batch"
        got = trial.call([part, *rest], what=what)
        nan = torch.isnan(got)
        if bool(nan.any()):
            again = trial.call([part, *rest], poison=SECOND_POISON,
                               what=what + f" (allocations filled with {SECOND_POISON})")
            n = int((nan & (again == SECOND_POISON)).sum())
            if n:
                return [trial.finding(kinds.UNINITIALIZED_OUTPUT,
                                      f"with the {which} half of the batch alone ({part.shape[0]} of {B} images), "
                                      f"{n} outputs are never written: NaN when allocations are NaN-filled, exactly "
                                      f"{SECOND_POISON} when they are filled with that")]
        halves.append(got)
    perm = torch.arange(B - 1, -1, -1, device=x.device)
    permuted = trial.call([apply_layout(x[perm], trial.example.layout), *rest], what="forward on the batch reversed")
    for how, got in (("split into two halves", torch.cat(halves)), ("reversed", permuted[perm])):
        if trial.candidate.deterministic:
            if not bitwise_equal(got, trial.out):
                n = int((~((got == trial.out) | (torch.isnan(got) & torch.isnan(trial.out)))).sum())
                return [trial.finding(kinds.BATCH_VARIANCE, f"declared deterministic, but the batch {how} gives {n} "
                                      "different outputs (max difference "
                                      f"{float((got.double() - trial.out.double()).abs().max()):.3g})")]
        else:
            f2 = trial.judge(got)
            if f2 is not None:
                f2.kind = kinds.BATCH_VARIANCE
                f2.message = (f"the whole batch is right, but with the batch {how} the result is wrong:\n"
                              + f2.message)
                return [f2]
    return []


# ---- freshness -------------------------------------------------------------------------------------------

def _freshness(trial: Trial) -> list[Failure]:
    """New values of the same shape, then the same storage refilled in place, must give the new answer."""
    problem, example = trial.problem, trial.example
    fresh_example = example.replace(seed=(example.seed + 1) % 2**32)
    fresh = problem.make_inputs(fresh_example, trial.device)
    ctx2 = Context(problem, example, [t.clone() for t in fresh], trial.ctx.reference, trial.candidate.approx_budget,
                   trial.device)
    old_wrong = trial.value()[0] is not None
    found = []
    try:
        for attempt in ("a second call with new values of the same shape",
                        "a call on the same tensors refilled in place with new values"):
            if attempt.startswith("a call on the same"):
                for x, f in zip(trial.inputs, fresh, strict=True):
                    x.copy_(f)
                got = trial.call(trial.inputs, what=attempt)
            else:
                got = trial.call(fresh, what=attempt)
            f2 = trial.judge(got, ctx2)
            if f2 is None:
                continue
            # stale only on its own signature: the previous answer itself, or an answer that fits the OLD expected
            # result where the old and new expected results are told apart by the policy
            stale = bitwise_equal(got, trial.out) or (trial.judge(got) is None and _distinct(trial, ctx2))
            if stale:
                f2.kind = kinds.STALE_OUTPUT
                f2.message = f"{attempt} returned the previous inputs' answer (it fits them, not the new ones):\n" \
                             + f2.message
                found.append(f2)
                break
            if not old_wrong:  # right the first time, wrong for new values: a plain wrong answer
                f2.message = f"{attempt} returned a wrong answer (the first call's was right):\n" + f2.message
                found.append(f2)
                break
    finally:
        for x, snap in zip(trial.inputs, trial.snapshots, strict=True):  # later properties see the original values
            x.copy_(snap)
    return found


def _distinct(trial: Trial, ctx2: Context) -> bool:
    """The previous inputs' exact answer fails the policy for the new inputs (1x1 bf16 outputs often do not)."""
    old_expected = trial.ctx.analysis().ref64
    return trial.judge(old_expected.to(trial.out.dtype), ctx2) is not None


# ---- autotuner side effects ------------------------------------------------------------------------------

def _autotune(trial: Trial) -> list[Failure]:
    """``trial.out`` is the example's first call with the autotuner benchmarking (harness.autotuning)."""
    first = trial.value()[0]
    if first is None:
        return []
    again = trial.call(trial.inputs, what="a second call (the autotuner's cached config)")
    if trial.judge(again) is not None:
        return []  # wrong with the cached config too: the kernel's own bug, which the config sweep reports
    tuned = trial.details.get("autotuned", "")
    first.kind = kinds.AUTOTUNE_SIDE_EFFECT
    first.message = ("the first call of this shape ran Triton's autotuner, which launches every config on the "
                     "caller's own buffers, and its answer is wrong; the next call (cached config) is right. "
                     "Declare reset_to_zero=[...] / restore_value=[...] for the buffers the kernel accumulates "
                     f"into. Configs benchmarked: {tuned}\n" + first.message)
    return [first]


def describe_configs(configs) -> str:
    return " | ".join(describe_config(c) or "default" for c in configs)


VALUE = Property(
    "value", runs="the primary call, compared with the float64 reference under the tolerance policy",
    signature="finite outputs farther from the reference than the policy allows (or errors that fit a looser "
              "operand rounding than the declared contract)",
    kinds=(kinds.MISMATCH, kinds.PRECISION_CONTRACT), check=_value)
NAN = Property(
    "nan", runs="the same comparison", signature="NaN or inf where the float64 reference is finite (never "
    "excused by equal_nan)", kinds=(kinds.NAN,), check=_nan)
IMMUTABILITY = Property(
    "immutability", runs="inputs and parameters compared by content with their snapshots after each config's call",
    signature="any element changed", kinds=(kinds.INPUT_MUTATED,), check=_immutability, enabled_by="mutation")
FUSION = Property(
    "fusion", runs="the primary call's aten ops and Triton launches (guards.Watch)",
    signature="no Triton launch, or launches that only move PyTorch's values: torch_fallback; reference ops in "
              "PyTorch beside real Triton work: partial_fusion (a note)",
    kinds=(kinds.TORCH_FALLBACK, kinds.PARTIAL_FUSION), check=_fusion, enabled_by="fallback")
DETERMINISM = Property(
    "determinism", runs="a second call on the same inputs with fresh allocations filled with another poison",
    signature="outputs that follow the poison (uninitialized_output); results that depend on fresh memory, or "
              "differ by more than the policy allows (bitwise when declared deterministic)",
    kinds=(kinds.UNINITIALIZED_OUTPUT, kinds.NONDETERMINISTIC), check=_determinism, enabled_by="poison",
    first_config_only=True)
BATCH = Property(
    "batch", runs="the batch split in two halves, and reversed",
    signature="the whole batch passes and the split or reversed one does not",
    kinds=(kinds.BATCH_VARIANCE, kinds.UNINITIALIZED_OUTPUT), check=_batch, enabled_by="batch",
    first_config_only=True)
FRESHNESS = Property(
    "freshness", runs="a call with new values of the same shape, then the same tensors refilled in place",
    signature="the answer fits the previous inputs' expected result and not the new one (stale_output); a "
              "wrong answer for new values after a right one is a mismatch",
    kinds=(kinds.STALE_OUTPUT, kinds.MISMATCH, kinds.NAN), check=_freshness, enabled_by="freshness",
    first_config_only=True)
AUTOTUNE = Property(
    "autotune", runs="the example's first call with every autotuner benchmarking its configs on the call's own "
                     "buffers (Triton's autotuner on a GPU, its timer emulated in the interpreter)",
    signature="the first answer is wrong and the cached config's next answer is right",
    kinds=(kinds.AUTOTUNE_SIDE_EFFECT,), check=_autotune)

#: the records the runner applies to each config's primary call, in order (AUTOTUNE runs before the sweep)
PROPERTIES = (VALUE, NAN, IMMUTABILITY, FUSION, DETERMINISM, BATCH, FRESHNESS)
ALL = (*PROPERTIES, AUTOTUNE)
