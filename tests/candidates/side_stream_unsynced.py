"""Correct results, dishonest timing: the work runs on a side stream the caller's stream never waits for.

Once the device is synchronised the output is right (``fusefuzz check`` passes it), but a timer that reads
CUDA events on the caller's stream sees only the launch. ``fusefuzz bench`` synchronises the whole device,
counts the side-stream work and says so. Without a GPU it simply runs the fused kernel.
"""

import torch
import torch.nn as nn
from fusefuzz.kernels.conv2d_gelu_gap_fused import conv2d_gelu_gap

FUSEFUZZ_PRECISION = "tf32-rn"


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.side = torch.cuda.Stream() if torch.cuda.is_available() else None

    def forward(self, x):
        if self.side is None or not x.is_cuda:
            return conv2d_gelu_gap(x, self.conv.weight, self.conv.bias)
        self.side.wait_stream(torch.cuda.current_stream())  # inputs are ready...
        with torch.cuda.stream(self.side):
            out = conv2d_gelu_gap(x, self.conv.weight, self.conv.bias)
        return out  # ...but the caller's stream is never made to wait for the result
