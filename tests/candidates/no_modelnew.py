# A KernelBench-style file that forgot to define ModelNew (fusefuzz check must exit 2).
import torch.nn as nn


class Model(nn.Module):
    pass
