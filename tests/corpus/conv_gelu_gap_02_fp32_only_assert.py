# fusefuzz-corpus: cuDNN conv + Triton GELU/mean over a (channel block x pixel block) tile, asserts float32 input
# problem: conv2d_gelu_gap
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion, out_of_scope
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _gelu_mean_kernel(
    inp_ptr,
    out_ptr,
    C,
    H,
    W,
    stride_n,
    stride_c,
    stride_h,
    stride_w,
    BLOCK_C: tl.constexpr,
    BLOCK_HW: tl.constexpr,
):
    n = tl.program_id(0)
    cb = tl.program_id(1)
    c_offs = cb * BLOCK_C + tl.arange(0, BLOCK_C)
    c_mask = c_offs < C
    HW = H * W

    total = tl.zeros((BLOCK_C,), dtype=tl.float32)
    for hw0 in range(0, HW, BLOCK_HW):
        hw = hw0 + tl.arange(0, BLOCK_HW)
        hw_mask = hw < HW
        h = hw // W
        w = hw % W
        ptrs = inp_ptr + n * stride_n + c_offs[:, None] * stride_c + h[None, :] * stride_h + w[None, :] * stride_w
        m = c_mask[:, None] & hw_mask[None, :]
        v = tl.load(ptrs, mask=m, other=0.0)
        # tl.erf only takes fp32/fp64
        g = v * 0.5 * (1.0 + tl.erf(v / 1.4142135623730951))
        g = tl.where(m, g, 0.0)
        total += tl.sum(g, axis=1)

    tl.store(out_ptr + n * C + c_offs, total / HW, mask=c_mask)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        y = self.conv(x)
        assert y.dtype == torch.float32, "only float32 is supported"
        N, C, H, W = y.shape
        out = torch.empty((N, C), device=y.device, dtype=torch.float32)
        BLOCK_C = 16
        BLOCK_HW = 128
        grid = (N, triton.cdiv(C, BLOCK_C))
        _gelu_mean_kernel[grid](
            y, out, C, H, W,
            y.stride(0), y.stride(1), y.stride(2), y.stride(3),
            BLOCK_C=BLOCK_C, BLOCK_HW=BLOCK_HW,
        )
        return out
