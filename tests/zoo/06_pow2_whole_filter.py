# fusefuzz-zoo: power-of-two sizes only: loads the whole C*k*k filter with tl.arange(0, K), K constexpr
# expect: exception
# precision: ieee
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _conv_gelu_mean(x_ptr, w_ptr, b_ptr, out_ptr, OC, OH, OW,
                    sxb, sxc, sxh, sxw, swo, swc, swh, sww, sob, soc,
                    K: tl.constexpr, KS: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_b = tl.program_id(0)
    offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_n = offs_n < OC
    # the whole filter fits in registers: load it once
    offs_k = tl.arange(0, K)
    c = offs_k // (KS * KS)
    kh = (offs_k // KS) % KS
    kw = offs_k % KS
    w = tl.load(w_ptr + offs_n[None, :] * swo + c[:, None] * swc + kh[:, None] * swh + kw[:, None] * sww,
                mask=mask_n[None, :], other=0.0).to(tl.float32)
    bias = tl.load(b_ptr + offs_n, mask=mask_n, other=0.0).to(tl.float32)
    P = OH * OW
    pooled = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for p0 in range(0, P, BLOCK_P):
        offs_p = p0 + tl.arange(0, BLOCK_P)
        mask_p = offs_p < P
        oh = offs_p // OW
        ow = offs_p % OW
        a = tl.load(x_ptr + pid_b * sxb + c[None, :] * sxc + (oh[:, None] + kh[None, :]) * sxh
                    + (ow[:, None] + kw[None, :]) * sxw, mask=mask_p[:, None], other=0.0).to(tl.float32)
        v = tl.dot(a, w, input_precision="ieee") + bias[None, :]
        g = 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))
        pooled += tl.sum(tl.where(mask_p[:, None], g, 0.0), axis=0)
    tl.store(out_ptr + pid_b * sob + offs_n * soc, (pooled / P).to(out_ptr.dtype.element_ty), mask=mask_n)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        B, C, H, W = x.shape
        w, b = self.conv.weight, self.conv.bias
        OC, _, KS, _ = w.shape
        OH, OW = H - KS + 1, W - KS + 1
        out = torch.empty((B, OC), device=x.device, dtype=x.dtype)
        grid = (B, triton.cdiv(OC, 16))
        _conv_gelu_mean[grid](x, w, b, out, OC, OH, OW, *x.stride(), *w.stride(), *out.stride(),
                              K=C * KS * KS, KS=KS, BLOCK_P=16, BLOCK_N=16)
        return out
