# fusefuzz-zoo: tile partials in torch.empty scratch padded to a power of two; the sum reads the unwritten pad
# expect: nondeterministic
# precision: ieee
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _conv_gelu_partial(x_ptr, w_ptr, b_ptr, part_ptr, OC, OH, OW, K, T_PAD,
                       sxb, sxc, sxh, sxw, swo, swc, swh, sww,
                       KS: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_t = tl.program_id(0), tl.program_id(1)  # one program per (image, pixel tile)
    offs_n = tl.arange(0, BLOCK_N)
    mask_n = offs_n < OC
    offs_p = pid_t * BLOCK_P + tl.arange(0, BLOCK_P)
    mask_p = offs_p < OH * OW
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
    v = acc + tl.load(b_ptr + offs_n, mask=mask_n, other=0.0).to(tl.float32)[None, :]
    g = 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))
    part = tl.sum(tl.where(mask_p[:, None], g, 0.0), axis=0)
    tl.store(part_ptr + (pid_b * T_PAD + pid_t) * BLOCK_N + offs_n, part)


@triton.jit
def _sum_partials(part_ptr, out_ptr, OC, P, sob, soc, T_PAD: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_b = tl.program_id(0)
    offs_t = tl.arange(0, T_PAD)
    offs_n = tl.arange(0, BLOCK_N)
    parts = tl.load(part_ptr + (pid_b * T_PAD + offs_t[:, None]) * BLOCK_N + offs_n[None, :])
    tl.store(out_ptr + pid_b * sob + offs_n * soc, (tl.sum(parts, axis=0) / P).to(out_ptr.dtype.element_ty),
             mask=offs_n < OC)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        B, C, H, W = x.shape
        w, b = self.conv.weight, self.conv.bias
        OC, _, KS, _ = w.shape
        OH, OW = H - KS + 1, W - KS + 1
        BLOCK_P, BLOCK_N = 16, max(16, triton.next_power_of_2(OC))
        tiles = triton.cdiv(OH * OW, BLOCK_P)
        t_pad = triton.next_power_of_2(tiles)  # tl.arange needs a power of two
        part = torch.empty((B, t_pad, BLOCK_N), device=x.device, dtype=torch.float32)
        _conv_gelu_partial[(B, tiles)](x, w, b, part, OC, OH, OW, C * KS * KS, t_pad,
                                       *x.stride(), *w.stride(),
                                       KS=KS, BLOCK_P=BLOCK_P, BLOCK_N=BLOCK_N, BLOCK_K=32)
        out = torch.empty((B, OC), device=x.device, dtype=x.dtype)
        _sum_partials[(B,)](part, out, OC, OH * OW, *out.stride(), T_PAD=t_pad, BLOCK_N=BLOCK_N)
        return out
