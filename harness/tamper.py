"""Tamper evidence: what a candidate could change in *this* process to make the reference (or the clock) lie.

The float64 reference and the peer computations are ordinary PyTorch calls made in the process that imported
the candidate. A candidate that replaces ``torch.nn.functional.gelu`` at import (and computes the same wrong
function in its kernel) would agree with a reference built from its own replacement; one that flips
``torch.backends.cuda.matmul.allow_tf32`` changes what PyTorch's peer output means; one that replaces
``torch.cuda.Event.elapsed_time`` changes what the clock says.

:meth:`TorchState.capture` records, by identity, the callables references use (``torch.nn.functional``,
``torch._C._nn``, ``torch``'s functions, ``torch.Tensor``'s methods, the ``forward`` of every module class of
``torch.nn.modules``, ``nn.Module.__call__``), the timing callables (``torch.cuda.Event`` and its methods,
``torch.cuda.synchronize``, ``time.perf_counter`` and friends, ``statistics``) and the numerics switches
(TF32, reduced-precision reductions, default dtype, deterministic algorithms, flush-to-zero, matmul precision).
:func:`baseline` takes that capture once per process, before the first candidate import
(:func:`fusefuzz.harness.candidates.import_file` calls it); :func:`changes` names what differs; :func:`restore`
puts the captured originals back. The harness never restores silently: whoever restores reports the change
(kind ``tampering``) and says the originals were put back, so the rest of the run is judged honestly.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
import types
from dataclasses import dataclass, field

import torch

_MISSING = object()

#: (label, getter, setter): the numerics switches a reference depends on
def _switches():
    b = torch.backends
    out = [
        ("torch.backends.cuda.matmul.allow_tf32", lambda: b.cuda.matmul.allow_tf32,
         lambda v: setattr(b.cuda.matmul, "allow_tf32", v)),
        ("torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
         lambda: b.cuda.matmul.allow_fp16_reduced_precision_reduction,
         lambda v: setattr(b.cuda.matmul, "allow_fp16_reduced_precision_reduction", v)),
        ("torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
         lambda: b.cuda.matmul.allow_bf16_reduced_precision_reduction,
         lambda v: setattr(b.cuda.matmul, "allow_bf16_reduced_precision_reduction", v)),
        ("torch.backends.cudnn.allow_tf32", lambda: b.cudnn.allow_tf32, lambda v: setattr(b.cudnn, "allow_tf32", v)),
        ("torch.backends.cudnn.enabled", lambda: b.cudnn.enabled, lambda v: setattr(b.cudnn, "enabled", v)),
        ("torch.backends.cudnn.deterministic", lambda: b.cudnn.deterministic,
         lambda v: setattr(b.cudnn, "deterministic", v)),
        ("torch.backends.mkldnn.enabled", lambda: b.mkldnn.enabled, lambda v: setattr(b.mkldnn, "enabled", v)),
        ("torch.get_default_dtype()", torch.get_default_dtype, torch.set_default_dtype),
        ("torch.get_float32_matmul_precision()", torch.get_float32_matmul_precision,
         torch.set_float32_matmul_precision),
        ("torch.are_deterministic_algorithms_enabled()", torch.are_deterministic_algorithms_enabled,
         lambda v: torch.use_deterministic_algorithms(v)),
        ("torch.set_flush_denormal (denormals flushed)", _flushes_denormals, torch.set_flush_denormal),
    ]
    return out


def _flushes_denormals() -> bool:
    """torch.set_flush_denormal has no getter: a subnormal float32 times one is zero when it is on."""
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    return bool((tiny * 1.0).item() == 0.0)


def _namespaces():
    """(label, owner, names): where the reference's and the clock's callables live."""
    import torch.nn.functional as F

    spaces = [("torch.nn.functional", F, [n for n in vars(F) if not n.startswith("__")]),
              ("torch._C._nn", torch._C._nn, [n for n in vars(torch._C._nn) if not n.startswith("__")]),
              ("torch", torch, [n for n, v in vars(torch).items()
                                if not n.startswith("__") and callable(v) and not isinstance(v, type)]),
              ("torch.Tensor", torch.Tensor, [n for n in dir(torch.Tensor) if not n.startswith("__")
                                              or n in ("__torch_function__", "__torch_dispatch__", "__add__",
                                                       "__mul__", "__sub__", "__truediv__", "__matmul__",
                                                       "__pow__", "__neg__", "__radd__", "__rmul__", "__rsub__",
                                                       "__rtruediv__", "__getitem__", "__setitem__")]),
              ("torch.nn.Module", torch.nn.Module, ["__call__", "_call_impl", "_wrapped_call_impl", "forward"]),
              ("math", math, [n for n in vars(math) if not n.startswith("_")])]
    seen: set[int] = set()
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("torch.nn.modules") or not isinstance(mod, types.ModuleType):
            continue
        for cls in list(vars(mod).values()):
            if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and id(cls) not in seen:
                seen.add(id(cls))
                spaces.append((f"{cls.__module__}.{cls.__qualname__}", cls, ["forward", "extra_repr"][:1]))
    return spaces


def _timing_spaces():
    spaces = [("time", time, ["perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns",
                              "process_time", "sleep"]),
              ("statistics", statistics, ["median", "mean", "quantiles", "stdev", "fmean"])]
    cuda = getattr(torch, "cuda", None)
    if cuda is not None:
        spaces.append(("torch.cuda", cuda, ["Event", "synchronize", "_sleep", "current_stream", "Stream",
                                            "default_stream"]))
        event = getattr(cuda, "Event", None)
        if isinstance(event, type):
            spaces.append(("torch.cuda.Event", event, ["elapsed_time", "record", "synchronize", "query", "wait",
                                                       "__init__", "__new__"]))
        stream = getattr(cuda, "Stream", None)
        if isinstance(stream, type):
            spaces.append(("torch.cuda.Stream", stream, ["synchronize", "record_event", "wait_event",
                                                         "wait_stream", "query"]))
    for modname in ("fusefuzz.harness.perf.timer", "fusefuzz.harness.perf.stats"):
        try:  # the harness's own clock and statistics are timing callables too
            __import__(modname)
        except ImportError:  # pragma: no cover
            pass
    for modname in ("fusefuzz.harness.perf.timer", "fusefuzz.harness.perf.stats", "fusefuzz.harness.perf.bench",
                    "fusefuzz.harness.perf.peaks"):
        mod = sys.modules.get(modname)
        if mod is None:
            continue
        names = [n for n, v in vars(mod).items() if not n.startswith("__") and callable(v)]
        spaces.append((modname, mod, names))
        for n in names:
            cls = vars(mod)[n]
            if isinstance(cls, type) and cls.__module__ == modname:
                spaces.append((f"{modname}.{n}", cls, [m for m, v in vars(cls).items()
                                                       if callable(v) or isinstance(v, (staticmethod, property))]))
    return spaces


@dataclass
class TorchState:
    """Identities of the callables and values of the switches at one moment."""

    #: (label, owner, name) -> (the attribute's identity, whether the owner itself held it, the object)
    callables: dict = field(default_factory=dict)
    #: label -> value
    switches: dict = field(default_factory=dict)
    #: the setter of each switch (for restore)
    setters: dict = field(default_factory=dict)
    #: (label, owner, name) -> the ``__code__`` of a Python function (swapping it keeps the function's identity)
    codes: dict = field(default_factory=dict)
    #: operator name -> the dispatcher's registration table (``torch._C._dispatch_dump``): a kernel registered
    #: over an aten op's (``torch.library``) changes what ``F.gelu`` computes without touching ``F.gelu``; taken
    #: by :func:`baseline` only (0.1-0.2 s), compared at import
    kernels: dict = field(default_factory=dict)
    #: ids of the ``torch.library.Library`` objects alive at the baseline (the ones made later can be undone)
    libraries: set = field(default_factory=set)

    def original(self, label: str, name: str):
        """The object ``label.name`` was at capture time (the clock uses these, not whatever is there now)."""
        for (lab, _, n), (_, _, obj, _) in self.callables.items():
            if lab == label and n == name and obj is not _MISSING:
                return obj
        raise KeyError(f"{label}.{name} was not captured")

    def timing_only(self) -> TorchState:
        """The part of this capture that the clock depends on."""
        labels = {label for label, _, _ in _timing_spaces()}
        return TorchState({k: v for k, v in self.callables.items() if k[0] in labels}, {}, {})

    @classmethod
    def capture(cls, *, timing: bool = True) -> TorchState:
        state = cls()
        spaces = _namespaces() + (_timing_spaces() if timing else [])
        for label, owner, names in spaces:
            own = vars(owner) if hasattr(owner, "__dict__") else {}
            for name in names:
                obj = getattr(owner, name, _MISSING)
                state.callables[(label, id(owner), name)] = (owner, name, obj, name in own)
                code = getattr(obj, "__code__", None)
                if isinstance(code, types.CodeType):
                    state.codes[(label, id(owner), name)] = code
        for label, get, setter in _switches():
            try:
                state.switches[label] = get()
                state.setters[label] = setter
            except Exception:  # noqa: BLE001 - a switch this build lacks is not recorded
                continue
        return state


def _dispatch_tables() -> dict:
    dump = getattr(torch._C, "_dispatch_dump", None)
    names = getattr(torch._C, "_dispatch_get_all_op_names", None)
    if dump is None or names is None:  # pragma: no cover - a build without them: nothing recorded
        return {}
    out = {}
    for op in names():
        try:
            out[op] = dump(op)
        except Exception:  # noqa: BLE001
            continue
    return out


def _libraries() -> list:
    """Every live ``torch.library.Library`` that still holds registrations (a garbage-collector scan)."""
    import gc

    kind = getattr(getattr(torch, "library", None), "Library", None)
    if kind is None:  # pragma: no cover
        return []
    return [o for o in gc.get_objects() if isinstance(o, kind) and getattr(o, "m", None) is not None]


def _undo_kernels(before: TorchState, ops: list[str]) -> None:
    """Take back the ``torch.library`` registrations made since ``before`` over ``ops`` (the libraries that
    made them are destroyed, which the dispatcher undoes), so that a shared process (in-process runs, one
    worker for many candidates) computes with PyTorch's own kernels again."""
    names = {op.partition("::")[2].partition(".")[0] for op in ops}
    for lib in _libraries():
        if id(lib) in before.libraries:
            continue
        if any(k.split("/")[1] in names for k in getattr(lib, "_op_impls", ())):
            try:
                lib._destroy()
            except Exception:  # noqa: BLE001 - the finding stands; the next check reports it again
                continue


def _kernel_changes(before: TorchState) -> list[str]:
    found, ops = [], []
    for op, table in _dispatch_tables().items():
        old = before.kernels.get(op)
        if old is None or old == table:
            continue
        new = [ln for ln in table.splitlines() if ln not in old.splitlines() and "(inactive)" not in ln]
        # torch registers some kernels lazily (its own Python files, its C++ sources): only foreign ones count
        foreign = [ln for ln in new if not _torch_own(ln.partition("registered at ")[2])]
        if foreign:
            keys = ", ".join(ln.split(":")[0] for ln in foreign)
            where = foreign[0].partition("registered at ")[2].partition(" :: ")[0]
            found.append(f"a kernel was registered over {op} (dispatch key {keys}, from {where}; torch.library)")
            ops.append(op)
    if ops:
        _undo_kernels(before, ops)
    return found


def _torch_own(location: str) -> bool:
    import os

    place = location.partition(" :: ")[0].strip()
    return place.startswith(os.path.dirname(torch.__file__)) or ".cpp:" in place or not place


def changes(before: TorchState, after: TorchState | None = None, *, kernels: bool = False) -> list[str]:
    """What differs from ``before`` (``after`` defaults to now), one phrase per change; ``kernels``: the
    dispatcher's tables too (when ``before`` has them)."""
    found = []
    for key, (owner, _, obj, _own) in before.callables.items():
        label, _, name = key
        now = getattr(owner, name, _MISSING)
        if now is obj:
            code = before.codes.get(key)
            if code is not None and getattr(obj, "__code__", code) is not code:
                found.append(f"{label}.{name}.__code__ was replaced (the function object kept, its code swapped)")
            continue
        if now is _MISSING:
            found.append(f"{label}.{name} was deleted")
        elif obj is _MISSING:
            found.append(f"{label}.{name} was added")
        elif _same_bound(obj, now):
            continue
        else:
            found.append(f"{label}.{name} was replaced (now {_describe(now)})")
    now_switches = after.switches if after is not None else _read_switches(before)
    for label, value in before.switches.items():
        if label in now_switches and now_switches[label] != value:
            found.append(f"{label} changed from {value!r} to {now_switches[label]!r}")
    if kernels and before.kernels:
        found.extend(_kernel_changes(before))
    return found


def _same_bound(a, b) -> bool:
    """Bound methods of builtin types are new objects on every getattr: compare what they wrap."""
    fa, fb = getattr(a, "__func__", None), getattr(b, "__func__", None)
    if fa is not None and fa is fb and getattr(a, "__self__", None) is getattr(b, "__self__", None):
        return True
    if isinstance(a, types.BuiltinMethodType) and isinstance(b, types.BuiltinMethodType):
        return a == b
    if type(a).__name__ in ("method-wrapper", "wrapper_descriptor", "method_descriptor"):
        return a == b
    return False


def _read_switches(before: TorchState) -> dict:
    out = {}
    for label, get, _ in _switches():
        if label in before.switches:
            try:
                out[label] = get()
            except Exception:  # noqa: BLE001
                continue
    return out


def _describe(obj) -> str:
    mod = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return f"{mod}.{name}"


def restore(before: TorchState) -> None:
    """Put back every callable and switch that differs from ``before``."""
    for key, (owner, _, obj, own) in before.callables.items():
        name = key[2]
        now = getattr(owner, name, _MISSING)
        code = before.codes.get(key)
        if now is obj and code is not None and getattr(obj, "__code__", code) is not code:
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                obj.__code__ = code
            continue
        if now is obj or (now is not _MISSING and obj is not _MISSING and _same_bound(obj, now)):
            continue
        try:
            if obj is _MISSING or not own:
                # it was inherited (or absent): drop the owner's own attribute that shadows it
                if name in vars(owner):
                    delattr(owner, name)
                if obj is not _MISSING and getattr(owner, name, _MISSING) is not obj and not own:
                    setattr(owner, name, obj)
            else:
                setattr(owner, name, obj)
        except (AttributeError, TypeError):
            continue
    now = _read_switches(before)
    for label, value in before.switches.items():
        if now.get(label, value) != value:
            try:
                before.setters[label](value)
            except Exception:  # noqa: BLE001
                continue


# ----------------------------------------------------------------------------------------------------
# The per-process baseline and what the runner asks
# ----------------------------------------------------------------------------------------------------

_BASELINE: TorchState | None = None
#: findings of import-time tampering, by candidate module name (the import restored them already)
_AT_IMPORT: dict[str, list[str]] = {}
#: the attribute a tampering candidate module carries (read by :func:`after_call`)
MODULE_ATTR = "__fusefuzz_tampering__"


def baseline() -> TorchState:
    """The capture taken before the first candidate import of this process (taken now if none was)."""
    global _BASELINE
    if _BASELINE is None:
        # torch._dynamo rewraps a few torch functions (torch.manual_seed) when it is first imported, which the
        # harness's dispatch modes do lazily: import it first so that its own change is not the candidate's
        import torch._dynamo  # noqa: F401

        _BASELINE = TorchState.capture()
        _BASELINE.kernels = _dispatch_tables()
        _BASELINE.libraries = {id(lib) for lib in _libraries()}
    return _BASELINE


def reset_baseline() -> None:
    """Forget the baseline (tests; a process that deliberately changed a switch before any candidate)."""
    global _BASELINE
    _BASELINE = None


_CANDIDATE_IMPORTED = False


def trusted_import() -> None:
    """A reference or strategy file was imported: until a candidate is, the baseline is taken afresh."""
    if not _CANDIDATE_IMPORTED:
        reset_baseline()


def check_import(module, what: str) -> list[str]:
    """After importing ``module``: what it changed, restored; the findings are kept on the module."""
    global _CANDIDATE_IMPORTED
    _CANDIDATE_IMPORTED = True
    base = baseline()
    found = changes(base, kernels=True)  # registrations found are undone there; the reference process's
    if found:  # values never saw them (fusefuzz.harness.refserver)
        restore(base)
        setattr(module, MODULE_ATTR, list(found))
        _AT_IMPORT[getattr(module, "__name__", what)] = list(found)
    return found


def message(found: list[str], when: str) -> str:
    shown = "; ".join(found[:6]) + (f"; and {len(found) - 6} more" if len(found) > 6 else "")
    return (f"{when} the candidate changed what the reference or the clock uses: {shown}. The captured originals "
            "were restored, so the rest of the run is judged against the real PyTorch")


def timing_changes() -> list[str]:
    """What changed since the baseline among the timing callables only (the clock's own check)."""
    return changes(baseline().timing_only())


def after_call(module=None) -> str | None:
    """For the runner, after each candidate call: the import-time findings of ``module`` (once recorded, always
    reported), then what changed since the baseline (restored now). None when nothing did."""
    at_import = getattr(module, MODULE_ATTR, None) if module is not None else None
    if at_import:
        return message(at_import, "at import,")
    if _BASELINE is None:
        return None
    found = changes(_BASELINE)
    if not found:
        return None
    restore(_BASELINE)
    return message(found, "during the call,")
