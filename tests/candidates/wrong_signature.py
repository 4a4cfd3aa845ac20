# ModelNew whose constructor does not take (in_channels, out_channels, kernel_size): exit 2.
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, channels):
        super().__init__()
