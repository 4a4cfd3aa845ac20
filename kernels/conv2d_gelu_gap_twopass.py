"""Conv2d + bias + exact GELU + global average pool in two Triton kernels (KernelBench L2 #67).

The structure of the seed prompt's kernel (an implicit-GEMM conv with a fused bias+GELU epilogue, then a
pooling kernel), written fresh with its defects fixed:

* exact erf GELU, so nothing overflows (the seed's tanh as (e^2u - 1)/(e^2u + 1) is inf/inf for |u| > 44);
* parameters live in ``self.conv`` like the reference's (KernelBench's reseeding works, and the harness
  copies them by name) instead of ``torch.randn`` draws;
* the activation is kept in fp32 whatever the input dtype (the seed rounded it to the input dtype);
* x and weight are read through their strides: any layout, no per-call weight transpose;
* 64-bit offsets for everything that scales with the batch;
* TF32 or IEEE dot chosen explicitly (``input_precision``), fp16/bf16 operands go to the dot as they are,
  accumulation is fp32.

It still writes and re-reads the whole activation (B x C_out x Ho x Wo fp32), which the fused kernel
(``conv2d_gelu_gap_fused``) exists to avoid. Deterministic: no atomics, fixed reduction order.
"""

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_K": 16}, num_warps=4, num_stages=2),
        triton.Config({"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=8, num_stages=3),
        triton.Config({"BLOCK_M": 32, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    ],
    key=["M", "N", "K", "IS_FP32"],
)
# Sizes and strides are not specialised on (divisibility by 16, == 1): a fuzz campaign draws hundreds of
# shapes and would otherwise compile a variant for most of them.
@triton.jit(do_not_specialize=["C_in", "KH", "KW", "H_out", "W_out", "M", "N", "K",
                               "sxb", "sxc", "sxh", "sxw", "swn", "swc", "swh", "sww"])
def conv_bias_gelu_kernel(
    x_ptr, w_ptr, b_ptr, act_ptr,
    C_in, KH, KW, H_out, W_out, M, N, K,
    sxb, sxc, sxh, sxw,
    swn, swc, swh, sww,
    IS_FP32: tl.constexpr, INPUT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # output pixel over the whole batch
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)  # output channel
    row_ok = rows < M
    col_ok = cols < N
    hw = H_out * W_out
    img = rows // hw
    pix = rows % hw
    oy = pix // W_out
    ox = pix % W_out
    x_row = img.to(tl.int64) * sxb + oy.to(tl.int64) * sxh + ox.to(tl.int64) * sxw
    w_col = cols.to(tl.int64) * swn

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    khw = KH * KW
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        k_ok = ks < K
        c = ks // khw
        r = ks % khw
        ky = r // KW
        kx = r % KW
        x_k = c.to(tl.int64) * sxc + ky.to(tl.int64) * sxh + kx.to(tl.int64) * sxw
        w_k = c.to(tl.int64) * swc + ky.to(tl.int64) * swh + kx.to(tl.int64) * sww
        a = tl.load(x_ptr + x_row[:, None] + x_k[None, :], mask=row_ok[:, None] & k_ok[None, :], other=0.0)
        b = tl.load(w_ptr + w_k[:, None] + w_col[None, :], mask=k_ok[:, None] & col_ok[None, :], other=0.0)
        if IS_FP32:
            acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION)
        else:
            acc = tl.dot(a, b, acc)

    bias = tl.load(b_ptr + cols, mask=col_ok, other=0.0).to(tl.float32)
    v = acc + bias[None, :]
    g = 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))

    # activation laid out [batch, C_out, Ho*Wo] in fp32, so the pooling kernel reads rows contiguously
    out_off = (img.to(tl.int64) * N * hw + pix.to(tl.int64))[:, None] + (cols.to(tl.int64) * hw)[None, :]
    tl.store(act_ptr + out_off, g, mask=row_ok[:, None] & col_ok[None, :])


@triton.autotune(
    configs=[
        triton.Config({"BLOCK": 256}, num_warps=4, num_stages=2),
        triton.Config({"BLOCK": 1024}, num_warps=8, num_stages=2),
    ],
    key=["HW"],
)
@triton.jit(do_not_specialize=["HW"])
def mean_rows_kernel(act_ptr, out_ptr, HW, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    base = act_ptr + row * HW
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, HW, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        acc += tl.load(base + offs, mask=offs < HW, other=0.0)
    total = tl.sum(acc, axis=0)
    tl.store(out_ptr + row, (total / HW).to(out_ptr.dtype.element_ty))


_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def conv2d_gelu_gap(x, weight, bias, *, input_precision="tf32"):
    """mean over (Ho, Wo) of GELU(conv2d(x, weight) + bias): [B, C_in, H, W] -> [B, C_out]."""
    if x.dim() != 4:
        raise ValueError(f"x.shape={tuple(x.shape)!r}: expected [batch, in_channels, height, width]")
    if weight.dim() != 4 or bias.dim() != 1 or bias.shape[0] != weight.shape[0]:
        raise ValueError(f"weight.shape={tuple(weight.shape)!r}, bias.shape={tuple(bias.shape)!r}: "
                         "expected [C_out, C_in, kh, kw] and [C_out]")
    B, C_in, H, W = x.shape
    C_out, C_w, KH, KW = weight.shape
    if C_w != C_in:
        raise ValueError(f"x has in_channels={C_in!r} but weight expects {C_w!r}")
    if H < KH or W < KW:
        raise ValueError(f"input {H}x{W} is smaller than the kernel {KH}x{KW}; make height >= kh and width >= kw")
    if x.dtype not in _DTYPES or weight.dtype != x.dtype:
        raise ValueError(f"x.dtype={x.dtype!r}, weight.dtype={weight.dtype!r}: need one of fp32/fp16/bf16, equal")
    if input_precision not in ("tf32", "ieee", "tf32x3"):
        raise ValueError(f"input_precision={input_precision!r}: use 'tf32', 'tf32x3' or 'ieee'")
    H_out, W_out = H - KH + 1, W - KW + 1
    M, N, K = B * H_out * W_out, C_out, C_in * KH * KW
    out = torch.empty((B, C_out), device=x.device, dtype=x.dtype)
    if B == 0 or C_out == 0:
        return out
    act = torch.empty((B, C_out, H_out * W_out), device=x.device, dtype=torch.float32)
    grid = lambda meta: (triton.cdiv(M, meta["BLOCK_M"]), triton.cdiv(N, meta["BLOCK_N"]))
    conv_bias_gelu_kernel[grid](
        x, weight, bias, act,
        C_in, KH, KW, H_out, W_out, M, N, K,
        *x.stride(), *weight.stride(),
        IS_FP32=x.dtype == torch.float32, INPUT_PRECISION=input_precision,
    )
    mean_rows_kernel[(B * C_out,)](act, out, H_out * W_out)
    return out


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, *, input_precision="tf32"):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.input_precision = input_precision

    def forward(self, x):
        return conv2d_gelu_gap(x, self.conv.weight, self.conv.bias, input_precision=self.input_precision)
