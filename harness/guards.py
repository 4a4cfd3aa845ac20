"""Watching a candidate run: poisoned allocations, the aten ops it calls, the Triton kernels it launches.

:class:`Watch` is a ``TorchDispatchMode``. While it is active:

* every floating tensor that torch's allocators hand out through ``empty``-style factories (``torch.empty``,
  ``empty_like``, ``new_empty``, ``empty_strided``) is filled with a poison value first, on CPU and CUDA
  alike, so an output the kernel never writes shows up (NaN poison) and a result that depends on the
  contents of fresh memory changes with the poison;
* every aten op is counted by name (``convolution``, ``gelu``, ``mean`` ...), so a candidate that computes
  with PyTorch instead of its kernel is seen;
* Triton launches are counted (``JITFunction.run`` / the interpreter's ``InterpretedFunction.run``); with
  ``moves=True`` each launch is also classified: a launch whose every written tensor argument now holds exactly
  the values another tensor argument held before it is a *move* (a copy, a reshape through memory), not
  arithmetic. A call whose launches are all moves left the reference's work to PyTorch.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_EMPTY_OPS = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})

_launches = 0
_patched = False
#: the watches that classify launches (innermost last)
_classifying: list = []


def _tensor_args(args, kwargs) -> list:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]


def _same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.numel() != b.numel() or a.numel() == 0:
        return False
    x, y = a.detach().reshape(-1).double(), b.detach().reshape(-1).double()
    return bool(((x == y) | (torch.isnan(x) & torch.isnan(y))).all())


def _is_move(before: list, after: list) -> bool:
    """Every tensor the launch wrote holds what another of its tensor arguments, of the same shape, held before it
    (a reduction over a size-1 dimension also reproduces its input's values, but into another shape)."""
    written = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if not _same_values(b, a)]
    if not written:
        return False  # wrote nothing we can see (e.g. a scalar result elsewhere): not evidence of a copy
    return all(any(j != i and after[i].shape == before[j].shape and _same_values(after[i], before[j])
                   for j in range(len(before))) for i in written)


def _patch_launch_counters() -> None:
    global _patched
    if _patched:
        return
    targets = []
    try:
        from triton.runtime.jit import JITFunction

        targets.append(JITFunction)
    except Exception:  # pragma: no cover
        pass
    try:
        from triton.runtime.interpreter import InterpretedFunction

        targets.append(InterpretedFunction)
    except Exception:  # pragma: no cover
        pass
    for cls in targets:
        original = cls.run
        if getattr(original, "_fusefuzz_counted", False):
            continue

        # named like the original: a launch with duplicate keyword arguments fails naming Triton's run, as it
        # would without fusefuzz, not this counter
        @functools.wraps(original)
        def run(self, *args, __original=original, **kwargs):
            global _launches
            _launches += 1
            if not _classifying or kwargs.get("warmup"):
                return __original(self, *args, **kwargs)
            watch = _classifying[-1]
            tensors = _tensor_args(args, kwargs)
            with watch.paused():
                before = [t.detach().clone() for t in tensors]
            result = __original(self, *args, **kwargs)
            with watch.paused():
                if tensors and tensors[0].is_cuda:
                    torch.cuda.synchronize()
                watch.moves.append(_is_move(before, tensors))
            return result

        run._fusefuzz_counted = True
        cls.run = run
    _patched = True


def launches() -> int:
    return _launches


class Watch(TorchDispatchMode):
    def __init__(self, poison: float = float("nan"), *, moves: bool = False):
        super().__init__()
        _patch_launch_counters()
        self.poison = poison
        self.ops: Counter = Counter()
        self._launches_at_start = 0
        self._classify = moves
        #: per classified launch: True when it only moved values (see the module docstring)
        self.moves: list[bool] = []
        self._paused = 0

    def __enter__(self):
        self._launches_at_start = _launches
        if self._classify:
            _classifying.append(self)
        return super().__enter__()

    def __exit__(self, *exc):
        if self._classify and _classifying and _classifying[-1] is self:
            _classifying.pop()
        return super().__exit__(*exc)

    @contextlib.contextmanager
    def paused(self):
        """The harness's own tensor work inside a launch (snapshots): not counted, not poisoned."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    @property
    def only_moved(self) -> bool:
        """Every launch seen was classified and was a move."""
        return bool(self.moves) and len(self.moves) == self.launches and all(self.moves)

    @property
    def launches(self) -> int:
        return _launches - self._launches_at_start

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self._paused:
            return out
        name = func.overloadpacket.__name__
        self.ops[name] += 1
        if name in _EMPTY_OPS and isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel():
            out.fill_(self.poison)
        return out

    def fallback_ops(self, reference_ops, allowed) -> list[str]:
        return sorted(op for op in self.ops if op in reference_ops and op not in allowed)
