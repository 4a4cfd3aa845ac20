# fusefuzz-corpus: W column sum and bias sum in PyTorch each call, then one Triton GEMV with the scale fused; correct
# problem: reference: references/matmul_sum_scale.py
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _gemv_bias_scale(x_ptr, v_ptr, c_ptr, y_ptr, M, K, sxm, sxk, scale,
                     BLOCK_M: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rmask = rows < M
    acc = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        cols = k + tl.arange(0, BLOCK_K)
        cmask = cols < K
        xt = tl.load(x_ptr + rows[:, None] * sxm + cols[None, :] * sxk,
                     mask=rmask[:, None] & cmask[None, :], other=0.0).to(tl.float32)
        v = tl.load(v_ptr + cols, mask=cmask, other=0.0).to(tl.float32)
        acc += tl.sum(xt * v[None, :], axis=1)
    c = tl.load(c_ptr).to(tl.float32)
    tl.store(y_ptr + rows, (acc + c) * scale, mask=rmask)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = scaling_factor

    def forward(self, x):
        # sum over the output features commutes with the matmul: reduce W first (out_features x cheaper)
        w_sum = self.linear.weight.sum(dim=0)  # (in_features,)
        b_sum = self.linear.bias.sum()  # scalar
        M, K = x.shape
        y = torch.empty((M, 1), device=x.device, dtype=x.dtype)
        BLOCK_M = 16
        BLOCK_K = 64
        _gemv_bias_scale[(triton.cdiv(M, BLOCK_M),)](
            x, w_sum, b_sum, y, M, K, x.stride(0), x.stride(1), self.scaling_factor,
            BLOCK_M=BLOCK_M, BLOCK_K=BLOCK_K,
        )
        return y
