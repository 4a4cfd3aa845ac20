"""Fused Linear -> exact GELU in one Triton kernel: ``y = gelu(x @ W^T + b)``.

Public API
----------
``linear_gelu(x, weight, bias, *, input_precision="tf32")`` -> ``[..., out_features]`` in ``x.dtype``.
    x: ``[..., in_features]`` (any strides; leading dimensions are flattened, as a view when they allow it),
    weight: ``[out_features, in_features]`` (any strides), bias: ``[out_features]`` or None. fp32 inputs use
    ``tl.dot`` with ``input_precision`` "tf32" (default: Triton's TF32 truncates both operands to 10 mantissa
    bits, the ``tf32`` contract) or "ieee"; fp16/bf16 inputs use 16-bit tensor-core operands. Accumulation,
    bias and GELU are fp32; the only global write is the output tile, rounded once to ``x.dtype``.
    Bad arguments raise ValueError / TypeError naming the value.
``ModelNew(in_features, out_features, *, input_precision="tf32")`` owns ``self.linear = nn.Linear(...)`` (the
    reference's parameter names and RNG draws) and calls the wrapper; no torch matmul or gelu in ``forward``.
``linear_gelu_kernel``: the autotuner (4 configs, each correct on its own; the harness runs every one).

How it works
------------
One program per ``[BLOCK_M, BLOCK_N]`` output tile, programs grouped ``GROUP_M`` tiles high so neighbouring
programs share x rows and W columns in L2. The K loop runs over full ``BLOCK_K`` chunks without masks; a
K tail (``K % BLOCK_K``) is one masked iteration after the loop. Rows past M and columns past N are clamped
to row / column 0 for the loads (every load stays in bounds, no masks in the loop) and masked at the store.
Epilogue in registers: ``+ bias``, GELU (``fusefuzz.kernels.gelu.gelu_erf``: polynomial ``log2 Phi`` and one exp2,
exact-grade), one masked store.

``BLOCK_K`` is a byte budget per row (``K_BYTES``) divided by the element size, so every config uses the same
shared memory for fp32 and 16-bit inputs (it never runs out of shared memory on one dtype only) and fp32
chunks stay >= 16 deep (triton 3.6 needs K >= 16 for an fp32 ``tl.dot``).

Compiled variants: M, N, K and the strides get Triton's default specialisation (value 1, multiple of 16: a
few variants, never one per value). They once were excluded from it (``do_not_specialize``, to save compiles
while fuzzing); on the H100 that cost 2.3x (4096^3 fp16 0.47 -> 0.20 ms, benchmarks/results/). Passed as
constexprs too: whether x / W are contiguous along K (``X_K1``, ``W_K1``) and
whether every row start of x, W and the output is 16-byte aligned (``ALIGN``, which lets loads and stores
vectorise: the row strides are multiplied back from ``stride // VEC`` so the compiler sees their divisibility).

Determinism: an output element's value depends only on its row of x, its column of W and the config (the K
chunk order is fixed, no split-K, no atomics), so results are bitwise reproducible and batch-invariant for a
given config.
"""

import torch
import torch.nn as nn
import triton
import triton.language as tl

from .gelu import gelu_erf

_PRECISIONS = ("tf32", "ieee")
_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# (BLOCK_M, BLOCK_N, K_BYTES, warps, stages): shared memory per stage (BM + BN) * K_BYTES, at most 147 KB in all.
_CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 256, "K_BYTES": 128, "GROUP_M": 8}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "K_BYTES": 128, "GROUP_M": 8}, num_warps=4, num_stages=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 128, "K_BYTES": 128, "GROUP_M": 8}, num_warps=4, num_stages=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "K_BYTES": 64, "GROUP_M": 8}, num_warps=4, num_stages=2),
]


def _block_k(args):
    return args["K_BYTES"] // args["x_ptr"].element_size()


@triton.autotune(configs=_CONFIGS, key=["M", "N", "K", "X_K1", "W_K1", "ALIGN", "PRECISION"])
@triton.heuristics({"BLOCK_K": _block_k})
@triton.jit  # sizes/strides specialised by Triton's default rules (==1, %16): H100, 4096^3 fp16 0.47 -> 0.20 ms
def linear_gelu_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    M, N, K,
    sxm, sxk, swn, swk, som,
    PRECISION: tl.constexpr, HAS_BIAS: tl.constexpr,
    X_K1: tl.constexpr, W_K1: tl.constexpr, ALIGN: tl.constexpr, VEC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, K_BYTES: tl.constexpr, GROUP_M: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # ---- tile of this program, grouped GROUP_M tiles high (L2 reuse of W columns)
    pid = tl.program_id(0)
    n_m = tl.cdiv(M, BLOCK_M)
    n_n = tl.cdiv(N, BLOCK_N)
    per_group = GROUP_M * n_n
    group = pid // per_group
    first_m = group * GROUP_M
    group_m = tl.minimum(n_m - first_m, GROUP_M)
    pid_m = first_m + (pid % per_group) % group_m
    pid_n = (pid % per_group) // group_m

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    rm = tl.where(offs_m < M, offs_m, 0)  # rows past M read row 0 (never stored)
    rn = tl.where(offs_n < N, offs_n, 0)

    if ALIGN:  # row strides are multiples of VEC elements: say so, so that loads and stores vectorise
        sxm = (sxm // VEC) * VEC
        swn = (swn // VEC) * VEC
        som = (som // VEC) * VEC
    if X_K1:
        a_ptrs = x_ptr + (rm.to(tl.int64)[:, None] * sxm + offs_k[None, :])
        a_step = BLOCK_K
    else:
        a_ptrs = x_ptr + (rm.to(tl.int64)[:, None] * sxm + offs_k.to(tl.int64)[None, :] * sxk)
        a_step = BLOCK_K * sxk
    if W_K1:
        b_ptrs = w_ptr + (rn.to(tl.int64)[None, :] * swn + offs_k[:, None])
        b_step = BLOCK_K
    else:
        b_ptrs = w_ptr + (rn.to(tl.int64)[None, :] * swn + offs_k.to(tl.int64)[:, None] * swk)
        b_step = BLOCK_K * swk

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    k_full = K // BLOCK_K
    for _ in range(0, k_full):
        a = tl.load(a_ptrs)
        b = tl.load(b_ptrs)
        acc = tl.dot(a, b, acc, input_precision=PRECISION)
        a_ptrs += a_step
        b_ptrs += b_step
    if k_full * BLOCK_K < K:  # the K tail: one masked chunk
        k_ok = offs_k < K - k_full * BLOCK_K
        a = tl.load(a_ptrs, mask=k_ok[None, :], other=0.0)
        b = tl.load(b_ptrs, mask=k_ok[:, None], other=0.0)
        acc = tl.dot(a, b, acc, input_precision=PRECISION)

    # ---- epilogue: bias, GELU, one store
    n_ok = offs_n < N
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_n, mask=n_ok, other=0.0).to(tl.float32)[None, :]
    y = gelu_erf(acc)
    out = out_ptr + (offs_m.to(tl.int64)[:, None] * som + offs_n[None, :])
    tl.store(out, y.to(out_ptr.dtype.element_ty), mask=(offs_m < M)[:, None] & n_ok[None, :])


def _interpreting():
    import os

    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _check(x, weight, bias, input_precision):
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor):
        raise TypeError(f"x and weight must be torch.Tensor; got x={type(x).__name__!r}, "
                        f"weight={type(weight).__name__!r}")
    if x.dim() < 1:
        raise ValueError(f"x must have at least 1 dimension [..., in_features]; got x.shape={tuple(x.shape)!r}")
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D [out_features, in_features]; got weight.shape={tuple(weight.shape)!r}")
    if weight.shape[1] != x.shape[-1]:
        raise ValueError(f"weight.shape={tuple(weight.shape)!r} does not match x in_features={x.shape[-1]!r}; "
                         f"weight must be [out_features, {x.shape[-1]}]")
    if bias is not None and (not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (weight.shape[0],)):
        got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else bias
        raise ValueError(f"bias must be None or a tensor of shape ({weight.shape[0]},); got bias={got!r}")
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None and t.dtype not in _DTYPES:
            raise ValueError(f"{name}.dtype={t.dtype!r} is not supported; use torch.float32, torch.float16 or "
                             "torch.bfloat16")
    if weight.dtype != x.dtype:
        raise ValueError(f"weight.dtype={weight.dtype!r} differs from x.dtype={x.dtype!r}; cast one of them "
                         "(tl.dot needs one operand dtype)")
    if input_precision not in _PRECISIONS:
        raise ValueError(f"input_precision={input_precision!r} is not supported; use one of {_PRECISIONS!r}")
    devices = {t.device for t in (x, weight, bias) if t is not None}
    if len(devices) != 1:
        raise ValueError(f"x, weight and bias must be on one device; got {sorted(map(str, devices))!r}")
    if x.device.type != "cuda" and not _interpreting():
        raise ValueError(f"x.device={x.device!r}: a CUDA tensor is required (or TRITON_INTERPRET=1 on a CPU)")


def _aligned(t, stride, vec):
    """Rows start on 16-byte boundaries: the base pointer and the row stride are multiples of 16 bytes."""
    return t.data_ptr() % 16 == 0 and stride % vec == 0


def linear_gelu(x, weight, bias, *, input_precision="tf32"):
    """gelu(x @ weight.T + bias) in one kernel; see the module docstring."""
    _check(x, weight, bias, input_precision)
    K = x.shape[-1]
    N = weight.shape[0]
    lead = tuple(x.shape[:-1])
    x2 = x.reshape(-1, K)  # a view when the leading dimensions allow it, else one copy
    M = x2.shape[0]
    out = torch.empty((M, N), device=x.device, dtype=x.dtype)
    if M == 0 or N == 0:
        return out.reshape(*lead, N)
    if K == 0:
        raise ValueError(f"in_features={K!r}: an empty dot product is not supported; use in_features >= 1")
    vec = 16 // x.element_size()
    sxm, sxk = x2.stride()
    swn, swk = weight.stride()
    align = (_aligned(x2, sxm, vec) and _aligned(weight, swn, vec) and _aligned(out, N, vec) and sxk == 1
             and swk == 1)
    grid = lambda meta: (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)
    linear_gelu_kernel[grid](
        x2, weight, bias if bias is not None else weight, out,
        M, N, K, sxm, sxk, swn, swk, out.stride(0),
        PRECISION=input_precision if x.dtype == torch.float32 else "ieee",
        HAS_BIAS=bias is not None, X_K1=sxk == 1, W_K1=swk == 1, ALIGN=align, VEC=vec,
    )
    return out.reshape(*lead, N)


class ModelNew(nn.Module):
    """Drop-in for the reference ``Model``: nn.Linear -> exact GELU, fused."""

    def __init__(self, in_features, out_features, *, input_precision="tf32"):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.input_precision = input_precision

    def forward(self, x):
        return linear_gelu(x, self.linear.weight, self.linear.bias, input_precision=self.input_precision)
