# A correct Triton ModelNew for examples/references/level1_sum_reduction.py: torch.sum(x, dim, keepdim=True)
# for a 3-D x and any dim. One program per (kept index, block of the other kept dimension); the reduced
# dimension is walked in blocks with an fp32 accumulator; strides honoured (any layout).
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
        d = self.dim % x.dim()
        shape = list(x.shape)
        keep = [i for i in range(3) if i != d]
        A, R, C = shape[keep[0]], shape[d], shape[keep[1]]
        shape[d] = 1
        y = torch.empty(shape, device=x.device, dtype=x.dtype)
        s = x.stride()
        grid = (A, triton.cdiv(C, 32))
        _sum_middle[grid](x, y, A, R, C, s[keep[0]], s[d], s[keep[1]], y.stride(keep[0]), y.stride(keep[1]),
                          BLOCK_R=16, BLOCK_C=32)
        return y
