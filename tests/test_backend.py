"""The interpreter backend is honest: TF32 truncation emulated, bf16 dots and inline asm unsupported."""

import pytest
import torch
from fusefuzz.harness import backend

pytestmark = pytest.mark.skipif(backend.name() != "interpreter", reason="interpreter-only behaviour")

import triton  # noqa: E402  (after the backend choice)
import triton.language as tl  # noqa: E402


@triton.jit
def _dot16(a_ptr, b_ptr, c_ptr, PREC: tl.constexpr):
    r = tl.arange(0, 16)
    a = tl.load(a_ptr + r[:, None] * 16 + r[None, :])
    b = tl.load(b_ptr + r[:, None] * 16 + r[None, :])
    tl.store(c_ptr + r[:, None] * 16 + r[None, :], tl.dot(a, b, input_precision=PREC))


@triton.jit
def _asm(x_ptr, y_ptr):
    r = tl.arange(0, 16)
    x = tl.load(x_ptr + r)
    y = tl.inline_asm_elementwise("mov.b32 $0, $1;", "=r,r", [x], dtype=tl.float32, is_pure=True, pack=1)
    tl.store(y_ptr + r, y)


def _truncate(t):
    return (t.view(torch.int32) & -8192).view(torch.float32)


def test_tf32_dot_truncates_like_the_gpu_and_ieee_is_exact():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 16, generator=g), torch.randn(16, 16, generator=g)
    c = torch.empty(16, 16)
    _dot16[(1,)](a, b, c, "tf32")
    emulated = (_truncate(a.clone()).double() @ _truncate(b.clone()).double())
    assert (c.double() - emulated).abs().max() < 1e-5
    assert (c.double() - a.double() @ b.double()).abs().max() > 1e-4  # TF32 is visibly inexact
    _dot16[(1,)](a, b, c, "ieee")
    assert (c.double() - a.double() @ b.double()).abs().max() < 1e-5


def test_bf16_dot_is_unsupported_not_garbage():
    a = torch.randn(16, 16).bfloat16()
    c = torch.empty(16, 16)
    with pytest.raises(Exception) as info:
        _dot16[(1,)](a, a, c, "ieee")
    assert "bf16" in backend.unsupported_reason(info.value)


def test_inline_asm_is_unsupported():
    x = torch.randn(16)
    with pytest.raises(Exception) as info:
        _asm[(1,)](x, torch.empty(16))
    assert "inline_asm" in backend.unsupported_reason(info.value)


def test_unsupported_reason_ignores_ordinary_errors():
    assert backend.unsupported_reason(ValueError("shape mismatch")) is None


def _raise_int_of_1d_array_from(filename):
    """Raise NumPy's refusal of int() on a 1-d array from code that claims to live in ``filename``."""
    code = compile("import numpy\nint(numpy.zeros(1) + [1])\n", filename, "exec")
    try:
        exec(code, {})
    except TypeError as e:
        return e
    pytest.skip("this NumPy still converts a 1-element 1-d array with int(): nothing to recognise")


def test_interpreter_index_bug_is_unsupported_only_when_raised_by_the_interpreter():
    # triton 3.6's interpreter + NumPy 2.4 (seen on the H100 machine): range(0, K, BLOCK) with a runtime K
    inner = _raise_int_of_1d_array_from("/site-packages/triton/runtime/interpreter.py")
    wrapped = RuntimeError("InterpreterError")
    wrapped.__cause__ = inner
    reason = backend.unsupported_reason(wrapped)
    assert reason is not None and "interpreter cannot run this kernel with NumPy" in reason
    # the same error raised by a candidate's own Python is the candidate's exception, not the backend's limit
    assert backend.unsupported_reason(_raise_int_of_1d_array_from("/home/user/candidate.py")) is None


def test_bad_backend_choice_names_the_value(monkeypatch):
    monkeypatch.setattr(backend, "_selected", None)
    with pytest.raises(ValueError, match="FUSEFUZZ_BACKEND='tpu'"):
        backend.select("tpu")
    monkeypatch.setattr(backend, "_selected", "interpreter")


@triton.jit
def _to_bf16(x_ptr, y_ptr):
    r = tl.arange(0, 1024)
    tl.store(y_ptr + r, tl.load(x_ptr + r).to(tl.bfloat16))


def test_fp32_to_bf16_cast_rounds_to_nearest_even_like_the_gpu():
    x = torch.randn(1024, generator=torch.Generator().manual_seed(1))
    x[:4] = torch.tensor([float("nan"), float("inf"), -0.0, 3.0e38])
    y = torch.empty(1024, dtype=torch.bfloat16)
    _to_bf16[(1,)](x, y)
    expected = x.bfloat16()
    assert torch.isnan(y[0]) and torch.equal(y[1:], expected[1:])


@triton.jit
def _bf16_add(x_ptr, y_ptr):
    r = tl.arange(0, 16)
    x = tl.load(x_ptr + r)
    tl.store(y_ptr + r, x + x)


@triton.jit
def _bf16_via_fp32(x_ptr, y_ptr):
    r = tl.arange(0, 16)
    x = tl.load(x_ptr + r, mask=r < 16, other=0.0).to(tl.float32)
    tl.store(y_ptr + r, (x + x).to(tl.bfloat16))


def test_bf16_arithmetic_is_unsupported_but_bf16_through_fp32_runs():
    x = torch.randn(16).bfloat16()
    with pytest.raises(Exception) as info:
        _bf16_add[(1,)](x, torch.empty_like(x))
    assert "bf16 arithmetic" in backend.unsupported_reason(info.value)
    y = torch.empty_like(x)
    _bf16_via_fp32[(1,)](x, y)
    assert torch.equal(y, (x.float() * 2).bfloat16())
