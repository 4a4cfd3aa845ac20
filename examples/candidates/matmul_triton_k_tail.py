# BROKEN on purpose (tail bug): the K loop runs over whole BLOCK_K blocks only, so the last K % BLOCK_K
# products are dropped. KernelBench's own shape (K = 4096, a multiple of every BLOCK_K) never shows it;
# fusefuzz finds it at the first K that is not a multiple of 32 and shrinks it to M = K = N = 1.
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_PRECISION = "ieee"


@triton.jit(do_not_specialize=["M", "N", "K", "sam", "sak", "sbk", "sbn", "scm", "scn"])
def _matmul(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbk, sbn, scm, scn, IS_FP32: tl.constexpr,
            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, (K // BLOCK_K) * BLOCK_K, BLOCK_K):  # the bug: the tail block is never visited
        ks = k0 + tl.arange(0, BLOCK_K)
        a = tl.load(a_ptr + rows[:, None].to(tl.int64) * sam + ks[None, :] * sak, mask=rows[:, None] < M, other=0.0)
        b = tl.load(b_ptr + ks[:, None].to(tl.int64) * sbk + cols[None, :] * sbn, mask=cols[None, :] < N, other=0.0)
        if IS_FP32:
            acc = tl.dot(a, b, acc, input_precision="ieee")
        else:
            acc = tl.dot(a, b, acc)
    tl.store(c_ptr + rows[:, None].to(tl.int64) * scm + cols[None, :] * scn, acc.to(c_ptr.dtype.element_ty),
             mask=(rows[:, None] < M) & (cols[None, :] < N))


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        M, K = A.shape
        N = B.shape[1]
        C = torch.empty((M, N), device=A.device, dtype=A.dtype)
        grid = (triton.cdiv(M, 32), triton.cdiv(N, 32))
        _matmul[grid](A, B, C, M, N, K, *A.stride(), *B.stride(), *C.stride(), IS_FP32=A.dtype == torch.float32,
                      BLOCK_M=32, BLOCK_N=32, BLOCK_K=32)
        return C
