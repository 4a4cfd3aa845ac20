# fusefuzz-corpus: fused Linear + tanh-GELU with tanh(u) = 1 - 2/(e^2u + 1), finite for every input; correct
# problem: reference: references/matmul_gelu_tanh.py
# expect-exit: 0
# expect-failures: none
# expect-notes: none
import math

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _stable_tanh(u):
    # 1 - 2 / (exp(2u) + 1): exp overflowing to inf gives exactly 1, underflowing to 0 gives -1
    return 1.0 - 2.0 / (tl.exp(2.0 * u) + 1.0)


@triton.jit
def _linear_gelu_tanh_kernel(X, W, B, Y, M, N, K, sxm, sxk, swn, swk, sym, syn, C0: tl.constexpr,
                             BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):
        rk = k0 + tl.arange(0, BK)
        a = tl.load(X + rm[:, None] * sxm + rk[None, :] * sxk, mask=(rm[:, None] < M) & (rk[None, :] < K), other=0.0)
        b = tl.load(W + rn[None, :] * swn + rk[:, None] * swk, mask=(rn[None, :] < N) & (rk[:, None] < K), other=0.0)
        acc = tl.dot(a.to(tl.float32), b.to(tl.float32), acc, input_precision="ieee")
    z = acc + tl.load(B + rn, mask=rn < N, other=0.0).to(tl.float32)[None, :]
    y = 0.5 * z * (1.0 + _stable_tanh(C0 * (z + 0.044715 * z * z * z)))
    mask = (rm[:, None] < M) & (rn[None, :] < N)
    tl.store(Y + rm[:, None] * sym + rn[None, :] * syn, y.to(Y.dtype.element_ty), mask=mask)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x):
        w, b = self.fc.weight, self.fc.bias
        M, K = x.shape
        N = w.shape[0]
        y = torch.empty(M, N, device=x.device, dtype=x.dtype)
        BM, BN, BK = 16, 32, 32
        _linear_gelu_tanh_kernel[(triton.cdiv(M, BM), triton.cdiv(N, BN))](
            x, w, b, y, M, N, K, x.stride(0), x.stride(1), w.stride(0), w.stride(1), y.stride(0), y.stride(1),
            C0=math.sqrt(2.0 / math.pi), BM=BM, BN=BN, BK=BK,
        )
        return y
