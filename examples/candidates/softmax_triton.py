# A correct Triton ModelNew for examples/references/level1_softmax.py (softmax over dim 1 of a 2-D input):
# one program per row, an online max/sum pass over column blocks, then a normalising pass; fp32 arithmetic,
# strides honoured (any layout), the max subtracted so that no exp overflows.
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["N", "sxm", "sxn", "sym", "syn"])
def _softmax(x_ptr, y_ptr, N, sxm, sxn, sym, syn, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    m = tl.full((BLOCK,), float("-inf"), tl.float32)
    s = tl.zeros((BLOCK,), tl.float32)
    for c0 in range(0, N, BLOCK):
        cols = c0 + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * sxm + cols * sxn, mask=cols < N, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, x)
        # lanes that have seen only -inf keep s = 0 (exp(-inf - -inf) would be nan)
        scale = tl.where(m_new == float("-inf"), 0.0, tl.exp(m - m_new))
        s = s * scale + tl.where(m_new == float("-inf"), 0.0, tl.exp(x - m_new))
        m = m_new
    row_max = tl.max(m, axis=0)
    total = tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), axis=0)
    for c0 in range(0, N, BLOCK):
        cols = c0 + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * sxm + cols * sxn, mask=cols < N, other=0.0).to(tl.float32)
        y = tl.exp(x - row_max) / total
        tl.store(y_ptr + row * sym + cols * syn, y.to(y_ptr.dtype.element_ty), mask=cols < N)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        M, N = x.shape
        y = torch.empty((M, N), device=x.device, dtype=x.dtype)
        _softmax[(M,)](x, y, N, *x.stride(), *y.stride(), BLOCK=256)
        return y
