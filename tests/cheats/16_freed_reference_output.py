# fusefuzz-cheat: allocate the output with new_empty and write nothing, expecting the reference's freed output block
# mechanism: a harness that runs the reference first and frees its output hands the same block back (caching allocator)
# source: KernelBench adversarial tests (stale reference memory); pygpubench exploit suite
# expect: uninitialized_output
# where: cpu
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _touch(p, n, BLOCK: tl.constexpr):
    i = tl.arange(0, BLOCK)
    v = tl.load(p + i, mask=i < n, other=0.0)
    tl.store(p + i, v, mask=i < n)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        out = x.new_empty((x.shape[0], self.conv.out_channels))
        _touch[(1,)](out, 1, BLOCK=16)  # one launch, so the file 'uses Triton'
        return out
