# fusefuzz-corpus: imports grid from torch._inductor.triton_heuristics, a private module later torch versions moved
# problem: conv2d_gelu_gap
# expect-exit: 2
# expect-failures: none
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl
from torch._inductor.triton_heuristics import grid


@triton.jit
def triton_gelu_mean(in_ptr0, out_ptr0, xnumel, rnumel, RBLOCK: tl.constexpr):
    xoffset = tl.program_id(0)
    rbase = tl.arange(0, RBLOCK)
    _tmp = tl.full([RBLOCK], 0, tl.float32)
    for roffset in range(0, rnumel, RBLOCK):
        rindex = roffset + rbase
        rmask = rindex < rnumel
        tmp0 = tl.load(in_ptr0 + (rindex + rnumel * xoffset), rmask, other=0.0).to(tl.float32)
        tmp1 = 0.5 * tmp0 * (1.0 + tl.erf(tmp0 * 0.7071067811865476))
        _tmp = _tmp + tl.where(rmask, tmp1, 0.0)
    tmp2 = tl.sum(_tmp, 0)
    tl.store(out_ptr0 + xoffset, tmp2 / rnumel)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        buf0 = self.conv(x).contiguous()
        n, c, h, w = buf0.shape
        buf1 = torch.empty((n, c), device=x.device, dtype=x.dtype)
        triton_gelu_mean[grid(n * c)](buf0, buf1, n * c, h * w, RBLOCK=256)
        return buf1
