# fusefuzz-corpus: cuDNN conv + Triton mean of the tanh-form GELU (tanh via 2*sigmoid(2u)-1): not the erf GELU
# problem: conv2d_gelu_gap
# expect-exit: 1
# expect-failures: mismatch
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl

SQRT_2_OVER_PI = tl.constexpr(0.7978845608028654)
GELU_COEF = tl.constexpr(0.044715)


@triton.jit
def gelu_tanh(x):
    # GELU(x) ~= 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    # tl.tanh is not available in this Triton version, so use tanh(u) = 2 * sigmoid(2u) - 1
    u = SQRT_2_OVER_PI * (x + GELU_COEF * x * x * x)
    t = 2.0 * tl.sigmoid(2.0 * u) - 1.0
    return 0.5 * x * (1.0 + t)


@triton.jit
def fused_gelu_avgpool_kernel(x_ptr, y_ptr, spatial, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    x_row = x_ptr + row * spatial
    acc = 0.0
    for off in range(0, spatial, BLOCK):
        idx = off + tl.arange(0, BLOCK)
        mask = idx < spatial
        v = tl.load(x_row + idx, mask=mask, other=0.0).to(tl.float32)
        acc += tl.sum(tl.where(mask, gelu_tanh(v), 0.0), axis=0)
    tl.store(y_ptr + row, acc / spatial)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x).contiguous()
        batch, channels, h, w = x.shape
        spatial = h * w
        y = torch.empty(batch * channels, device=x.device, dtype=x.dtype)
        BLOCK = 256
        fused_gelu_avgpool_kernel[(batch * channels,)](x, y, spatial, BLOCK=BLOCK)
        return y.view(batch, channels)
