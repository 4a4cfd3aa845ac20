# fusefuzz-zoo: PyTorch fallback: the convolution is F.conv2d (cuDNN), only GELU + mean run in Triton
# expect: partial_fusion
# precision: ieee
import torch
import torch.nn as nn
import torch.nn.functional as F
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _gelu_mean(y_ptr, out_ptr, OC, OH, OW, syb, syc, syh, syw, sob, soc, BLOCK: tl.constexpr):
    pid = tl.program_id(0)  # one program per (image, channel)
    b = pid // OC
    n = pid % OC
    P = OH * OW
    total = tl.zeros((BLOCK,), dtype=tl.float32)
    for p0 in range(0, P, BLOCK):
        offs = p0 + tl.arange(0, BLOCK)
        mask = offs < P
        v = tl.load(y_ptr + b * syb + n * syc + (offs // OW) * syh + (offs % OW) * syw,
                    mask=mask, other=0.0).to(tl.float32)
        total += tl.where(mask, 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476)), 0.0)
    tl.store(out_ptr + b * sob + n * soc, (tl.sum(total, axis=0) / P).to(out_ptr.dtype.element_ty))


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        y = F.conv2d(x, self.conv.weight, self.conv.bias)  # cuDNN is already optimal for the conv
        B, OC, OH, OW = y.shape
        out = torch.empty((B, OC), device=x.device, dtype=x.dtype)
        _gelu_mean[(B * OC,)](y, out, OC, OH, OW, *y.stride(), *out.stride(), BLOCK=256)
        return out
