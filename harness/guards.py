"""Watching a candidate run: poisoned allocations, the aten ops it calls, the Triton kernels it launches.

:class:`Watch` is a ``TorchDispatchMode``. While it is active:

* every floating tensor that torch's allocators hand out through ``empty``-style factories (``torch.empty``,
  ``empty_like``, ``new_empty``, ``empty_strided``) is filled with a poison value first, on CPU and CUDA
  alike, so an output the kernel never writes shows up (NaN poison) and a result that depends on the
  contents of fresh memory changes with the poison;
* every aten op is counted by name (``convolution``, ``gelu``, ``mean`` ...), so a candidate that computes
  with PyTorch instead of its kernel is seen;
* Triton launches are counted (``JITFunction.run`` / the interpreter's ``InterpretedFunction.run``).
"""

from __future__ import annotations

import functools
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_EMPTY_OPS = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})

_launches = 0
_patched = False


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
            return __original(self, *args, **kwargs)

        run._fusefuzz_counted = True
        cls.run = run
    _patched = True


def launches() -> int:
    return _launches


class Watch(TorchDispatchMode):
    def __init__(self, poison: float = float("nan")):
        super().__init__()
        _patch_launch_counters()
        self.poison = poison
        self.ops: Counter = Counter()
        self._launches_at_start = 0

    def __enter__(self):
        self._launches_at_start = _launches
        return super().__enter__()

    @property
    def launches(self) -> int:
        return _launches - self._launches_at_start

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        self.ops[name] += 1
        if name in _EMPTY_OPS and isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel():
            out.fill_(self.poison)
        return out

    def fallback_ops(self, reference_ops, allowed) -> list[str]:
        return sorted(op for op in self.ops if op in reference_ops and op not in allowed)
