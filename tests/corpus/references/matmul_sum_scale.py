# A KernelBench level-2 style reference written for the corpus: Linear -> sum over the features -> scale.
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Matrix multiplication (with bias), a sum over the output features, then a scaling factor.
    """

    def __init__(self, in_features, out_features, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scaling_factor = scaling_factor

    def forward(self, x):
        """
        Args:
            x: (batch_size, in_features)
        Returns:
            (batch_size, 1)
        """
        x = self.linear(x)
        x = torch.sum(x, dim=1, keepdim=True)
        x = x * self.scaling_factor
        return x


batch_size = 8
in_features = 24
out_features = 48
scaling_factor = 1.5


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, scaling_factor]
