"""cuDNN conv, then one autotuned Triton kernel: bias + exact GELU + spatial mean, each program adding its
partial sum into a zero-filled [B, C] output with tl.atomic_add. No ``reset_to_zero``: on the first call of a
shape Triton's autotuner launches every config on the real output buffer, so the first answer holds every
benchmark launch's sums too. Later calls (cached config) are right, and so is every config pinned alone."""
import torch
import torch.nn as nn
import triton
import triton.language as tl

RESET = None  # the twin file sets ["out_ptr"]


def _kernel(x_ptr, bias_ptr, out_ptr, C, HW, inv_hw, BLOCK: tl.constexpr):
    row = tl.program_id(0)  # one (image, channel) row of HW activations
    chunk = tl.program_id(1)
    offs = chunk * BLOCK + tl.arange(0, BLOCK)
    mask = offs < HW
    z = tl.load(x_ptr + row * HW + offs, mask=mask, other=0.0).to(tl.float32)
    z = z + tl.load(bias_ptr + row % C).to(tl.float32)
    g = 0.5 * z * (1.0 + tl.erf(z * 0.7071067811865476))
    g = tl.where(mask, g, 0.0)
    tl.atomic_add(out_ptr + row, tl.sum(g, axis=0) * inv_hw)


def make_kernel(reset):
    return triton.autotune(configs=[triton.Config({"BLOCK": 16}), triton.Config({"BLOCK": 32})],
                           key=["HW"], reset_to_zero=reset)(triton.jit(_kernel))


gelu_mean = make_kernel(RESET)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.kernel = gelu_mean

    def forward(self, x):
        y = torch.nn.functional.conv2d(x, self.conv.weight, None).contiguous()
        B, C, H, W = y.shape
        out = torch.zeros(B, C, device=x.device, dtype=torch.float32)
        grid = lambda meta: (B * C, triton.cdiv(H * W, meta["BLOCK"]))  # noqa: E731
        self.kernel[grid](y, self.conv.bias, out, C, H * W, 1.0 / (H * W))
        return out.to(x.dtype)
