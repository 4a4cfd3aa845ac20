# fusefuzz-corpus: GEMM + bias + row sum fused in Triton (tiled, fp32), scalar * scaling_factor in PyTorch; correct
# problem: reference: references/matmul_sum_scale.py
# expect-exit: 0
# expect-failures: none
# expect-notes: partial_fusion
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def gemm_bias_rowsum_kernel(
    a_ptr, b_ptr, bias_ptr, out_ptr,
    M, N, K,
    stride_am, stride_ak, stride_bn, stride_bk,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    m_mask = offs_m < M
    row_sum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for n0 in range(0, N, BLOCK_N):
        offs_n = n0 + tl.arange(0, BLOCK_N)
        n_mask = offs_n < N
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            offs_k = k0 + tl.arange(0, BLOCK_K)
            k_mask = offs_k < K
            a = tl.load(a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak,
                        mask=m_mask[:, None] & k_mask[None, :], other=0.0)
            b = tl.load(b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn,
                        mask=k_mask[:, None] & n_mask[None, :], other=0.0)
            acc += tl.dot(a, b)
        bias = tl.load(bias_ptr + offs_n, mask=n_mask, other=0.0).to(tl.float32)
        acc = tl.where(n_mask[None, :], acc + bias[None, :], 0.0)
        row_sum += tl.sum(acc, axis=1)
    tl.store(out_ptr + offs_m, row_sum, mask=m_mask)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = scaling_factor

    def forward(self, x):
        M, K = x.shape
        N = self.linear.out_features
        w = self.linear.weight
        out = torch.empty((M, 1), device=x.device, dtype=torch.float32)
        BLOCK_M, BLOCK_N, BLOCK_K = 16, 32, 32
        gemm_bias_rowsum_kernel[(triton.cdiv(M, BLOCK_M),)](
            x, w, self.linear.bias, out, M, N, K,
            x.stride(0), x.stride(1), w.stride(0), w.stride(1),
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
        )
        out = out * self.scaling_factor
        return out.to(x.dtype)
