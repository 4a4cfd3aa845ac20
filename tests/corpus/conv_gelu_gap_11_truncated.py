# fusefuzz-corpus: an answer cut off mid-forward (the output hit its length limit): a syntax error, nothing to run
# problem: conv2d_gelu_gap
# expect-exit: 2
# expect-failures: none
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def fused_gelu_gap_kernel(x_ptr, out_ptr, HW, BLOCK_SIZE: tl.constexpr):
    """Each program handles one (batch, channel) pair."""
    pid = tl.program_id(0)
    acc = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for start in range(0, HW, BLOCK_SIZE):
        offs = start + tl.arange(0, BLOCK_SIZE)
        mask = offs < HW
        x = tl.load(x_ptr + pid * HW + offs, mask=mask, other=0.0)
        acc += 0.5 * x * (1.0 + tl.erf(x * 0.7071067811865476))
    tl.store(out_ptr + pid, tl.sum(acc, axis=0) / HW)


class ModelNew(nn.Module):
    """
    Optimized model: the convolution uses cuDNN, while GELU and global average pooling
    are fused into a single Triton kernel to avoid materializing the activation.
    """

    def __init__(self, in_channels, out_channels, kernel_size):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x).contiguous()
        batch, channels, height, width = x.shape
        out = torch.empty((batch, channels), device=x.device, dtype=x.dtype)
        HW = height * width
        BLOCK_SIZE = min(triton.next_power_of_2(HW), 1024)
        fused_gelu_gap_kernel[(batch * channels,)](
            x, out, HW,
            BLOCK_SIZE=BLOCK_SIZE
