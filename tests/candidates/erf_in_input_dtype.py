# direct_exact.py with its GELU computed in the input's dtype: tl.erf accepts only fp32/fp64, so at fp16 Triton
# refuses the kernel ("Expected dtype ['fp32', 'fp64'] but got fp16": a CompilationError on a GPU, an
# InterpreterError in the interpreter), a pattern common in LLM-written kernels. Correct at fp32.
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _conv_gelu_mean(x_ptr, w_ptr, b_ptr, out_ptr, C_in, KS, C_out, H_out, W_out,
                    sxb, sxc, sxh, sxw, BLOCK_P: tl.constexpr, BLOCK_K: tl.constexpr):
    b = tl.program_id(0)
    n = tl.program_id(1)
    P = H_out * W_out
    K = C_in * KS * KS
    total = tl.zeros((BLOCK_P,), dtype=tl.float32)
    for p0 in range(0, P, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        p_ok = p < P
        oy = p // W_out
        ox = p % W_out
        acc = tl.zeros((BLOCK_P,), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            k = k0 + tl.arange(0, BLOCK_K)
            k_ok = k < K
            c = k // (KS * KS)
            ky = (k // KS) % KS
            kx = k % KS
            offs = b * sxb + c[None, :] * sxc + (oy[:, None] + ky[None, :]) * sxh + (ox[:, None] + kx[None, :]) * sxw
            xv = tl.load(x_ptr + offs, mask=p_ok[:, None] & k_ok[None, :], other=0.0).to(tl.float32)
            wv = tl.load(w_ptr + n * K + k, mask=k_ok, other=0.0).to(tl.float32)
            acc += tl.sum(xv * wv[None, :], axis=1)
        v = (acc + tl.load(b_ptr + n).to(tl.float32)).to(x_ptr.dtype.element_ty)
        g = (0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))).to(tl.float32)
        total += tl.where(p_ok, g, 0.0)
    mean = tl.sum(total, axis=0) / P
    tl.store(out_ptr + b * C_out + n, mean.to(out_ptr.dtype.element_ty))


FUSEFUZZ_DTYPES = ("float32", "float16", "bfloat16")  # claims every dtype: a refusal at fp16 is a failure


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        w = self.conv.weight.contiguous()
        B, C_in, H, W = x.shape
        C_out, _, KS, _ = w.shape
        out = torch.empty((B, C_out), device=x.device, dtype=x.dtype)
        _conv_gelu_mean[(B, C_out)](x, w, self.conv.bias, out, C_in, KS, C_out, H - KS + 1, W - KS + 1,
                                    *x.stride(), BLOCK_P=64, BLOCK_K=128)
        return out
