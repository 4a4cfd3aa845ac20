# A correct Triton ModelNew for examples/references/level2_conv2d_relu_biasadd.py: a direct convolution
# (stride 1, no padding) with the conv bias, ReLU and the extra per-channel bias fused. One program per
# (image, output channel, block of output pixels); the input is read through its strides (any layout);
# fp32 arithmetic, no tl.dot (so bf16 runs in the interpreter too).
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["C_in", "KS", "H_out", "W_out", "sxb", "sxc", "sxh", "sxw", "syb", "syc", "syh",
                               "syw"])
def _conv_relu_bias(x_ptr, w_ptr, cb_ptr, b_ptr, y_ptr, C_in, KS, H_out, W_out, sxb, sxc, sxh, sxw,
                    syb, syc, syh, syw, BLOCK_P: tl.constexpr, BLOCK_K: tl.constexpr):
    img = tl.program_id(0).to(tl.int64)
    oc = tl.program_id(1)
    p = tl.program_id(2) * BLOCK_P + tl.arange(0, BLOCK_P)
    p_ok = p < H_out * W_out
    oy = p // W_out
    ox = p % W_out
    K = C_in * KS * KS
    acc = tl.zeros((BLOCK_P,), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)
        k_ok = k < K
        c = k // (KS * KS)
        ky = (k // KS) % KS
        kx = k % KS
        offs = img * sxb + c[None, :] * sxc + (oy[:, None] + ky[None, :]) * sxh + (ox[:, None] + kx[None, :]) * sxw
        xv = tl.load(x_ptr + offs, mask=p_ok[:, None] & k_ok[None, :], other=0.0).to(tl.float32)
        wv = tl.load(w_ptr + oc * K + k, mask=k_ok, other=0.0).to(tl.float32)
        acc += tl.sum(xv * wv[None, :], axis=1)
    v = tl.maximum(acc + tl.load(cb_ptr + oc).to(tl.float32), 0.0) + tl.load(b_ptr + oc).to(tl.float32)
    tl.store(y_ptr + img * syb + oc * syc + oy * syh + ox * syw, v.to(y_ptr.dtype.element_ty), mask=p_ok)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        B, C_in, H, W = x.shape
        w = self.conv.weight.contiguous()
        C_out, _, KS, _ = w.shape
        H_out, W_out = H - KS + 1, W - KS + 1
        y = torch.empty((B, C_out, H_out, W_out), device=x.device, dtype=x.dtype)
        grid = (B, C_out, triton.cdiv(H_out * W_out, 64))
        _conv_relu_bias[grid](x, w, self.conv.bias, self.bias, y, C_in, KS, H_out, W_out, *x.stride(), *y.stride(),
                              BLOCK_P=64, BLOCK_K=32)
        return y
