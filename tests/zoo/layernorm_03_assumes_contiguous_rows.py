# fusefuzz-zoo: layout: reads row r at x + r * N + c (ignores strides): a strided view reads the gaps
# expect: nan
# problem: layernorm
import torch
import torch.nn as nn
import triton
import triton.language as tl

FUSEFUZZ_DETERMINISTIC = True


@triton.jit
def _round_bf16(v):
    # round-to-nearest-even onto the bf16 grid by hand (the interpreter's own fp32->bf16 cast truncates)
    bits = v.to(tl.uint32, bitcast=True)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def _layernorm(x_ptr, w_ptr, b_ptr, out_ptr, N, sxm, sxn, som, eps, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    x_row = x_ptr + row * N  # rows assumed packed
    cols = tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for c0 in range(0, N, BLOCK):
        c = c0 + cols
        acc += tl.load(x_row + c, mask=c < N, other=0.0).to(tl.float32)
    mean = tl.sum(acc, axis=0) / N
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for c0 in range(0, N, BLOCK):
        c = c0 + cols
        d = tl.where(c < N, tl.load(x_row + c, mask=c < N, other=0.0).to(tl.float32) - mean, 0.0)
        acc += d * d
    var = tl.sum(acc, axis=0) / N
    rstd = 1.0 / tl.sqrt(var + eps)
    for c0 in range(0, N, BLOCK):
        c = c0 + cols
        ok = c < N
        x = tl.load(x_row + c, mask=ok, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + c, mask=ok, other=0.0).to(tl.float32)
        b = tl.load(b_ptr + c, mask=ok, other=0.0).to(tl.float32)
        y = (x - mean) * rstd * w + b
        if out_ptr.dtype.element_ty == tl.bfloat16:
            y = _round_bf16(y)
        tl.store(out_ptr + row * som + c, y.to(out_ptr.dtype.element_ty), mask=ok)


class ModelNew(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.norm = nn.LayerNorm(features)

    def forward(self, x):
        M, N = x.shape
        out = torch.empty((M, N), device=x.device, dtype=x.dtype)
        _layernorm[(M,)](x, self.norm.weight, self.norm.bias, out, N, *x.stride(), out.stride(0), self.norm.eps,
                         BLOCK=128)
        return out
