# fusefuzz-corpus: everything in one kernel: GEMM tiles, bias, masked row sum and the scale, no atomics; correct
# problem: reference: references/matmul_sum_scale.py
# expect-exit: 0
# expect-failures: none
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def fused_matmul_sum_scale(
    x_ptr, w_ptr, b_ptr, y_ptr,
    M, N, K,
    sxm, sxk, swn, swk, sym,
    scale,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    """y[m] = scale * sum_n (x[m, :] . w[n, :] + b[n])"""
    pid = tl.program_id(0)
    rm = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    mm = rm < M
    total = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for n_start in range(0, N, BLOCK_N):
        rn = n_start + tl.arange(0, BLOCK_N)
        nm = rn < N
        tile = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k_start in range(0, K, BLOCK_K):
            rk = k_start + tl.arange(0, BLOCK_K)
            km = rk < K
            xt = tl.load(x_ptr + rm[:, None] * sxm + rk[None, :] * sxk, mask=mm[:, None] & km[None, :], other=0.0)
            wt = tl.load(w_ptr + rn[None, :] * swn + rk[:, None] * swk, mask=nm[None, :] & km[:, None], other=0.0)
            tile = tl.dot(xt.to(tl.float32), wt.to(tl.float32), tile)
        tile += tl.load(b_ptr + rn, mask=nm, other=0.0).to(tl.float32)[None, :]
        total += tl.sum(tl.where(nm[None, :], tile, 0.0), axis=1)
    tl.store(y_ptr + rm * sym, (total * scale).to(y_ptr.dtype.element_ty), mask=mm)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scaling_factor):
        super(ModelNew, self).__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = float(scaling_factor)

    def forward(self, x):
        M, K = x.shape
        N = self.linear.weight.shape[0]
        y = torch.empty(M, 1, device=x.device, dtype=x.dtype)
        BLOCK_M = 16
        BLOCK_N = 32
        BLOCK_K = 32
        grid = (triton.cdiv(M, BLOCK_M),)
        fused_matmul_sum_scale[grid](
            x, self.linear.weight, self.linear.bias, y,
            M, N, K,
            x.stride(0), x.stride(1), self.linear.weight.stride(0), self.linear.weight.stride(1), y.stride(0),
            self.scaling_factor,
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
        )
        return y
