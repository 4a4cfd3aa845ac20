# BROKEN on purpose (tail bug): the grid has M // BLOCK_M row blocks instead of cdiv(M, BLOCK_M), so the
# last M % 32 rows are never computed. KernelBench's batch_size = 128 is a multiple of 32 and passes;
# fusefuzz finds it at the first batch size that is not and shrinks it to batch_size = 1.
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit(do_not_specialize=["M", "N", "K", "sxm", "sxk", "swn", "swk", "sym", "syn"])
def _gemm_relu_div(x_ptr, w_ptr, b_ptr, y_ptr, M, N, K, sxm, sxk, swn, swk, sym, syn, divisor,
                   IS_FP32: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        x = tl.load(x_ptr + rows[:, None].to(tl.int64) * sxm + ks[None, :] * sxk,
                    mask=(rows[:, None] < M) & (ks[None, :] < K), other=0.0)
        w = tl.load(w_ptr + cols[None, :].to(tl.int64) * swn + ks[:, None] * swk,
                    mask=(ks[:, None] < K) & (cols[None, :] < N), other=0.0)
        if IS_FP32:
            acc = tl.dot(x, w, acc, input_precision="ieee")
        else:
            acc = tl.dot(x, w, acc)
    bias = tl.load(b_ptr + cols, mask=cols < N, other=0.0).to(tl.float32)
    y = tl.maximum(acc + bias[None, :], 0.0) / divisor
    tl.store(y_ptr + rows[:, None].to(tl.int64) * sym + cols[None, :] * syn, y.to(y_ptr.dtype.element_ty),
             mask=(rows[:, None] < M) & (cols[None, :] < N))


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, divisor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.divisor = divisor

    def forward(self, x):
        M, K = x.shape
        w = self.linear.weight
        N = w.shape[0]
        y = torch.empty((M, N), device=x.device, dtype=x.dtype)
        grid = (M // 32, triton.cdiv(N, 32))  # the bug: floor, not ceil
        _gemm_relu_div[grid](x, w, self.linear.bias, y, M, N, K, *x.stride(), *w.stride(), *y.stride(),
                             float(self.divisor), IS_FP32=x.dtype == torch.float32,
                             BLOCK_M=32, BLOCK_N=32, BLOCK_K=32)
        return y
