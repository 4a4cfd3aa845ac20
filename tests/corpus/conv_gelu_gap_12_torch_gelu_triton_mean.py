# fusefuzz-corpus: cuDNN conv and F.gelu in PyTorch, only the global mean in Triton (row-per-program reduction); correct
# problem: conv2d_gelu_gap
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion
import torch
import torch.nn as nn
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def row_mean_kernel(x_ptr, y_ptr, n_cols, x_row_stride, BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    row_start = x_ptr + row * x_row_stride
    total = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for col in range(0, n_cols, BLOCK_SIZE):
        cols = col + tl.arange(0, BLOCK_SIZE)
        vals = tl.load(row_start + cols, mask=cols < n_cols, other=0.0)
        total += vals.to(tl.float32)
    mean = tl.sum(total, axis=0) / n_cols
    tl.store(y_ptr + row, mean)


def triton_row_mean(x2d: torch.Tensor) -> torch.Tensor:
    assert x2d.is_contiguous()
    n_rows, n_cols = x2d.shape
    y = torch.empty(n_rows, device=x2d.device, dtype=x2d.dtype)
    BLOCK_SIZE = min(2048, triton.next_power_of_2(n_cols))
    row_mean_kernel[(n_rows,)](x2d, y, n_cols, x2d.stride(0), BLOCK_SIZE=BLOCK_SIZE)
    return y


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = F.gelu(x)
        b, c, h, w = x.shape
        x = x.reshape(b * c, h * w).contiguous()
        return triton_row_mean(x).view(b, c)
