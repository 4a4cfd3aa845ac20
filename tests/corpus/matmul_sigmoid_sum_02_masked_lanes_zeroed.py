# fusefuzz-corpus: rows x hidden tile per program, K loop, sigmoid re-masked with tl.where before the row sum; correct
# problem: reference: references/matmul_sigmoid_sum.py
# expect-exit: 0
# expect-failures: none
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _linear_sigmoid_rowsum(
    X, Wt, B, Out,
    M, K, H,
    sxm, sxk, swh, swk, som,
    BLOCK_M: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < M
    row_total = tl.zeros((BLOCK_M,), dtype=tl.float32)
    # walk the hidden dimension in tiles so any hidden_size works
    for h0 in range(0, H, BLOCK_H):
        hs = h0 + tl.arange(0, BLOCK_H)
        h_ok = hs < H
        z = tl.zeros((BLOCK_M, BLOCK_H), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            k_ok = ks < K
            xt = tl.load(X + rows[:, None] * sxm + ks[None, :] * sxk,
                         mask=row_ok[:, None] & k_ok[None, :], other=0.0).to(tl.float32)
            wt = tl.load(Wt + hs[None, :] * swh + ks[:, None] * swk,
                         mask=h_ok[None, :] & k_ok[:, None], other=0.0).to(tl.float32)
            z += tl.dot(xt, wt, input_precision="ieee")
        z += tl.load(B + hs, mask=h_ok, other=0.0).to(tl.float32)[None, :]
        sig = tl.sigmoid(z)
        # padded hidden lanes hold sigmoid(0) = 0.5: drop them before reducing
        sig = tl.where(h_ok[None, :], sig, 0.0)
        row_total += tl.sum(sig, axis=1)
    tl.store(Out + rows * som, row_total.to(Out.dtype.element_ty), mask=row_ok)


class ModelNew(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = nn.Linear(input_size, hidden_size)

    def forward(self, x):
        M, K = x.shape
        H = self.linear.out_features
        out = torch.empty((M, 1), device=x.device, dtype=x.dtype)
        BLOCK_M, BLOCK_H, BLOCK_K = 16, 16, 16
        _linear_sigmoid_rowsum[(triton.cdiv(M, BLOCK_M),)](
            x, self.linear.weight, self.linear.bias, out,
            M, K, H,
            x.stride(0), x.stride(1), self.linear.weight.stride(0), self.linear.weight.stride(1), out.stride(0),
            BLOCK_M=BLOCK_M, BLOCK_H=BLOCK_H, BLOCK_K=BLOCK_K,
        )
        return out
