# fusefuzz-zoo: cheat: torch.empty(out shape) after a token launch, hoping to get the reference's freed output
# expect: uninitialized_output
# precision: ieee
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit
def _finalize(out_ptr, n, BLOCK: tl.constexpr):
    # "in-place epilogue": reads the output and writes it back unchanged
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(out_ptr + offs, mask=mask), mask=mask)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        out = torch.empty((x.shape[0], self.conv.out_channels), device=x.device, dtype=x.dtype)
        _finalize[(triton.cdiv(out.numel(), 256),)](out, out.numel(), BLOCK=256)
        return out
