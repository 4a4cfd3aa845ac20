"""A control for the default policy: KernelBench L2 #67 computed by PyTorch eager at the input dtype.

conv -> F.gelu -> mean as three PyTorch ops, each returning a tensor of the input dtype (at fp16/bf16 every
intermediate is rounded to 16 bits: what PyTorch itself and every unfused candidate do), then the result is
copied through a small Triton kernel. It declares the PyTorch ops it calls, so the fallback check lets it
through: the numbers are PyTorch's own, and the default policy must not call them wrong at any dtype.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import triton
import triton.language as tl

# PyTorch's default flags: on a GPU cuDNN runs an fp32 convolution in TF32 (torch.backends.cudnn.allow_tf32 is
# True by default), rounding operands to nearest (seen on an H200: errors fit tf32-rn, 230x the ieee bound)
FUSEFUZZ_PRECISION = "tf32-rn"
FUSEFUZZ_ALLOWED_OPS = ("convolution", "_convolution", "conv2d", "cudnn_convolution", "mkldnn_convolution",
                        "_slow_conv2d_forward", "thnn_conv2d", "gelu", "mean", "sum", "erf")


@triton.jit
def _copy(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=mask), mask=mask)


def _conv(x, weight, bias):
    try:
        return F.conv2d(x, weight, bias)
    except RuntimeError as e:  # CPU builds without 16-bit conv: fp32 accumulation, one rounding (as cuDNN)
        if "not implemented for" not in str(e):
            raise
        return F.conv2d(x.float(), weight.float(), bias.float()).to(x.dtype)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        y = F.gelu(_conv(x, self.conv.weight, self.conv.bias)).mean((2, 3)).contiguous()
        out = torch.empty_like(y)
        n = y.numel()
        _copy[(triton.cdiv(n, 256),)](y, out, n, BLOCK=256)
        return out
