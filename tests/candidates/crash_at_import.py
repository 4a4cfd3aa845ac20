# A candidate that aborts while its module is imported: checked in a worker, this is one clear line and
# exit 2, and the parent process survives.
import os

import torch.nn as nn

os.abort()


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        return x
