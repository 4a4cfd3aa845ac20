# BROKEN on purpose (a size mix-up): the reduction loop runs to x.shape[2] instead of x.shape[1]. With
# KernelBench's dim1 = dim2 = 256 the two are equal and the result is right; fusefuzz draws dim1 != dim2
# and shrinks the failure to a tiny non-square input.
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["A", "R", "C", "sxa", "sxr", "sxc", "sya", "syc"])
def _sum_middle(x_ptr, y_ptr, A, R, C, sxa, sxr, sxc, sya, syc, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    a = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    acc = tl.zeros((BLOCK_C,), dtype=tl.float32)
    for r0 in range(0, R, BLOCK_R):
        r = r0 + tl.arange(0, BLOCK_R)
        x = tl.load(x_ptr + a * sxa + r[:, None] * sxr + cols[None, :] * sxc,
                    mask=(r[:, None] < R) & (cols[None, :] < C), other=0.0)
        acc += tl.sum(x.to(tl.float32), axis=0)
    tl.store(y_ptr + a * sya + cols * syc, acc.to(y_ptr.dtype.element_ty), mask=cols < C)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        B, D1, D2 = x.shape
        y = torch.empty((B, 1, D2), device=x.device, dtype=x.dtype)
        R = min(D2, D1)  # the bug: meant D1; min() keeps the loads in bounds, so it is only wrong, never a crash
        _sum_middle[(B, triton.cdiv(D2, 32))](x, y, B, R, D2, x.stride(0), x.stride(1), x.stride(2),
                                              y.stride(0), y.stride(2), BLOCK_R=16, BLOCK_C=32)
        return y
