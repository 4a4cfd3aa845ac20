"""Generic problems from KernelBench-format reference files: ``fusefuzz check CAND.py --reference REF.py``.

A reference file defines ``class Model(nn.Module)``, ``get_inputs()``, ``get_init_inputs()`` and
module-level constants (``batch_size = 128``, ``height, width = 32, 32``, ...). It is fuzzed as it is:

**Which constants are sizes.** A module-level name bound to a positive integer literal (or integer
arithmetic on literals, ``K = 4096 * 2``; one name per assignment or a tuple of names = a tuple of
values; ``True``/``False`` are not integers) is a *size* when changing its value changes the shape of a
tensor ``get_inputs()`` returns or of a parameter or buffer of ``Model(*get_init_inputs())``. Other
integers (a dimension to reduce over, a stride, a padding, a group or pool count) are hyperparameters
and keep their declared value; floats are values, never sizes. The test is done by re-executing the
file with the constant changed (on the ``meta`` device: no memory, no arithmetic), so derived
constants such as ``bias_shape = (out_channels, 1, 1)`` follow. ``--sizes name=lo:hi`` adds a
hyperparameter to the sizes or sets a size's range; ``--sizes name=V`` pins it.

**How sizes are drawn.** Each size independently from ``[lo, hi]`` (default ``[1, declared value]``):
log-uniform (a bit length, then a value of that length: small values are as likely as large ones),
often a tile size +- 1 (15, 16, 17, 31, ...), sometimes the declared value itself; everything shrinks
toward ``lo``. Then, when a work budget applies (the Triton interpreter: ``max_macs`` multiply-adds,
counted with PyTorch's FLOP formulas; ``max_elements`` tensor elements over inputs, parameters and
output; ``max_rows`` output rows, i.e. output elements over its last dimension, about the programs a
kernel launches), the largest drawn size is halved until the example fits. A draw for which the
reference itself raises (``kernel_size > height``, channels not divisible by groups) is first retried with the sizes
rounded down to multiples of 2, 4, 8, ... (as far as the declared value is divisible), then rejected:
rejections are counted per reason and reported, never blamed on the candidate.

**Relationships the reference needs** go into an optional hook; nothing in the file has to change:

* ``FUSEFUZZ_SIZES`` in the reference (or ``--strategy module:function``, or ``strategy=`` here): a
  Hypothesis strategy drawing a dict ``{size: value}``, or a function ``f(draw) -> dict``; sizes it
  leaves out are drawn as above, sizes it gives are used as they are (never halved);
* ``FUSEFUZZ_CONSTRAINTS``: a list of Python expressions over the constants (``"kernel_size <= height"``)
  or a function ``f(sizes) -> bool``; a draw that violates one is rejected (halving avoids violating them).

**Inputs.** ``get_inputs()`` is evaluated with the drawn sizes under ``torch.manual_seed(example.seed)``
(in a ``fork_rng``, on the CPU, so an example means the same numbers everywhere); floating tensors are
then optionally scaled (values ``reference_scaled``: times a log-uniform factor in [1e-3, 1e3]), cast to
the drawn dtype, moved to the device and given the drawn layout (4-D: channels_last; any: a strided
view); other tensors are only moved. The reference's parameters come from ``Model(*get_init_inputs())``
under ``torch.manual_seed(seed ^ 0x5EED5EED)`` and are copied into ``ModelNew``.

**Tolerance.** There is no rounding-error analysis for an arbitrary reference, so the default policy is
``peer`` (:class:`fusefuzz.harness.policies.PeerPolicy`, the flash-attention rule): the candidate's error against
the float64 reference may be at most 2x PyTorch's own error at the candidate's dtype and contract, plus
an absolute floor of 4 units of roundoff times the largest output magnitude. ``--policy allclose[:TOL]``
works as for the built-in problem; ``bound`` is refused (no bound to compute). References without a dot
product (no mm/conv/...) are judged under ``ieee`` only when the precision is ``auto``.

Other processes (isolated workers) rebuild the problem from its recorded ``source`` (the file, the size
names, the batch size name), see :func:`fusefuzz.harness.problems.register`.
"""

from __future__ import annotations

import collections
import copy
import inspect
import json
import math
import os
import re
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..example import LAYOUTS, Example, apply_layout
from ..precision import DTYPES, torch_dtype
from .problem import Problem, ReferenceRaised, register
from .reference_file import ReferenceLoadError, ReferenceSource, one_line
from .reference_sizes import (
    as_constraints,
    as_strategy,
    load_strategy,
    parse_ranges,
    parse_sizes,
    scales,
    size_strategy,
    subset,
)

__all__ = ["KernelBenchProblem", "Reference", "ReferenceLoadError", "annotate", "for_cli", "from_file",
           "from_source", "load_strategy", "parse_sizes", "prepare_inputs", "rejection_summary", "snapshot"]

#: values as ``get_inputs()`` makes them, or those times a log-uniform scale
DISTRIBUTIONS = ("reference", "reference_scaled")
#: tensor elements per example in the interpreter (inputs + parameters + output)
INTERPRETER_MAX_ELEMENTS = 1 << 14
#: output rows (all dimensions but the last) per example in the interpreter: kernels launch about one
#: program per row or per row tile, and the interpreter pays about a millisecond per program and call
INTERPRETER_MAX_ROWS = 64
#: aten ops that move or make memory rather than compute: calling them is never a fallback
STRUCTURAL_OPS = frozenset({
    "detach", "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "transpose", "permute", "expand",
    "expand_as", "view_as", "contiguous", "clone", "copy_", "_to_copy", "to", "empty", "empty_like",
    "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full",
    "full_like", "new_zeros", "new_ones", "new_full", "fill_", "zero_", "unsqueeze", "squeeze", "as_strided",
    "slice", "select", "alias", "lift_fresh", "lift_fresh_copy", "unbind", "split", "split_with_sizes",
    "chunk", "narrow", "flatten", "unflatten", "arange", "scalar_tensor", "_local_scalar_dense", "item",
    "resize_", "set_", "sym_size", "sym_stride", "sym_numel", "is_same_size", "_has_compatible_shallow_copy_type",
})
#: aten ops with a dot product (their fp32 operands may be rounded to TF32)
DOT_OPS = frozenset({
    "mm", "addmm", "bmm", "baddbmm", "addbmm", "matmul", "linear", "convolution", "_convolution", "conv1d",
    "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "einsum", "tensordot",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_attention_math", "scaled_dot_product_attention", "mv", "dot", "addmv",
})

_PARAM_SEED_XOR = 0x5EED5EED


# ----------------------------------------------------------------------------------------------------
# Evaluating the reference at some sizes: shapes, work and aten ops, on the meta device
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    inputs: tuple  # per input: (shape, dtype) of a tensor
    init_args: tuple
    params: tuple  # (name, shape) of every parameter and buffer
    output: tuple | None  # shape (None: forward not evaluated)
    output_dtype: torch.dtype | None = None
    macs: int = 0
    elements: int = 0
    ops: frozenset = frozenset()
    rows: int = 0  # output elements / the output's last dimension

    @property
    def signature(self) -> tuple:
        return self.inputs, self.params


class _Recorder(TorchDispatchMode):
    """aten ops by name, and multiply-adds from PyTorch's FLOP formulas."""

    def __init__(self):
        super().__init__()
        self.ops: set[str] = set()
        self.flops = 0
        try:
            from torch.utils.flop_counter import flop_registry
        except ImportError:  # pragma: no cover
            flop_registry = {}
        self.registry = flop_registry

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        self.ops.add(packet.__name__)
        formula = self.registry.get(packet)
        if formula is not None:
            try:
                self.flops += int(formula(*args, **kwargs, out_val=out))
            except Exception:  # noqa: BLE001 - a formula that does not apply counts nothing
                pass
        return out


def _is_meta_problem(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, NotImplementedError) or "meta" in text.lower()


class Reference:
    """A loaded reference file: its sizes, how to evaluate it, and how to draw examples for it."""

    def __init__(self, path: str, *, sizes=None, strategy=None, constraints=None, size_names=None,
                 batch_name="auto"):
        self.source = ReferenceSource(path)
        self.path = self.source.path
        self.use_meta = True
        self._evaluations: collections.OrderedDict = collections.OrderedDict()
        #: drawn size sets rejected, by reason (the reference raised, over the budget, a constraint)
        self.rejections: collections.Counter = collections.Counter()
        self.notes: list[str] = []
        base_ns = self._base_namespace()
        for fn in ("Model", "get_inputs", "get_init_inputs"):
            if fn not in base_ns:
                raise ReferenceLoadError(f"reference {self.path!r} defines no {fn}; KernelBench format needs "
                                         "class Model(nn.Module), get_inputs() and get_init_inputs()")
        if not (isinstance(base_ns["Model"], type) and issubclass(base_ns["Model"], torch.nn.Module)):
            raise ReferenceLoadError(f"reference {self.path!r}: Model is {type(base_ns['Model']).__name__}, "
                                     "not an nn.Module subclass")
        self.model_class = base_ns["Model"]
        self.base = self._evaluate_base()
        ranges = parse_ranges(sizes, self.source.constants, self.path)
        added = []
        if size_names is None:
            size_names = self._detect_sizes()
            added = [n for n in ranges if n not in size_names]
            size_names = [n for n in self.source.constants if n in size_names + added]  # file order
        self.size_names: tuple[str, ...] = tuple(size_names)
        if not self.size_names:
            found = ", ".join(f"{k} = {v}" for k, v in self.source.constants.items()) or "none"
            raise ReferenceLoadError(
                f"reference {self.path!r} has no module-level integer size constants that get_inputs() or "
                f"get_init_inputs() use (integer constants found: {found}); declare sizes like "
                "`batch_size = 16` and build the inputs from them, or name one with --sizes NAME=LO:HI")
        self.declared = {n: self.source.constants[n] for n in self.size_names}
        self.ranges = {n: ranges.get(n, (1, max(1, self.declared[n]))) for n in self.size_names}
        self.user_strategy = as_strategy(strategy if strategy is not None else base_ns.get("FUSEFUZZ_SIZES"),
                                          "strategy" if strategy is not None else "FUSEFUZZ_SIZES")
        self.constraints = as_constraints(constraints if constraints is not None
                                           else base_ns.get("FUSEFUZZ_CONSTRAINTS"), self.source.constants)
        ops = self.base.ops
        self.reference_ops = frozenset(ops - STRUCTURAL_OPS)
        self.has_dot = bool(ops & DOT_OPS)
        if batch_name == "auto":
            # a hyperparameter fuzzed on request may change which dimension is the batch (a reduced dim)
            batch_name = None if added else self._detect_batch()
        self.batch_name = batch_name
        arity = len(self.base.init_args)
        try:
            names = [p for p in inspect.signature(self.model_class).parameters]
        except (TypeError, ValueError):
            names = []
        self.init_arg_names = tuple(names[:arity]) if len(names) >= arity else tuple(f"arg{i}" for i in range(arity))

    # -- evaluation ------------------------------------------------------------------------------

    def _base_namespace(self) -> dict:
        try:
            return self.source.namespace({})
        except Exception as e:  # noqa: BLE001 - the file's own import-time failure
            raise ReferenceLoadError(f"cannot load reference {self.path!r}: executing it raised "
                                     f"{one_line(e)}") from None

    def _evaluate_base(self) -> Evaluation:
        try:
            base = self.evaluate({})
        except ReferenceRaised as e:
            raise ReferenceLoadError(f"reference {self.path!r} at its declared sizes: {e}") from None
        return base

    def evaluate(self, sizes: dict, *, forward: bool = True) -> Evaluation:
        """Shapes, work and ops of the reference at ``sizes``; ReferenceRaised when the reference raises."""
        key = (self.source.key(sizes), forward)
        hit = self._evaluations.get(key)
        if hit is not None:
            self._evaluations.move_to_end(key)
            if isinstance(hit, ReferenceRaised):
                raise hit
            return hit
        try:
            result = self._evaluate(sizes, forward, meta=self.use_meta)
        except ReferenceRaised as e:
            if not (self.use_meta and _is_meta_problem(e.__cause__ or e)):
                self._remember(key, e)
                raise
            try:  # an op without a meta kernel, or CPU tensors made by hand: evaluate for real from now on
                result = self._evaluate(sizes, forward, meta=False)
            except ReferenceRaised as e2:
                self._remember(key, e2)
                raise
            self.use_meta = False
        self._remember(key, result)
        return result

    def _remember(self, key, value) -> None:
        self._evaluations[key] = value
        if len(self._evaluations) > 4096:
            self._evaluations.popitem(last=False)

    def _evaluate(self, sizes: dict, forward: bool, *, meta: bool) -> Evaluation:
        try:
            ns = self.source.namespace(sizes)
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"executing the reference raised {one_line(e)}") from e
        device = torch.device("meta") if meta else torch.device("cpu")
        with torch.random.fork_rng(devices=[]), device:
            torch.manual_seed(0)  # evaluated for real (no meta kernel): the same numbers every time
            try:
                raw = list(ns["get_inputs"]())
            except Exception as e:  # noqa: BLE001
                raise ReferenceRaised(f"get_inputs() raised {one_line(e)}") from e
            try:
                init = tuple(ns["get_init_inputs"]())
            except Exception as e:  # noqa: BLE001
                raise ReferenceRaised(f"get_init_inputs() raised {one_line(e)}") from e
            try:
                model = ns["Model"](*init)
            except Exception as e:  # noqa: BLE001
                raise ReferenceRaised(f"Model{_short(init)} raised {one_line(e)}") from e
            for i, t in enumerate(raw):
                if not isinstance(t, torch.Tensor):
                    raise ReferenceLoadError(f"reference {self.path!r}: get_inputs() returned a "
                                             f"{type(t).__name__} at position {i}; fusefuzz passes tensors only")
            params = tuple((n, tuple(p.shape)) for n, p in
                           list(model.named_parameters()) + list(model.named_buffers()))
            inputs = tuple((tuple(t.shape), t.dtype) for t in raw)
            out_shape, out_dtype, macs, ops = None, None, 0, frozenset()
            elements = sum(t.numel() for t in raw) + sum(math.prod(s) for _, s in params)
            if forward:
                recorder = _Recorder()
                try:
                    with torch.no_grad(), recorder:
                        out = model.eval()(*raw)
                except Exception as e:  # noqa: BLE001
                    raise ReferenceRaised(f"Model.forward raised {one_line(e)}") from e
                if not isinstance(out, torch.Tensor):
                    raise ReferenceLoadError(f"reference {self.path!r}: Model.forward returned "
                                             f"{type(out).__name__}; fusefuzz compares one tensor")
                out_shape, out_dtype = tuple(out.shape), out.dtype
                macs, ops = recorder.flops // 2, frozenset(recorder.ops)
                elements += out.numel()
                rows = out.numel() // out.shape[-1] if out.dim() and out.shape[-1] else 1
        return Evaluation(inputs, init, params, out_shape, out_dtype, macs, elements, ops,
                          rows if forward else 0)

    # -- detection -------------------------------------------------------------------------------

    def _detect_sizes(self) -> list[str]:
        sizes = []
        for name, value in self.source.constants.items():
            if value < 1:
                continue
            for alt in (value + 1, value - 1, 2 * value):
                if alt < 1:
                    continue
                try:
                    ev = self.evaluate({name: alt}, forward=False)
                except ReferenceRaised:
                    continue
                if ev.signature != self.base.signature:
                    sizes.append(name)
                break
            else:
                self.notes.append(f"{name} = {value}: every changed value made the reference raise; kept fixed")
        return sizes

    def _detect_batch(self) -> str | None:
        """The size that is dimension 0 of the first input and of the output, and nothing else, for which
        the float64 reference really works sample by sample (split and reversed batches agree)."""
        base = self.base
        if not base.inputs or not base.inputs[0][0] or not base.output:
            return None
        for name in self.size_names:
            v = self.declared[name]
            try:
                ev = self.evaluate({name: v + 1})
            except ReferenceRaised:
                continue
            (s0, _), (s1, _) = base.inputs[0], ev.inputs[0]
            if not (s0[0] == v and s1[0] == v + 1 and s0[1:] == s1[1:] and ev.inputs[1:] == base.inputs[1:]
                    and ev.params == base.params and base.output[0] == v and ev.output[0] == v + 1
                    and ev.output[1:] == base.output[1:]):
                continue
            return name if self._batch_verified(name) else None
        return None

    def _batch_verified(self, name: str) -> bool:
        for cap in (6, 12):
            sizes = {n: min(self.declared[n], cap) for n in self.size_names}
            sizes[name] = 4
            try:
                ev = self.evaluate(sizes)
                if ev.elements > 1 << 22:
                    return False
                ns = self.source.namespace(sizes)
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    raw = [t.double() if t.is_floating_point() else t for t in ns["get_inputs"]()]
                    model = ns["Model"](*ns["get_init_inputs"]()).double().eval()
                with torch.no_grad():
                    whole = model(*raw)
                    halves = torch.cat([model(raw[0][:2], *raw[1:]), model(raw[0][2:], *raw[1:])])
                    flipped = model(raw[0].flip(0), *raw[1:]).flip(0)
            except (ReferenceRaised, Exception):  # noqa: BLE001 - try the next size, else no batch checks
                continue
            tol = dict(rtol=1e-9, atol=1e-12, equal_nan=True)
            return bool(torch.allclose(whole, halves, **tol) and torch.allclose(whole, flipped, **tol))
        return False

    # -- drawing examples -------------------------------------------------------------------------

    def within(self, ev: Evaluation, budget: dict) -> bool:
        return all(limit is None or getattr(ev, what) <= limit for what, limit in budget.items())

    def violated(self, sizes: dict) -> str | None:
        values = {**self.source.constants, **sizes}
        for text, check in self.constraints:
            try:
                ok = check(values)
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"constraint {text!r} raised {one_line(e)} for sizes {sizes}") from None
            if not ok:
                return text
        return None

    def fit(self, sizes: dict, free: list[str], budget: dict) -> tuple[dict | None, str | None]:
        """Sizes the reference accepts within the budget, halving the largest free size; or (None, why)."""
        sizes = dict(sizes)
        bad = self.violated(sizes)
        if bad:
            return None, f"constraint {bad}"
        try:
            ev = self.evaluate(sizes)
        except ReferenceRaised as e:
            aligned = self._aligned(sizes, free)
            if aligned is None:
                return None, f"the reference raised: {_generic(str(e))}"
            sizes, ev = aligned
        for _ in range(400):
            if self.within(ev, budget):
                return sizes, None
            order = sorted((n for n in free if sizes[n] > self.ranges[n][0]), key=lambda n: -sizes[n])
            for n in order:
                trial = {**sizes, n: max(self.ranges[n][0], sizes[n] // 2)}
                if self.violated(trial):
                    continue
                try:
                    ev = self.evaluate(trial)
                except ReferenceRaised:
                    continue
                sizes = trial
                break
            else:
                return None, "over the work budget at the smallest sizes allowed"
        return None, "over the work budget"  # pragma: no cover - 400 halvings exceed any int

    def _aligned(self, sizes: dict, free: list[str]):
        for j in range(1, 11):
            trial = dict(sizes)
            for n in free:
                m = math.gcd(self.declared[n], 1 << j)
                lo, hi = self.ranges[n]
                v = max(m, sizes[n] - sizes[n] % m)
                trial[n] = v if lo <= v <= hi else sizes[n]
            if trial == sizes or self.violated(trial):
                continue
            try:
                return trial, self.evaluate(trial)
            except ReferenceRaised:
                continue
        return None

    def explicit_examples(self) -> tuple[Example, ...]:
        """Run after every search that found nothing: every size different (small primes, in file order,
        else reversed: square-only and transposed-size bugs), and every size one past a 16-wide tile (tail
        bugs); each fitted to the interpreter's budget, so they run everywhere."""
        budget = {"macs": 250_000, "elements": INTERPRETER_MAX_ELEMENTS, "rows": INTERPRETER_MAX_ROWS}
        primes = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53)
        names = list(self.size_names)
        wanted = []
        for order in (primes, primes[:len(names)][::-1]):
            wanted.append({n: min(max(order[i % len(order)], self.ranges[n][0]), self.ranges[n][1])
                           for i, n in enumerate(names)})
        wanted.append({n: min(max(17, self.ranges[n][0]), self.ranges[n][1]) for n in names})
        out, seen = [], set()
        for i, sizes in enumerate(wanted):
            if i == 1 and out:  # the reversed primes only when the first order does not fit
                continue
            fitted, _ = self.fit(sizes, names, budget)
            if fitted is None or tuple(fitted.items()) in seen:
                continue
            seen.add(tuple(fitted.items()))
            out.append(Example(sizes=fitted, distribution="reference", seed=1))
        return tuple(out)

    def smallest_example(self) -> Example:
        lows = {n: self.ranges[n][0] for n in self.size_names}
        sizes, _ = self.fit(lows, list(self.size_names), {})
        return Example(sizes=sizes or dict(self.declared), distribution="reference")

    def strategy(self, *, dtypes=tuple(DTYPES), layouts=LAYOUTS, distributions=DISTRIBUTIONS,
                 max_macs: int | None = None, max_elements: int | None = None, max_rows: int | None = None,
                 max_outputs: int | None = None, tile_edges: bool = True):
        """Examples for this reference (module docstring). The work budget: ``max_macs`` multiply-adds,
        ``max_elements`` tensor elements and ``max_rows`` output rows per example; when ``max_macs`` is
        given (the campaign does in the interpreter) the other two default to ``INTERPRETER_MAX_ELEMENTS``
        and ``INTERPRETER_MAX_ROWS``. ``max_outputs`` (the built-in problem's batch x channels cap, which
        the campaign passes in the interpreter) is accepted and not used: ``max_rows`` plays its part."""
        from hypothesis import assume
        from hypothesis import strategies as st

        dtypes = subset("dtypes", dtypes, tuple(DTYPES))
        layouts = subset("layouts", layouts, LAYOUTS)
        distributions = subset("distributions", distributions, DISTRIBUTIONS)
        for opt, value in (("max_macs", max_macs), ("max_elements", max_elements), ("max_rows", max_rows)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{opt}={value!r} must be an integer >= 1 (or None for no budget)")
        if max_macs is not None:
            max_elements = INTERPRETER_MAX_ELEMENTS if max_elements is None else max_elements
            max_rows = INTERPRETER_MAX_ROWS if max_rows is None else max_rows
        budget = {"macs": max_macs, "elements": max_elements, "rows": max_rows}
        per_size = {n: size_strategy(lo, hi, tile_edges) for n, (lo, hi) in self.ranges.items()}
        user = self.user_strategy

        @st.composite
        def examples(draw):
            given = dict(draw(user)) if user is not None else {}
            unknown = [k for k in given if k not in self.size_names]
            if unknown:
                raise ValueError(f"the size strategy drew {unknown} which are not sizes of {self.path!r}; "
                                 f"sizes: {', '.join(self.size_names)}")
            sizes = {n: int(given[n]) if n in given else draw(per_size[n]) for n in self.size_names}
            free = [n for n in self.size_names if n not in given]
            fitted, why = self.fit(sizes, free, budget)
            if fitted is None:
                self.rejections[why] += 1
                assume(False)
            dist = draw(st.sampled_from(distributions))
            scale = draw(scales())  # drawn either way: a fixed structure shrinks better
            scale = scale if dist == "reference_scaled" else 1.0
            return Example(sizes=fitted, dtype=draw(st.sampled_from(dtypes)), layout=draw(st.sampled_from(layouts)),
                           distribution=dist, scale=scale, seed=draw(st.integers(0, 2**32 - 1)))

        return examples()

    # -- building one example --------------------------------------------------------------------

    def _namespace(self, example: Example) -> dict:
        try:
            return self.source.namespace(example.sizes)
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"executing the reference raised {one_line(e)}") from e

    def make_inputs(self, example: Example, device) -> list[torch.Tensor]:
        ns = self._namespace(example)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(example.seed)
                raw = list(ns["get_inputs"]())
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"get_inputs() raised {one_line(e)}") from e
        return prepare_inputs(raw, torch_dtype(example.dtype), example.layout, example.distribution,
                              example.scale, device)

    def init_args(self, example: Example) -> tuple:
        ns = self._namespace(example)
        try:
            return tuple(ns["get_init_inputs"]())
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"get_init_inputs() raised {one_line(e)}") from e

    def make_reference(self, example: Example, device, dtype=None) -> torch.nn.Module:
        ns = self._namespace(example)
        init = self.init_args(example)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(example.seed ^ _PARAM_SEED_XOR)
                model = ns["Model"](*init)
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"Model{_short(init)} raised {one_line(e)}") from e
        return model.to(device=device, dtype=dtype or torch_dtype(example.dtype)).eval()

    def input_shapes(self, example: Example) -> list[tuple[int, ...]]:
        return [s for s, _ in self._evaluation(example).inputs]

    def output_shape(self, example: Example) -> tuple[int, ...]:
        return self._evaluation(example).output

    def _evaluation(self, example: Example) -> Evaluation:
        return self.evaluate(example.sizes)

    def analyse(self, example: Example, inputs, params) -> _Analysis:
        """The float64 reference from the candidate's exact inputs and parameters. A true value past the
        output dtype's range is the infinity that correct rounding gives."""
        device = inputs[0].device if inputs else "cpu"
        model = self.make_reference(example, device, dtype=torch.float64)
        try:
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if n in params:
                        p.copy_(params[n].to(torch.float64))
                out = model(*[x.double() if x.is_floating_point() else x for x in inputs])
        except Exception as e:  # noqa: BLE001
            raise ReferenceRaised(f"the float64 reference raised {one_line(e)}") from e
        ref64 = out.detach().double()
        rounded = ref64.to(torch_dtype(example.dtype))
        overflow = torch.isinf(rounded) & torch.isfinite(ref64)
        if bool(overflow.any()):
            ref64 = torch.where(overflow, rounded.double(), ref64)
        return _Analysis(example, ref64)

    def flops(self, example: Example) -> float:
        return 2.0 * self._evaluation(example).macs

    def min_bytes(self, example: Example) -> float:
        ev = self._evaluation(example)
        item = torch.finfo(torch_dtype(example.dtype)).bits // 8
        return float(item * ev.elements)

    def varies(self) -> str:
        ranges = ", ".join(f"{n} {lo}-{hi}" for n, (lo, hi) in self.ranges.items())
        return (f"{ranges} (halved to the work budget in the interpreter); dtype fp32/fp16/bf16; layout "
                "contiguous/channels_last/strided; values as get_inputs() makes them, or times a log-uniform scale")


@dataclass
class _Analysis:
    example: Example
    ref64: torch.Tensor


def no_bound(analysis, contract, budget=0.0):
    raise ValueError("this problem has no rounding-error bound (it was built from a reference file); use "
                     "--policy peer (the default for --reference) or allclose[:TOL]")


def prepare_inputs(raw, dtype, layout, distribution, scale, device):
    """``get_inputs()``'s tensors as an example uses them: floating ones (optionally scaled) cast to
    ``dtype``, moved to ``device``, laid out; others only moved. Embedded verbatim into repro scripts."""
    out = []
    for t in raw:
        if t.is_floating_point():
            t = t.float()
            if distribution == "reference_scaled":
                t = t * scale
            t = t.to(dtype).to(device)
            if t.dim() >= 1 and t.numel():
                t = apply_layout(t, layout)
        else:
            t = t.to(device)
        out.append(t)
    return out


def _short(args: tuple) -> str:
    text = repr(tuple(args))
    return text if len(text) < 80 else text[:77] + "...)"


def _generic(text: str) -> str:
    """An error message with its numbers replaced, so that rejections of one kind count together."""
    return re.sub(r"\d+", "N", text)[:200]


# ----------------------------------------------------------------------------------------------------
# The problem record
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelBenchProblem(Problem):
    """A :class:`~fusefuzz.harness.problems.Problem` whose every piece comes from a reference file."""

    ref: Reference | None = field(default=None, compare=False, repr=False)

    def make_inputs(self, example: Example, device) -> list[torch.Tensor]:
        return self.ref.make_inputs(example, device)

    def make_reference(self, example: Example, device, dtype=None) -> torch.nn.Module:
        return self.ref.make_reference(example, device, dtype)

    def smallest_example(self) -> Example:
        return self.ref.smallest_example()

    @property
    def init_arg_names(self) -> tuple[str, ...]:
        return self.ref.init_arg_names

    def repro_build(self, example: Example) -> str:
        """The part of a repro script that rebuilds this example's inputs and reference (torch only)."""
        from ..repro import kernelbench_build_block

        return kernelbench_build_block(self.ref.source.text_with(example.sizes), self.ref.path,
                                       example.seed ^ _PARAM_SEED_XOR, inspect.getsource(prepare_inputs))


def from_file(path: str, *, name: str | None = None, sizes=None, strategy=None, constraints=None,
              policy: str = "peer", size_names=None, batch_name="auto") -> KernelBenchProblem:
    """A problem from a KernelBench-format reference file (module docstring for every rule).

    ``sizes``: ranges ``{name: (lo, hi) | value}`` or the ``--sizes`` text; ``strategy``: a Hypothesis
    strategy of size dicts (or ``f(draw) -> dict``) for sizes with relationships; ``constraints``: as
    ``FUSEFUZZ_CONSTRAINTS``; ``policy``: the default tolerance policy. Not registered: pass the result
    to :func:`fusefuzz.harness.problems.register` to look it up by name (and to run it in isolated workers).
    """
    ref = Reference(path, sizes=sizes, strategy=strategy, constraints=constraints, size_names=size_names,
                    batch_name=batch_name)
    name = name or "ref:" + os.path.splitext(os.path.basename(ref.path))[0]
    source = json.dumps({"kind": "kernelbench", "path": ref.path, "name": name, "size_names": list(ref.size_names),
                         "batch_name": ref.batch_name, "policy": policy})
    from ..precision import AUTO_ORDER

    return KernelBenchProblem(
        name=name,
        description=f"KernelBench-format reference {os.path.relpath(ref.path)} (sizes: {', '.join(ref.size_names)})",
        reference=ref.model_class,
        size_names=ref.size_names,
        init_args=ref.init_args,
        input_shapes=ref.input_shapes,
        output_shape=ref.output_shape,
        analyse=ref.analyse,
        bound=no_bound,
        strategy=ref.strategy,
        headline=Example(sizes=dict(ref.declared), distribution="reference"),
        varies=ref.varies(),
        reference_ops=ref.reference_ops,
        explicit=ref.explicit_examples(),
        flops=ref.flops,
        min_bytes=ref.min_bytes,
        default_policy=policy,
        batch_name=ref.batch_name,
        auto_contracts=AUTO_ORDER if ref.has_dot else ("ieee",),
        source=source,
        ref=ref,
    )


def from_source(source: str) -> KernelBenchProblem:
    """Rebuild a problem from its recorded source (a worker process; no detection, same size names)."""
    d = json.loads(source)
    if d.get("kind") != "kernelbench":
        raise ValueError(f"problem source {source!r} is not a kernelbench problem")
    return from_file(d["path"], name=d["name"], size_names=d["size_names"], batch_name=d["batch_name"],
                     policy=d.get("policy", "peer"))


def for_cli(reference: str, *, sizes: str | None = None, strategy: str | None = None,
            policy: str = "peer") -> KernelBenchProblem:
    """``--reference REF.py [--sizes ...] [--strategy MODULE:NAME]``: load, register (replacing a problem
    of the same name from an earlier call), return."""
    user = load_strategy(strategy) if strategy else None
    problem = from_file(reference, sizes=sizes, strategy=user, policy=policy)
    return register(problem, replace=True)


def rejection_summary(problem, before: collections.Counter | None = None) -> str | None:
    """One line on the drawn size sets the problem rejected (since ``before``), or None."""
    ref = getattr(problem, "ref", None)
    if ref is None:
        return None
    counts = collections.Counter(ref.rejections)
    if before:
        counts.subtract(before)
    counts = +counts
    if not counts:
        return None
    parts = [f"{n} x {why}" for why, n in counts.most_common(3)]
    more = len(counts) - 3
    return (f"{sum(counts.values())} drawn size sets rejected, not run (no verdict, not the candidate's fault): "
            + "; ".join(parts) + (f"; {more} more reasons" if more > 0 else ""))


def snapshot(problem) -> collections.Counter:
    ref = getattr(problem, "ref", None)
    return copy.copy(ref.rejections) if ref is not None else collections.Counter()


def annotate(result, problem, before: collections.Counter | None = None) -> None:
    """Add the problem's rejections (since ``before``) and load notes to a campaign result; an
    Unsatisfiable campaign (every draw rejected) gets an error that says why and what to do."""
    ref = getattr(problem, "ref", None)
    if ref is None:
        return
    line = rejection_summary(problem, before)
    if line:
        result.remarks.append(line)
    result.remarks.extend(n for n in ref.notes if n not in result.remarks)
    if result.verdict == "error" and result.error and "Unsatisfiable" in result.error and line:
        result.error = (f"every drawn size set was rejected ({line}); constrain the sizes with --sizes NAME=LO:HI, "
                        "--strategy MODULE:NAME or FUSEFUZZ_SIZES / FUSEFUZZ_CONSTRAINTS in the reference")
