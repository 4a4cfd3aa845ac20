# A candidate importing a module that does not exist (exit 2, one line).
import torch.nn as nn
import triton_kernels_that_do_not_exist  # noqa: F401


class ModelNew(nn.Module):
    pass
