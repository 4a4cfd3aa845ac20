# fusefuzz-corpus: fully fused direct conv + GELU + mean with its own weight Parameter and no bias at all
# problem: conv2d_gelu_gap
# expect-exit: 1
# expect-failures: missing_parameter
# expect-notes: none
import math

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def conv_gelu_gap_kernel(
    x_ptr, w_ptr, out_ptr,
    C_in, H, W, C_out, OH, OW,
    KS: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    # one program per (n, oc); loops over output pixels in blocks and over the C_in*KS*KS taps
    pid = tl.program_id(0)
    n = pid // C_out
    oc = pid % C_out
    P = OH * OW
    acc_sum = 0.0
    for p0 in range(0, P, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        pm = p < P
        oh = p // OW
        ow = p % OW
        acc = tl.zeros([BLOCK_P], dtype=tl.float32)
        for ic in range(0, C_in):
            for kh in tl.static_range(KS):
                for kw in tl.static_range(KS):
                    xv = tl.load(x_ptr + ((n * C_in + ic) * H + oh + kh) * W + ow + kw, mask=pm, other=0.0)
                    wv = tl.load(w_ptr + ((oc * C_in + ic) * KS + kh) * KS + kw)
                    acc += xv.to(tl.float32) * wv.to(tl.float32)
        g = 0.5 * acc * (1.0 + tl.erf(acc * 0.7071067811865476))
        acc_sum += tl.sum(tl.where(pm, g, 0.0), axis=0)
    tl.store(out_ptr + pid, acc_sum / P)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x):
        x = x.contiguous()
        N, C, H, W = x.shape
        OC = self.weight.shape[0]
        OH, OW = H - self.kernel_size + 1, W - self.kernel_size + 1
        out = torch.empty((N, OC), device=x.device, dtype=x.dtype)
        conv_gelu_gap_kernel[(N * OC,)](
            x, self.weight, out, C, H, W, OC, OH, OW,
            KS=self.kernel_size, BLOCK_P=64,
        )
        return out
