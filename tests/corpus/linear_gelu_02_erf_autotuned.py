# fusefuzz-corpus: autotuned GEMM with fused bias + exact erf GELU in the epilogue, fp32 accumulation; correct
# problem: linear_gelu
# expect-exit: 0
# expect-failures: none
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32}, num_warps=4, num_stages=3),
        triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    ],
    key=["M", "N", "K"],
)
@triton.jit
def _fused_linear_gelu(
    x_ptr, w_ptr, b_ptr, y_ptr,
    M, N, K,
    stride_xm, stride_xk,
    stride_wn, stride_wk,
    stride_ym, stride_yn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(axis=0)
    pid_n = tl.program_id(axis=1)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        kk = k0 + rk
        x_tile = tl.load(x_ptr + rm[:, None] * stride_xm + kk[None, :] * stride_xk,
                         mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        w_tile = tl.load(w_ptr + rn[None, :] * stride_wn + kk[:, None] * stride_wk,
                         mask=(rn[None, :] < N) & (kk[:, None] < K), other=0.0)
        acc = tl.dot(x_tile, w_tile, acc)

    b = tl.load(b_ptr + rn, mask=rn < N, other=0.0).to(tl.float32)
    z = acc + b[None, :]
    y = 0.5 * z * (1.0 + tl.erf(z * 0.7071067811865476))
    tl.store(y_ptr + rm[:, None] * stride_ym + rn[None, :] * stride_yn, y.to(y_ptr.dtype.element_ty),
             mask=(rm[:, None] < M) & (rn[None, :] < N))


def fused_linear_gelu(x, weight, bias):
    M, K = x.shape
    N, K2 = weight.shape
    assert K == K2, "shape mismatch"
    y = torch.empty((M, N), device=x.device, dtype=x.dtype)
    grid = lambda META: (triton.cdiv(M, META["BLOCK_M"]), triton.cdiv(N, META["BLOCK_N"]))
    _fused_linear_gelu[grid](
        x, weight, bias, y, M, N, K,
        x.stride(0), x.stride(1), weight.stride(0), weight.stride(1), y.stride(0), y.stride(1),
    )
    return y


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return fused_linear_gelu(x, self.linear.weight, self.linear.bias)
