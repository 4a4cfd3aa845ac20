# fusefuzz-corpus: hidden split across programs, partial sums atomic_add-ed into torch.zeros, autotuned, no reset
# problem: reference: references/matmul_sigmoid_sum.py
# expect-exit: 1
# expect-failures: autotune_side_effect
# expect-notes: none
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_H": 8}),
        triton.Config({"BLOCK_H": 16}),
        triton.Config({"BLOCK_H": 32}),
    ],
    key=["hidden_size", "input_size"],
)
@triton.jit
def sigmoid_sum_split_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    input_size, hidden_size,
    BLOCK_K: tl.constexpr, BLOCK_H: tl.constexpr,
):
    row = tl.program_id(0)
    hb = tl.program_id(1)
    offs_h = hb * BLOCK_H + tl.arange(0, BLOCK_H)
    offs_k = tl.arange(0, BLOCK_K)
    mh = offs_h < hidden_size
    mk = offs_k < input_size
    x = tl.load(x_ptr + row * input_size + offs_k, mask=mk, other=0.0).to(tl.float32)
    w = tl.load(w_ptr + offs_h[:, None] * input_size + offs_k[None, :],
                mask=mh[:, None] & mk[None, :], other=0.0).to(tl.float32)
    z = tl.sum(w * x[None, :], axis=1) + tl.load(b_ptr + offs_h, mask=mh, other=0.0).to(tl.float32)
    s = tl.where(mh, tl.sigmoid(z), 0.0)
    tl.atomic_add(out_ptr + row, tl.sum(s, axis=0))


class ModelNew(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = nn.Linear(input_size, hidden_size)

    def forward(self, x):
        x = x.contiguous()
        w = self.linear.weight.contiguous()
        B, K = x.shape
        H = w.shape[0]
        out = torch.zeros(B, 1, device=x.device, dtype=torch.float32)
        grid = lambda meta: (B, triton.cdiv(H, meta["BLOCK_H"]))
        sigmoid_sum_split_kernel[grid](x, w, self.linear.bias, out, K, H, BLOCK_K=triton.next_power_of_2(K))
        return out.to(x.dtype)
