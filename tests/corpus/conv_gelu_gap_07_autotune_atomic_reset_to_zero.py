# fusefuzz-corpus: split-HW atomic GELU/mean under @triton.autotune with reset_to_zero=["out_ptr"]; correct
# problem: conv2d_gelu_gap
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_HW": 64}, num_warps=2),
        triton.Config({"BLOCK_HW": 128}, num_warps=4),
        triton.Config({"BLOCK_HW": 256}, num_warps=4),
        triton.Config({"BLOCK_HW": 512}, num_warps=8),
    ],
    key=["HW"],
    reset_to_zero=["out_ptr"],  # the autotuner benchmarks on the real buffer
)
@triton.jit
def gelu_pool_partial_kernel(
    x_ptr,
    out_ptr,  # float32 accumulator, zero-initialised by the caller
    HW,
    inv_hw,
    BLOCK_HW: tl.constexpr,
):
    # grid = (N * C, cdiv(HW, BLOCK_HW)): each program reduces one block of one plane
    plane = tl.program_id(0)
    blk = tl.program_id(1)
    offs = blk * BLOCK_HW + tl.arange(0, BLOCK_HW)
    mask = offs < HW
    v = tl.load(x_ptr + plane * HW + offs, mask=mask, other=0.0).to(tl.float32)
    g = 0.5 * v * (1.0 + tl.erf(v * 0.7071067811865476))
    partial = tl.sum(tl.where(mask, g, 0.0), axis=0) * inv_hw
    tl.atomic_add(out_ptr + plane, partial)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x).contiguous()
        N, C, H, W = x.shape
        HW = H * W
        out = torch.zeros((N, C), device=x.device, dtype=torch.float32)
        grid = lambda meta: (N * C, triton.cdiv(HW, meta["BLOCK_HW"]))
        gelu_pool_partial_kernel[grid](x, out, HW, 1.0 / HW)
        return out.to(x.dtype)
