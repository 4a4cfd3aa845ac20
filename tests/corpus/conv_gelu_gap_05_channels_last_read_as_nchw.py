# fusefuzz-corpus: cuDNN conv + GELU/mean reading the conv output as NCHW; channels_last in gives channels_last out
# problem: conv2d_gelu_gap
# expect-exit: 1
# expect-failures: mismatch
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def gelu_reduce_mean(
    conv_ptr,
    out_ptr,
    HW: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # program (b, c) reads the contiguous H*W plane starting at (b * C + c) * HW
    bc = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), tl.float32)
    for i in range(0, HW, BLOCK):
        idx = i + offs
        msk = idx < HW
        val = tl.load(conv_ptr + bc * HW + idx, mask=msk, other=0.0).to(tl.float32)
        acc += 0.5 * val * (1.0 + tl.erf(val * 0.70710678118654752440))
    res = tl.sum(acc, axis=0) / HW
    tl.store(out_ptr + bc, res.to(out_ptr.dtype.element_ty))


class ModelNew(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # conv2d output is a fresh tensor, so it is already contiguous: no copy needed
        conv_out = self.conv(x)
        b, c, h, w = conv_out.shape
        out = torch.empty(b, c, device=x.device, dtype=x.dtype)
        BLOCK = 128 if h * w >= 128 else triton.next_power_of_2(h * w)
        gelu_reduce_mean[(b * c,)](conv_out, out, HW=h * w, BLOCK=BLOCK)
        return out
