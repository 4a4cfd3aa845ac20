# fusefuzz-corpus: cuDNN conv + tanh-form GELU built on (e^2u-1)/(e^2u+1): not erf (mismatch), NaN past x ~ 10.06
# problem: conv2d_gelu_gap
# expect-exit: 1
# expect-failures: mismatch, nan
# expect-notes: none
import math

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _tanh(x):
    e2x = tl.exp(2.0 * x)
    return (e2x - 1.0) / (e2x + 1.0)


@triton.jit
def conv_out_gelu_gap_kernel(
    x_ptr, out_ptr,
    n_elements_per_channel,
    BLOCK_SIZE: tl.constexpr,
    SQRT_2_OVER_PI: tl.constexpr,
):
    pid = tl.program_id(axis=0)  # index into (batch * channels)
    start_ptr = x_ptr + pid * n_elements_per_channel

    running_sum = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for block_start in range(0, n_elements_per_channel, BLOCK_SIZE):
        offsets = block_start + tl.arange(0, BLOCK_SIZE)
        mask = offsets < n_elements_per_channel
        x = tl.load(start_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
        inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        gelu = 0.5 * x * (1.0 + _tanh(inner))
        running_sum += gelu  # masked lanes are 0 and gelu(0) == 0

    avg = tl.sum(running_sum) / n_elements_per_channel
    tl.store(out_ptr + pid, avg)


class ModelNew(nn.Module):
    """Optimized: cuDNN convolution followed by a fused Triton GELU + global average pooling."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = x.contiguous()
        B, C, H, W = x.shape
        out = torch.empty((B, C), dtype=x.dtype, device=x.device)
        n = H * W
        BLOCK_SIZE = triton.next_power_of_2(min(n, 1024))
        conv_out_gelu_gap_kernel[(B * C,)](
            x, out, n, BLOCK_SIZE=BLOCK_SIZE, SQRT_2_OVER_PI=math.sqrt(2.0 / math.pi)
        )
        return out
