# fusefuzz-corpus: one-row-per-program Linear + erf-GELU that declares float32 only and refuses anything else; correct
# problem: linear_gelu
# expect-exit: 0
# expect-failures: none
# expect-notes: out_of_scope
import torch
import torch.nn as nn
import triton
import triton.language as tl

# what this kernel claims: float32 inputs in any layout (fusefuzz reads these)
FUSEFUZZ_DTYPES = ("float32",)
FUSEFUZZ_LAYOUTS = ("contiguous", "channels_last", "strided")


@triton.jit
def linear_gelu_row_kernel(x_ptr, w_ptr, b_ptr, y_ptr, N, K, sx0, sx1, sw0, sw1, sy0,
                           BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    row = tl.program_id(0)
    col_blk = tl.program_id(1)
    cols = col_blk * BLOCK_N + tl.arange(0, BLOCK_N)
    col_mask = cols < N
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        k_mask = ks < K
        xv = tl.load(x_ptr + row * sx0 + ks * sx1, mask=k_mask, other=0.0)
        wv = tl.load(w_ptr + cols[:, None] * sw0 + ks[None, :] * sw1,
                     mask=col_mask[:, None] & k_mask[None, :], other=0.0)
        acc += tl.sum(wv * xv[None, :], axis=1)
    acc += tl.load(b_ptr + cols, mask=col_mask, other=0.0)
    out = 0.5 * acc * (1.0 + tl.erf(acc * 0.7071067811865476))
    tl.store(y_ptr + row * sy0 + cols, out, mask=col_mask)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        if x.dtype != torch.float32:
            raise TypeError(f"ModelNew supports float32 inputs only, got {x.dtype}")
        M, K = x.shape
        N = self.linear.weight.shape[0]
        y = torch.empty((M, N), device=x.device, dtype=torch.float32)
        BLOCK_N = 32
        BLOCK_K = 64
        grid = (M, triton.cdiv(N, BLOCK_N))
        linear_gelu_row_kernel[grid](
            x, self.linear.weight, self.linear.bias, y, N, K,
            x.stride(0), x.stride(1), self.linear.weight.stride(0), self.linear.weight.stride(1), y.stride(0),
            BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
        )
        return y
