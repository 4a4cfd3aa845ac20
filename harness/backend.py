"""Where kernels run: a CUDA GPU when there is one, the Triton interpreter otherwise.

The choice must be made before :mod:`triton` is imported, because ``@triton.jit`` decides at decoration
time whether a function is compiled or interpreted (it reads ``TRITON_INTERPRET``). Importing
:mod:`harness` therefore calls :func:`select` once. Override with ``FUSEFUZZ_BACKEND=cuda|interpreter|auto``
(or the CLI's ``--backend`` / pytest's ``--fusefuzz-backend``, which set that variable before anything else).

On the interpreter, these patches make the backend honest (each one is a fact measured here, see
``shared/notes/facts.md``):

* ``tl.dot`` on bf16 operands returns garbage in the interpreter: it raises :class:`BackendUnsupported`
  instead, so the example is reported as *unsupported here*, never as pass or fail.
* ``tl.dot`` with ``input_precision="tf32"`` (Triton's default for fp32) is computed exactly by the
  interpreter, while the GPU truncates both operands to 10 mantissa bits. The patch applies the same
  truncation, so a TF32 kernel that claims ``ieee`` is caught on CPU too, and TF32 bounds are exercised.
* An fp32 -> bf16 cast (``x.to(tl.bfloat16)``) truncates in the interpreter (measured here, triton 3.9:
  516 of 1024 random values differ from round-to-nearest-even); the GPU rounds to nearest even. The
  patch rounds, so a correct bf16 kernel is not failed for the interpreter's rounding.
* Arithmetic, comparisons and min/max on bf16 tensors are computed on the raw bits (numpy has no bf16):
  they raise :class:`BackendUnsupported` too (loads, stores, ``tl.where`` and casts are fine).
* ``tl.inline_asm_elementwise`` (and extern calls) raise ``NotImplementedError`` in the interpreter; the
  runner maps that to unsupported as well (see :func:`unsupported_reason`).
* Triton 3.6's interpreter turns a scalar tensor into a Python index with ``int()`` of a one-element 1-d
  numpy array (``range(0, K, BLOCK)`` with a runtime ``K``); NumPy 2.4.6 refuses that (``TypeError: only
  0-dimensional arrays can be converted to Python scalars``, seen on the H100 machine and here with
  triton 3.6.0 + numpy 2.4). Raised from inside the interpreter, that error means the backend cannot run
  the kernel at all, so it is reported as unsupported, with the versions; the same text raised by the
  candidate's own code stays an exception.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "FUSEFUZZ_BACKEND"
CHOICES = ("auto", "cuda", "interpreter")

_selected: str | None = None


class BackendUnsupported(RuntimeError):
    """The backend cannot run this case correctly; the harness must not give a verdict on it."""


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def select(choice: str | None = None) -> str:
    """Choose the backend (once per process) and configure the environment before triton is imported.

    Returns ``"cuda"`` or ``"interpreter"``.
    """
    global _selected
    if _selected is not None:
        return _selected
    choice = (choice or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"{ENV_VAR}={choice!r} is not a backend; use one of {', '.join(CHOICES)}")
    if choice == "auto":
        # TRITON_INTERPRET set by the user wins over detection.
        if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
            choice = "interpreter"
        else:
            choice = "cuda" if _cuda_available() else "interpreter"
    if choice == "cuda" and not _cuda_available():
        raise RuntimeError(f"{ENV_VAR}=cuda but torch.cuda.is_available() is False; use 'interpreter' or 'auto'")
    if choice == "interpreter":
        if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
            # Kernels already decorated would stay compiled; the knob is read at decoration time.
            import warnings

            warnings.warn(
                "triton was imported before fusefuzz chose the interpreter backend; kernels defined "
                "before this point are not interpreted. Import harness first or set TRITON_INTERPRET=1.",
                stacklevel=2,
            )
        os.environ["TRITON_INTERPRET"] = "1"
        _patch_interpreter()
    else:
        os.environ["TRITON_INTERPRET"] = "0"
    _selected = choice
    return choice


def name() -> str:
    return select()


def device() -> str:
    """The torch device candidate tensors live on."""
    return "cuda" if select() == "cuda" else "cpu"


def describe() -> str:
    import torch

    try:
        import triton

        tv = triton.__version__
    except Exception as e:  # pragma: no cover - triton missing is a packaging error
        tv = f"unavailable ({e})"
    if select() == "cuda":
        where = f"cuda ({torch.cuda.get_device_name()})"
    else:
        where = "Triton interpreter on CPU (TF32 dots emulated by truncation; bf16 dots unsupported)"
    return f"{where}; torch {torch.__version__}; triton {tv}"


# ----------------------------------------------------------------------------------------------------
# Interpreter patches
# ----------------------------------------------------------------------------------------------------

_TF32_MASK = 0xFFFFE000  # keep sign, exponent and the top 10 mantissa bits


def _truncate_to_tf32(array):
    import numpy as np

    a = np.ascontiguousarray(array, dtype=np.float32)
    bits = a.view(np.uint32)
    special = (bits & np.uint32(0x7F800000)) == np.uint32(0x7F800000)
    out = np.where(special, bits, bits & np.uint32(_TF32_MASK))
    return out.view(np.float32)


def _fp32_to_bf16_rne(array):
    """fp32 -> bf16 bits, rounding to nearest even like the GPU (the interpreter truncates)."""
    import numpy as np

    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    is_nan = (bits & 0x7FFFFFFF) > 0x7F800000
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    out = np.where(is_nan, (bits >> 16) | 0x40, rounded).astype(np.uint16)
    return out


def _precision_name(input_precision) -> str:
    text = str(getattr(input_precision, "name", input_precision)).lower()
    return text.rsplit(".", 1)[-1]


def _patch_interpreter() -> None:
    try:
        from triton.runtime import interpreter
    except Exception:  # pragma: no cover - very old/new triton without the interpreter module
        return
    builder = getattr(interpreter, "InterpreterBuilder", None)
    if builder is None or getattr(builder.create_dot, "_fusefuzz", False):
        return
    original = builder.create_dot

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        import triton.language as tl

        if tl.bfloat16 in (a.dtype.scalar, b.dtype.scalar):
            raise BackendUnsupported(
                "tl.dot on bf16 operands: the Triton interpreter computes it incorrectly "
                "(measured: error 2e10 on a 16x16 product); run bf16 on a GPU"
            )
        if _precision_name(input_precision) == "tf32" and a.dtype.scalar == tl.float32 \
                and b.dtype.scalar == tl.float32:
            a = interpreter.TensorHandle(_truncate_to_tf32(a.data), a.dtype.scalar)
            b = interpreter.TensorHandle(_truncate_to_tf32(b.data), b.dtype.scalar)
        return original(self, a, b, d, input_precision, max_num_imprecise_acc)

    create_dot._fusefuzz = True
    builder.create_dot = create_dot

    original_cast = builder.cast_impl

    def cast_impl(self, src, dst_type):
        import triton.language as tl

        if src.dtype.scalar == tl.float32 and dst_type.scalar == tl.bfloat16:
            return interpreter.TensorHandle(_fp32_to_bf16_rne(src.data), tl.bfloat16)
        return original_cast(self, src, dst_type)

    builder.cast_impl = cast_impl

    def refuse_bf16(name):
        original_op = getattr(builder, name)

        def op(self, *args):
            import triton.language as tl

            if any(getattr(getattr(a, "dtype", None), "scalar", None) == tl.bfloat16 for a in args):
                raise BackendUnsupported(
                    "bf16 arithmetic: the Triton interpreter computes on the raw bf16 bits (numpy has no "
                    "bf16; measured errors up to 1e38); cast to fp32 in the kernel or run on a GPU"
                )
            return original_op(self, *args)

        setattr(builder, name, op)

    for name in ("binary_op", "unary_op", "create_fma"):
        if hasattr(builder, name):
            refuse_bf16(name)


_UNSUPPORTED_MARKERS = (
    ("inline_asm not supported in interpreter", "tl.inline_asm_elementwise is not supported by the Triton interpreter"),
    ("extern_elementwise not supported in interpreter",
     "extern (libdevice) calls are not supported by the Triton interpreter"),
)


def _interpreter_index_bug(exc: BaseException) -> str | None:
    """The triton-3.6-interpreter / NumPy-2.4 incompatibility, recognised by where it was raised."""
    if not isinstance(exc, TypeError) or "0-dimensional arrays can be converted" not in str(exc):
        return None
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename.replace(os.sep, "/") if tb is not None else ""
    if not where.endswith("triton/runtime/interpreter.py"):
        return None  # the candidate's own code raised it: a real exception
    import numpy
    import triton

    return (f"the Triton {triton.__version__} interpreter cannot run this kernel with NumPy {numpy.__version__}: it "
            f"converts a scalar tensor to an index with int() of a 1-d array, which this NumPy refuses "
            f"({exc}); the triton 3.9 interpreter runs it (tested), or run on a GPU")


def unsupported_reason(exc: BaseException) -> str | None:
    """If ``exc`` (or anything it was raised from) says the backend cannot run the case, return why."""
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, BackendUnsupported):
            return str(e)
        index_bug = _interpreter_index_bug(e)
        if index_bug:
            return index_bug
        text = str(e)
        for marker, reason in _UNSUPPORTED_MARKERS:
            if marker in text:
                return reason
        stack.extend([e.__cause__, e.__context__])
    return None
