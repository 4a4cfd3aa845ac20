# BROKEN on purpose (value-range bug): exp(x) / sum(exp(x)) without subtracting the row maximum. With
# KernelBench's torch.randn inputs exp never overflows and the result is right; once the inputs are scaled
# (fusefuzz's reference_scaled values, |x| > 88 in fp32) exp overflows to inf and the output is nan.
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["N", "sxm", "sxn", "sym", "syn"])
def _softmax(x_ptr, y_ptr, N, sxm, sxn, sym, syn, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    s = tl.zeros((BLOCK,), tl.float32)
    for c0 in range(0, N, BLOCK):
        cols = c0 + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * sxm + cols * sxn, mask=cols < N, other=float("-inf")).to(tl.float32)
        s += tl.exp(x)
    total = tl.sum(s, axis=0)
    for c0 in range(0, N, BLOCK):
        cols = c0 + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * sxm + cols * sxn, mask=cols < N, other=0.0).to(tl.float32)
        tl.store(y_ptr + row * sym + cols * syn, (tl.exp(x) / total).to(y_ptr.dtype.element_ty), mask=cols < N)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        M, N = x.shape
        y = torch.empty((M, N), device=x.device, dtype=x.dtype)
        _softmax[(M,)](x, y, N, *x.stride(), *y.stride(), BLOCK=256)
        return y
