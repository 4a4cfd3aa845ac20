# fusefuzz-zoo: square inputs only: output width computed from H (OW = H - k + 1)
# expect: mismatch|nan
# (either backend: a non-square input averages the wrong pixels, and when W < H reads past the image:
#  NaN where that memory holds the harness's poison, finite garbage elsewhere - which one varies run to run)
# precision: ieee
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _conv_gelu_mean(x_ptr, w_ptr, b_ptr, out_ptr, OC, OH, OW, K,
                    sxb, sxc, sxh, sxw, swo, swc, swh, sww, sob, soc,
                    KS: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b = tl.program_id(0)
    offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_n = offs_n < OC
    bias = tl.load(b_ptr + offs_n, mask=mask_n, other=0.0).to(tl.float32)
    P = OH * OW
    pooled = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for p0 in range(0, P, BLOCK_P):
        offs_p = p0 + tl.arange(0, BLOCK_P)
        mask_p = offs_p < P
        oh = offs_p // OW
        ow = offs_p % OW
        acc = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            offs_k = k0 + tl.arange(0, BLOCK_K)
            mask_k = offs_k < K
            c = offs_k // (KS * KS)
            kh = (offs_k // KS) % KS
            kw = offs_k % KS
            a = tl.load(x_ptr + pid_b * sxb + c[None, :] * sxc + (oh[:, None] + kh[None, :]) * sxh
                        + (ow[:, None] + kw[None, :]) * sxw,
                        mask=mask_p[:, None] & mask_k[None, :], other=0.0).to(tl.float32)
            w = tl.load(w_ptr + offs_n[None, :] * swo + c[:, None] * swc
                        + kh[:, None] * swh + kw[:, None] * sww,
                        mask=mask_k[:, None] & mask_n[None, :], other=0.0).to(tl.float32)
            acc += tl.dot(a, w, input_precision="ieee")
        v = acc + bias[None, :]
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
        OH = OW = H - KS + 1  # square images
        out = torch.empty((B, OC), device=x.device, dtype=x.dtype)
        grid = (B, triton.cdiv(OC, 32))
        _conv_gelu_mean[grid](x, w, b, out, OC, OH, OW, C * KS * KS,
                              *x.stride(), *w.stride(), *out.stride(),
                              KS=KS, BLOCK_P=64, BLOCK_N=32, BLOCK_K=32)
        return out
