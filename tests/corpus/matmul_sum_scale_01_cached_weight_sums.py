# fusefuzz-corpus: sum(xW^T + b) = x.(sum_j W_j) + sum(b), with both sums cached as buffers in __init__: stale weights
# problem: reference: references/matmul_sum_scale.py
# expect-exit: 1
# expect-failures: mismatch
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def gemv_scale_kernel(x_ptr, wsum_ptr, bsum_ptr, out_ptr, K, stride_xm, scale, BLOCK_K: tl.constexpr):
    row = tl.program_id(0)
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        offs = k0 + tl.arange(0, BLOCK_K)
        m = offs < K
        xv = tl.load(x_ptr + row * stride_xm + offs, mask=m, other=0.0).to(tl.float32)
        wv = tl.load(wsum_ptr + offs, mask=m, other=0.0).to(tl.float32)
        acc += xv * wv
    total = tl.sum(acc, axis=0) + tl.load(bsum_ptr).to(tl.float32)
    tl.store(out_ptr + row, total * scale)


class ModelNew(nn.Module):
    """
    Algebraic simplification: sum_j (x @ W^T + b)_j = x @ (sum_j W_j) + sum_j b_j.
    The column sum of W and the bias sum are computed once here instead of a full GEMM per call.
    """

    def __init__(self, in_features, out_features, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = scaling_factor
        with torch.no_grad():
            self.register_buffer("w_sum", self.linear.weight.sum(dim=0).clone())
            self.register_buffer("b_sum", self.linear.bias.sum().reshape(1).clone())

    def forward(self, x):
        x = x.contiguous()
        M, K = x.shape
        out = torch.empty((M, 1), device=x.device, dtype=x.dtype)
        BLOCK_K = min(triton.next_power_of_2(K), 1024)
        gemv_scale_kernel[(M,)](x, self.w_sum, self.b_sum, out, K, x.stride(0), float(self.scaling_factor),
                                BLOCK_K=BLOCK_K)
        return out
