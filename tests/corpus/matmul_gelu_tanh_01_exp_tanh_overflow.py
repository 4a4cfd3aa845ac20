# fusefuzz-corpus: fused Linear + tanh-GELU, tanh = (e^2u - 1)/(e^2u + 1): exp overflows, inf/inf = NaN past x ~ 10.06
# problem: reference: references/matmul_gelu_tanh.py
# expect-exit: 1
# expect-failures: nan
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def tanh(x):
    # tl.tanh does not exist in recent Triton; build it from exp
    exp2x = tl.exp(2 * x)
    return (exp2x - 1) / (exp2x + 1)


@triton.jit
def fc_gelu_kernel(
    x_ptr, w_ptr, b_ptr, y_ptr,
    M, N, K,
    stride_xm, stride_xk, stride_wn, stride_wk, stride_ym, stride_yn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        offs_k = k + tl.arange(0, BLOCK_K)
        x = tl.load(x_ptr + offs_m[:, None] * stride_xm + offs_k[None, :] * stride_xk,
                    mask=(offs_m[:, None] < M) & (offs_k[None, :] < K), other=0.0)
        w = tl.load(w_ptr + offs_n[None, :] * stride_wn + offs_k[:, None] * stride_wk,
                    mask=(offs_n[None, :] < N) & (offs_k[:, None] < K), other=0.0)
        acc += tl.dot(x.to(tl.float32), w.to(tl.float32), input_precision="ieee")
    acc += tl.load(b_ptr + offs_n, mask=offs_n < N, other=0.0).to(tl.float32)[None, :]

    # GELU, tanh approximation (matches F.gelu(approximate="tanh"))
    k0 = 0.7978845608028654
    y = 0.5 * acc * (1 + tanh(k0 * (acc + 0.044715 * acc * acc * acc)))

    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    tl.store(y_ptr + offs_m[:, None] * stride_ym + offs_n[None, :] * stride_yn, y.to(y_ptr.dtype.element_ty), mask=mask)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x):
        M, K = x.shape
        N = self.fc.out_features
        y = torch.empty((M, N), dtype=x.dtype, device=x.device)
        grid = (triton.cdiv(M, 16), triton.cdiv(N, 32))
        fc_gelu_kernel[grid](
            x, self.fc.weight, self.fc.bias, y, M, N, K,
            x.stride(0), x.stride(1), self.fc.weight.stride(0), self.fc.weight.stride(1), y.stride(0), y.stride(1),
            BLOCK_M=16, BLOCK_N=32, BLOCK_K=32,
        )
        return y
