# fusefuzz-zoo: small batches split the pixel sum over more programs: rounding depends on the batch size
# expect: batch_variance
# precision: ieee
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"
# It claims bitwise reproducibility, which a batch-size-dependent reduction order breaks.
FUSEFUZZ_DETERMINISTIC = True


@triton.jit
def _conv_gelu_partial(x_ptr, w_ptr, b_ptr, part_ptr, OC, OH, OW, K, SPLIT, TILES_PER_SPLIT,
                       sxb, sxc, sxh, sxw, swo, swc, swh, sww,
                       KS: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_s = tl.program_id(0), tl.program_id(1)  # one program per (image, slice of pixel tiles)
    offs_n = tl.arange(0, BLOCK_N)
    mask_n = offs_n < OC
    bias = tl.load(b_ptr + offs_n, mask=mask_n, other=0.0).to(tl.float32)
    P = OH * OW
    part = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for t in range(pid_s * TILES_PER_SPLIT, (pid_s + 1) * TILES_PER_SPLIT):
        offs_p = t * BLOCK_P + tl.arange(0, BLOCK_P)
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
        part += tl.sum(tl.where(mask_p[:, None], g, 0.0), axis=0)
    tl.store(part_ptr + (pid_b * SPLIT + pid_s) * BLOCK_N + offs_n, part)


@triton.jit
def _sum_partials(part_ptr, out_ptr, OC, P, SPLIT, sob, soc, S_PAD: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_b = tl.program_id(0)
    offs_s = tl.arange(0, S_PAD)
    offs_n = tl.arange(0, BLOCK_N)
    parts = tl.load(part_ptr + (pid_b * SPLIT + offs_s[:, None]) * BLOCK_N + offs_n[None, :],
                    mask=offs_s[:, None] < SPLIT, other=0.0)
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
        split = max(1, min(tiles, 16 // B))  # small batch: split the pixels to keep the GPU busy
        per_split = triton.cdiv(tiles, split)
        split = triton.cdiv(tiles, per_split)
        part = torch.empty((B, split, BLOCK_N), device=x.device, dtype=torch.float32)
        _conv_gelu_partial[(B, split)](x, w, b, part, OC, OH, OW, C * KS * KS, split, per_split,
                                       *x.stride(), *w.stride(),
                                       KS=KS, BLOCK_P=BLOCK_P, BLOCK_N=BLOCK_N, BLOCK_K=32)
        out = torch.empty((B, OC), device=x.device, dtype=x.dtype)
        _sum_partials[(B,)](part, out, OC, OH * OW, split, *out.stride(),
                            S_PAD=triton.next_power_of_2(split), BLOCK_N=BLOCK_N)
        return out
