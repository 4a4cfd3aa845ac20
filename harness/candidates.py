"""Candidates: a KernelBench-format file defining ``ModelNew``, or a kernel from the in-repo registry.

Parameters are never "reseeded and hoped for": the reference's parameters are **copied** into the
candidate (by name, else by a unique shape; ambiguity is an error) and checked equal before the first
run. A candidate file may declare, as module-level constants::

    FUSEFUZZ_PRECISION = "tf32"       # its precision contract: ieee, tf32, tf32-rn, fp16, bf16
    FUSEFUZZ_DETERMINISTIC = True     # bitwise-reproducible
    FUSEFUZZ_APPROX_BUDGET = 5e-4     # error per activation it spends on approximations: absolute, or
                                      # {"relative": 2**-14, "of_input": 2**-24} (harness/approx.py)
    FUSEFUZZ_ALLOWED_OPS = ("mean",)  # reference aten ops it may call legitimately
    FUSEFUZZ_DTYPES = ("float32",)    # its contract's dtypes (a file's default: the reference's, float32)
    FUSEFUZZ_LAYOUTS = ("contiguous", "channels_last", "strided")  # its contract's layouts (default: all)

Cells outside the contract are still fuzzed: a wrong answer there fails like anywhere else, an exception there
is a note (``out_of_scope``). ``strict`` candidates (``--strict``, registered kernels) fail on notes too.

Loading problems raise :class:`CandidateError` with one line that says what is wrong and how to fix it.
"""

from __future__ import annotations

import importlib
import inspect
import os
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import registry
from .approx import ApproxBudget
from .configs import Tuned, find_autotuners
from .example import LAYOUTS
from .precision import CONTRACTS, DTYPES
from .sourcefile import CandidateError, import_file  # noqa: F401 - importable from here too


class MissingParameter(CandidateError):
    """The reference has a parameter the candidate lacks entirely: not a setup problem but a wrong model, judged
    per example as a failure of kind ``missing_parameter`` (exit code 1). ``mapping``: the parameters that do
    have a counterpart (reference name -> candidate name), for the repro script."""

    def __init__(self, message: str, mapping: dict[str, str] | None = None):
        super().__init__(message)
        self.mapping = dict(mapping or {})


@dataclass
class Candidate:
    name: str
    module: types.ModuleType
    factory: Callable[..., torch.nn.Module]
    precision: str | None = None
    deterministic: bool = False
    approx_budget: ApproxBudget = field(default_factory=ApproxBudget)
    allowed_ops: frozenset = field(default_factory=frozenset)
    path: str | None = None
    kwargs: dict = field(default_factory=dict)
    #: the contract's dtypes and layouts; None: all of them
    dtypes: tuple[str, ...] | None = None
    layouts: tuple[str, ...] | None = None
    #: notes fail too (partial fusion, out-of-scope refusals)
    strict: bool = False

    @property
    def autotuners(self) -> list[Tuned]:
        return find_autotuners(self.module)

    def build(self, init_args: tuple) -> torch.nn.Module:
        return self.factory(*init_args, **self.kwargs)


#: the built-in problem's constructor arguments (what a file is checked against when no problem is named)
CONV_INIT_ARGS = ("in_channels", "out_channels", "kernel_size")


def _check_signature(cls, path: str, arg_names: tuple[str, ...]) -> None:
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(*range(len(arg_names)))
    except TypeError as e:
        raise CandidateError(
            f"{path!r}: ModelNew{sig} cannot be called as ModelNew({', '.join(arg_names)}): {e}"
        ) from None


def init_arg_names(problem) -> tuple[str, ...]:
    """The names of ``problem``'s constructor arguments (its reference's ``__init__``), as many as it passes."""
    names = getattr(problem, "init_arg_names", None)
    if names is not None:
        return tuple(names)
    n = len(problem.init_args(problem.headline))
    try:
        params = list(inspect.signature(problem.reference).parameters)
    except (TypeError, ValueError):
        params = []
    return tuple(params[:n]) if len(params) >= n else tuple(f"arg{i}" for i in range(n))


def _declared(module, name, default):
    return getattr(module, name, default)


def _budget(value, where: str) -> ApproxBudget:
    try:
        return ApproxBudget.parse(value)
    except ValueError as e:
        raise CandidateError(f"{where}: {e}") from None


def from_module(module: types.ModuleType, *, name: str, path: str | None = None,
                init_args: tuple[str, ...] | None = None, n_init_args: int | None = None, **overrides) -> Candidate:
    """``init_args``: the constructor arguments ModelNew must accept (names, for the message), or just their
    number ``n_init_args``; neither: not checked here (the campaign's preflight builds it anyway)."""
    if init_args is None and n_init_args is not None:
        init_args = tuple(f"arg{i}" for i in range(n_init_args))
    cls = getattr(module, "ModelNew", None)
    if cls is None:
        raise CandidateError(
            f"{path or name!r} defines no ModelNew; KernelBench format needs `class ModelNew(nn.Module)`"
        )
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise CandidateError(f"{path or name!r}: ModelNew is {type(cls).__name__}, not an nn.Module subclass")
    if init_args is not None:
        _check_signature(cls, path or name, tuple(init_args))
    precision = overrides.pop("precision", None) or _declared(module, "FUSEFUZZ_PRECISION", None)
    if precision is not None and precision not in CONTRACTS:
        raise CandidateError(
            f"{path or name!r}: precision={precision!r} (FUSEFUZZ_PRECISION or --precision) is not a contract; "
            f"use one of {', '.join(CONTRACTS)}"
        )
    dtypes = _contract_names(path or name, "dtypes", overrides.pop("dtypes", None)
                             or _declared(module, "FUSEFUZZ_DTYPES", None) or overrides.pop("default_dtypes", None),
                             DTYPES)
    overrides.pop("default_dtypes", None)
    layouts = _contract_names(path or name, "layouts", overrides.pop("layouts", None)
                              or _declared(module, "FUSEFUZZ_LAYOUTS", None), LAYOUTS)
    return Candidate(
        name=name,
        module=module,
        factory=cls,
        precision=precision,
        dtypes=dtypes,
        layouts=layouts,
        strict=bool(overrides.pop("strict", False)),
        deterministic=bool(overrides.pop("deterministic", _declared(module, "FUSEFUZZ_DETERMINISTIC", False))),
        approx_budget=_budget(overrides.pop("approx_budget", _declared(module, "FUSEFUZZ_APPROX_BUDGET", 0.0)),
                              path or name),
        allowed_ops=frozenset(overrides.pop("allowed_ops", _declared(module, "FUSEFUZZ_ALLOWED_OPS", ()))),
        path=path,
        kwargs=overrides.pop("kwargs", {}),
    )


def _contract_names(where: str, what: str, value, allowed) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(v.strip() for v in value.split(",")) if isinstance(value, str) else tuple(value)
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise CandidateError(f"{where!r}: {what}={value!r} (FUSEFUZZ_{what.upper()} or --contract-{what}) names "
                             f"{bad or 'nothing'}; use a subset of {', '.join(allowed)}")
    return names


#: a file's contract when it declares none: the reference's own dtype (KernelBench's references are float32)
FILE_DEFAULT_DTYPES = ("float32",)


def load_file(path: str, *, init_args: tuple[str, ...] | None = None, n_init_args: int | None = None,
              **overrides) -> Candidate:
    """A candidate file; ModelNew is checked against ``init_args`` (names) or ``n_init_args``, by default
    the built-in problem's three."""
    if init_args is None and n_init_args is None:
        init_args = CONV_INIT_ARGS
    module = import_file(path)
    overrides.setdefault("default_dtypes", FILE_DEFAULT_DTYPES)
    return from_module(module, name=os.path.basename(path), path=os.path.abspath(path), init_args=init_args,
                       n_init_args=n_init_args, **overrides)


def load(spec: str, *, problem=None, **overrides) -> Candidate:
    """A path to a ``.py`` file, or the name of a registered kernel (``fusefuzz list``). With ``problem``, a
    file's ModelNew is checked against that problem's constructor arguments (default: the built-in's)."""
    if problem is not None:
        overrides.setdefault("init_args", init_arg_names(problem))
    if spec.endswith(".py") or os.sep in spec or os.path.exists(spec):
        return load_file(spec, **overrides)
    try:
        record = registry.get(spec)
    except KeyError as e:
        raise CandidateError(str(e.args[0])) from None
    return from_record(record, **overrides)


def from_record(record: registry.KernelRecord, **overrides) -> Candidate:
    """The candidate of a registered kernel: its module's ModelNew under the record's contract; ``overrides``
    that are not None replace the record's values."""
    from . import problems

    mod = importlib.import_module(record.module)
    problem = problems.get(record.problem)
    opts = dict(precision=record.precision, deterministic=record.deterministic,
                approx_budget=record.approx_budget, allowed_ops=record.allowed_ops, kwargs=dict(record.kwargs),
                # the constructor's positional arity is the problem's (linear_gelu: 2, layernorm: 1)
                n_init_args=len(problem.init_args(problem.headline)),
                # a registered kernel claims every dtype and layout and full fusion: notes fail it
                strict=True)
    opts.update({k: v for k, v in overrides.items() if v is not None})
    return from_module(mod, name=record.name, path=getattr(mod, "__file__", None), **opts)


# ----------------------------------------------------------------------------------------------------
# Parameter copy
# ----------------------------------------------------------------------------------------------------

def copy_parameters(reference: torch.nn.Module, candidate: torch.nn.Module) -> dict[str, str]:
    """Copy every reference parameter into the candidate; return {reference name: candidate name}.

    Matching: same name and shape first; the rest by shape when exactly one unmatched candidate
    parameter has it. Ambiguous or left-over parameters raise CandidateError; a reference parameter with no
    counterpart while the candidate has none left over raises :class:`MissingParameter`.
    """
    ref_params = dict(reference.named_parameters())
    cand_params = dict(candidate.named_parameters())
    mapping: dict[str, str] = {}
    for n, p in ref_params.items():
        if n in cand_params and tuple(cand_params[n].shape) == tuple(p.shape):
            mapping[n] = n
    free = [n for n in cand_params if n not in mapping.values()]
    missing = []
    for n, p in ref_params.items():
        if n in mapping:
            continue
        same = [c for c in free if tuple(cand_params[c].shape) == tuple(p.shape)]
        if len(same) == 1:
            mapping[n] = same[0]
            free.remove(same[0])
        elif not same:
            missing.append(n)
        else:
            raise CandidateError(
                f"ambiguous parameter copy: reference {n} (shape {tuple(p.shape)}) could go to any of "
                f"{', '.join(same)}; name them like the reference (e.g. conv.weight, conv.bias)"
            )
    if missing and free:  # a counterpart may exist under another name and shape: a setup problem
        n = missing[0]
        raise CandidateError(
            f"ModelNew has no parameter for the reference's {n} (shape {tuple(ref_params[n].shape)}); its "
            f"{', '.join(f'{c} {tuple(cand_params[c].shape)}' for c in free)} match none: name it like the reference "
            "or give it that shape"
        )
    if missing:
        shapes = ", ".join(f"{n} (shape {tuple(ref_params[n].shape)})" for n in missing)
        raise MissingParameter(f"ModelNew has no parameter for the reference's {shapes}: it computes without "
                               f"{'it' if len(missing) == 1 else 'them'}, so its output cannot follow the reference's "
                               "(add the parameter and use it)", mapping)
    if free:
        raise CandidateError(
            f"ModelNew parameter(s) {', '.join(free)} have no counterpart in the reference and would keep "
            "their own random values; register them as buffers or derive them from the copied parameters"
        )
    with torch.no_grad():
        for rn, cn in mapping.items():
            cand_params[cn].copy_(ref_params[rn].to(cand_params[cn].dtype))
    for rn, cn in mapping.items():
        if not torch.equal(cand_params[cn].detach().to(ref_params[rn].dtype), ref_params[rn].detach()):
            raise CandidateError(f"parameter copy {rn} -> {cn} did not stick (the values differ after copying)")
    return mapping
