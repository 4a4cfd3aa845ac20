# fusefuzz-corpus: one row per program, padded hidden lanes load 0 and sigmoid(0) = 0.5 is summed with the real ones
# problem: reference: references/matmul_sigmoid_sum.py
# expect-exit: 1
# expect-failures: mismatch
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def matmul_sigmoid_sum_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    input_size, hidden_size,
    stride_xb, stride_xk, stride_wh, stride_wk,
    BLOCK_K: tl.constexpr, BLOCK_H: tl.constexpr,
):
    row = tl.program_id(0)
    offs_h = tl.arange(0, BLOCK_H)
    offs_k = tl.arange(0, BLOCK_K)
    h_mask = offs_h < hidden_size
    k_mask = offs_k < input_size

    x = tl.load(x_ptr + row * stride_xb + offs_k * stride_xk, mask=k_mask, other=0.0)
    w = tl.load(w_ptr + offs_h[:, None] * stride_wh + offs_k[None, :] * stride_wk,
                mask=h_mask[:, None] & k_mask[None, :], other=0.0)
    b = tl.load(b_ptr + offs_h, mask=h_mask, other=0.0)

    # linear: (hidden,) = W @ x + b
    z = tl.sum(w * x[None, :], axis=1) + b
    s = tl.sigmoid(z.to(tl.float32))
    total = tl.sum(s, axis=0)
    tl.store(out_ptr + row, total)


class ModelNew(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(ModelNew, self).__init__()
        self.linear = nn.Linear(input_size, hidden_size)

    def forward(self, x):
        batch_size = x.shape[0]
        input_size = self.linear.in_features
        hidden_size = self.linear.out_features
        out = torch.empty(batch_size, 1, device=x.device, dtype=x.dtype)
        BLOCK_K = triton.next_power_of_2(input_size)
        BLOCK_H = triton.next_power_of_2(hidden_size)
        w = self.linear.weight
        matmul_sigmoid_sum_kernel[(batch_size,)](
            x, w, self.linear.bias, out,
            input_size, hidden_size,
            x.stride(0), x.stride(1), w.stride(0), w.stride(1),
            BLOCK_K=BLOCK_K, BLOCK_H=BLOCK_H,
        )
        return out
