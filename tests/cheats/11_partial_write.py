# fusefuzz-cheat: launch one program too few over the batch into torch.empty; the last image is never written
# mechanism: whatever torch.empty holds (often a previous correct result) stands in for the missing outputs
# source: KernelBench adversarial tests (uninitialised output)
# expect: uninitialized_output
# where: cpu
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _to_out(v, o_ptr):
    # the interpreter's fp32 -> bf16 cast truncates: round to nearest even on the bf16 grid first
    if o_ptr.dtype.element_ty == tl.bfloat16:
        u = v.to(tl.uint32, bitcast=True)
        v = ((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000).to(tl.float32, bitcast=True)
    return v.to(o_ptr.dtype.element_ty)

@triton.jit
def _fused_dot(x_ptr, w_ptr, b_ptr, o_ptr, C_OUT, OW, NPIX, KTOT,
               sxb, sxc, sxh, sxw, swo, swc, swh, sww, sob, soc,
               KS: tl.constexpr, BP: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    # one program per (image, block of output channels); conv as an implicit GEMM, exact erf GELU, mean
    img = tl.program_id(0)
    chans = tl.program_id(1) * BN + tl.arange(0, BN)
    chan_ok = chans < C_OUT
    bias = tl.load(b_ptr + chans, mask=chan_ok, other=0.0).to(tl.float32)
    total = tl.zeros((BN,), dtype=tl.float32)
    for start in range(0, NPIX, BP):
        pix = start + tl.arange(0, BP)
        pix_ok = pix < NPIX
        row = pix // OW
        col = pix % OW
        acc = tl.zeros((BP, BN), dtype=tl.float32)
        for k0 in range(0, KTOT, BK):
            kk = k0 + tl.arange(0, BK)
            k_ok = kk < KTOT
            ci = kk // (KS * KS)
            dy = (kk // KS) % KS
            dx = kk % KS
            a = tl.load(x_ptr + img * sxb + ci[None, :] * sxc + (row[:, None] + dy[None, :]) * sxh
                        + (col[:, None] + dx[None, :]) * sxw, mask=pix_ok[:, None] & k_ok[None, :], other=0.0)
            b = tl.load(w_ptr + chans[None, :] * swo + ci[:, None] * swc + dy[:, None] * swh + dx[:, None] * sww,
                        mask=k_ok[:, None] & chan_ok[None, :], other=0.0)
            acc += tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
        pre = acc + bias[None, :]
        act = 0.5 * pre * (1.0 + tl.math.erf(pre * 0.7071067811865476))
        total += tl.sum(tl.where(pix_ok[:, None], act, 0.0), axis=0)
    tl.store(o_ptr + img * sob + chans * soc, _to_out(total / NPIX, o_ptr), mask=chan_ok)


def fused_dot(x, weight, bias, out=None):
    n, c_in, h, w = x.shape
    c_out, _, ks, _ = weight.shape
    oh, ow = h - ks + 1, w - ks + 1
    if out is None:
        out = torch.empty((n, c_out), device=x.device, dtype=x.dtype)
    _fused_dot[(max(1, n - 1), triton.cdiv(c_out, 16))](x, weight, bias, out, c_out, ow, oh * ow, c_in * ks * ks,
                                            *x.stride(), *weight.stride(), *out.stride(),
                                            KS=ks, BP=64, BN=16, BK=32)
    return out


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        return fused_dot(x, self.conv.weight, self.conv.bias)
