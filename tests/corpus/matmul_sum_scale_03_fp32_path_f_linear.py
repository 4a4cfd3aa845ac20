# fusefuzz-corpus: float32 inputs go to F.linear + torch.sum (the "safe path"); Triton runs only for 16-bit inputs
# problem: reference: references/matmul_sum_scale.py
# expect-exit: 1
# expect-failures: torch_fallback
# expect-notes: none
import torch
import torch.nn as nn
import torch.nn.functional as F
import triton
import triton.language as tl


@triton.jit
def linear_rowsum_scale_kernel(x_ptr, w_ptr, b_ptr, out_ptr, K, N, scale,
                               BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    ks = tl.arange(0, BLOCK_K)
    total = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for n0 in range(0, N, BLOCK_N):
        ns = n0 + tl.arange(0, BLOCK_N)
        nm = ns < N
        acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            kk = k0 + ks
            km = kk < K
            xv = tl.load(x_ptr + row * K + kk, mask=km, other=0.0).to(tl.float32)
            wv = tl.load(w_ptr + ns[:, None] * K + kk[None, :], mask=nm[:, None] & km[None, :], other=0.0)
            acc += tl.sum(wv.to(tl.float32) * xv[None, :], axis=1)
        bv = tl.load(b_ptr + ns, mask=nm, other=0.0).to(tl.float32)
        total += tl.where(nm, acc + bv, 0.0)
    tl.store(out_ptr + row, tl.sum(total, axis=0) * scale)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = scaling_factor

    def forward(self, x):
        if x.dtype == torch.float32:
            # full precision: cuBLAS is already optimal, keep exact semantics
            y = F.linear(x, self.linear.weight, self.linear.bias)
            return torch.sum(y, dim=1, keepdim=True) * self.scaling_factor
        x = x.contiguous()
        M, K = x.shape
        N = self.linear.out_features
        out = torch.empty((M, 1), device=x.device, dtype=x.dtype)
        linear_rowsum_scale_kernel[(M,)](x, self.linear.weight.contiguous(), self.linear.bias, out, K, N,
                                         self.scaling_factor, BLOCK_K=32, BLOCK_N=32)
        return out
