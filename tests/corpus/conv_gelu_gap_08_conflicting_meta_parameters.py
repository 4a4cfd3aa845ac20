# fusefuzz-corpus: autotuned GELU/mean kernel launched with BLOCK_SIZE passed explicitly: "Conflicting meta-parameters"
# problem: conv2d_gelu_gap
# expect-exit: 1
# expect-failures: exception
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_SIZE": 128}, num_warps=4),
        triton.Config({"BLOCK_SIZE": 256}, num_warps=4),
        triton.Config({"BLOCK_SIZE": 1024}, num_warps=8),
    ],
    key=["hw"],
)
@triton.jit
def _gelu_gap(src, dst, hw, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(0)
    base = src + pid * hw
    s = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for i in range(0, hw, BLOCK_SIZE):
        o = i + tl.arange(0, BLOCK_SIZE)
        v = tl.load(base + o, mask=o < hw, other=0.0).to(tl.float32)
        s += 0.5 * v * (1.0 + tl.erf(v * 0.7071067811865476))
    tl.store(dst + pid, tl.sum(s, axis=0) / hw)


def triton_gelu_gap(t):
    t = t.contiguous()
    n, c, h, w = t.shape
    out = torch.empty(n, c, dtype=t.dtype, device=t.device)
    hw = h * w
    BLOCK_SIZE = triton.next_power_of_2(hw)
    _gelu_gap[(n * c,)](t, out, hw, BLOCK_SIZE=BLOCK_SIZE)
    return out


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        return triton_gelu_gap(self.conv(x))
