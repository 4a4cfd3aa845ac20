# Autotuned candidate whose second config is wrong: EVEN_P=True skips the pixel mask, assuming the
# number of output pixels is a multiple of BLOCK_P (an "even sizes" fast path picked by the tuner).
# The first config is correct, so only a config sweep finds the bug.
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_P": 64, "EVEN_P": False}, num_warps=4, num_stages=2),
        triton.Config({"BLOCK_P": 16, "EVEN_P": True}, num_warps=4, num_stages=2),
    ],
    key=["C_in", "KS", "H_out", "W_out"],
)
@triton.jit
def conv_gelu_mean(x_ptr, w_ptr, b_ptr, out_ptr, C_in, KS, C_out, H_out, W_out,
                   sxb, sxc, sxh, sxw, BLOCK_P: tl.constexpr, EVEN_P: tl.constexpr):
    b = tl.program_id(0)
    n = tl.program_id(1)
    P = H_out * W_out
    K = C_in * KS * KS
    total = tl.zeros((BLOCK_P,), dtype=tl.float32)
    for p0 in range(0, P, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        if EVEN_P:
            p_ok = p >= 0
        else:
            p_ok = p < P
        pc = tl.minimum(p, P - 1)  # clamped addresses: the bug is in the mask, not a wild read
        oy = pc // W_out
        ox = pc % W_out
        acc = tl.zeros((BLOCK_P,), dtype=tl.float32)
        for k0 in range(0, K, 128):
            k = k0 + tl.arange(0, 128)
            k_ok = k < K
            c = k // (KS * KS)
            ky = (k // KS) % KS
            kx = k % KS
            offs = b * sxb + c[None, :] * sxc + (oy[:, None] + ky[None, :]) * sxh + (ox[:, None] + kx[None, :]) * sxw
            xv = tl.load(x_ptr + offs, mask=k_ok[None, :], other=0.0).to(tl.float32)
            wv = tl.load(w_ptr + n * K + k, mask=k_ok, other=0.0).to(tl.float32)
            acc += tl.sum(xv * wv[None, :], axis=1)
        v = acc + tl.load(b_ptr + n).to(tl.float32)
        g = 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))
        total += tl.where(p_ok, g, 0.0)
    tl.store(out_ptr + b * C_out + n, (tl.sum(total, axis=0) / P).to(out_ptr.dtype.element_ty))


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        w = self.conv.weight.contiguous()
        B, C_in, H, W = x.shape
        C_out, _, KS, _ = w.shape
        out = torch.empty((B, C_out), device=x.device, dtype=x.dtype)
        conv_gelu_mean[(B, C_out)](x, w, self.conv.bias, out, C_in, KS, C_out, H - KS + 1, W - KS + 1,
                                   *x.stride())
        return out
