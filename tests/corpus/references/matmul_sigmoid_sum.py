# A KernelBench level-2 style reference written for the corpus: Linear -> sigmoid -> sum over the features.
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Performs a matrix multiplication (nn.Linear), applies a sigmoid, and sums every row.
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = nn.Linear(input_size, hidden_size)

    def forward(self, x):
        """
        Args:
            x: (batch_size, input_size)
        Returns:
            (batch_size, 1)
        """
        x = self.linear(x)
        x = torch.sigmoid(x)
        x = torch.sum(x, dim=1, keepdim=True)
        return x


batch_size = 8
input_size = 10
hidden_size = 20


def get_inputs():
    return [torch.randn(batch_size, input_size)]


def get_init_inputs():
    return [input_size, hidden_size]
