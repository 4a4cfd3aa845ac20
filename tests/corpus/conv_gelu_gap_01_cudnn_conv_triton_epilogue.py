# fusefuzz-corpus: nn.Conv2d (cuDNN) kept, exact erf-GELU + global mean fused in one Triton kernel; correct
# problem: conv2d_gelu_gap
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def gelu_global_avg_pool_kernel(
    x_ptr,  # conv output, (N, C, H, W) contiguous
    out_ptr,  # (N, C)
    HW,  # H * W
    inv_hw,  # 1 / (H * W)
    BLOCK_SIZE: tl.constexpr,
):
    # One program per (batch, channel) plane: apply GELU to every pixel, then average.
    pid = tl.program_id(0)
    plane_ptr = x_ptr + pid.to(tl.int64) * HW

    acc = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for start in range(0, HW, BLOCK_SIZE):
        offsets = start + tl.arange(0, BLOCK_SIZE)
        mask = offsets < HW
        x = tl.load(plane_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
        # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
        gelu = 0.5 * x * (1.0 + tl.erf(x * 0.7071067811865476))
        acc += tl.where(mask, gelu, 0.0)

    mean = tl.sum(acc, axis=0) * inv_hw
    tl.store(out_ptr + pid, mean)


def gelu_global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """GELU followed by adaptive_avg_pool2d(., 1), squeezed to (N, C)."""
    assert x.dim() == 4, "expected an NCHW tensor"
    x = x.contiguous()
    N, C, H, W = x.shape
    out = torch.empty((N, C), device=x.device, dtype=x.dtype)
    HW = H * W
    BLOCK_SIZE = min(1024, triton.next_power_of_2(HW))
    grid = (N * C,)
    gelu_global_avg_pool_kernel[grid](x, out, HW, 1.0 / HW, BLOCK_SIZE=BLOCK_SIZE)
    return out


class ModelNew(nn.Module):
    """
    Conv2d -> GELU -> global average pooling.
    The convolution stays in cuDNN (hard to beat); GELU and the pooling are fused so the
    activation map is read once and never written back.
    """

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        return gelu_global_avg_pool(x)


batch_size = 128
in_channels = 3
out_channels = 16
height, width = 32, 32
kernel_size = 3


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size]
