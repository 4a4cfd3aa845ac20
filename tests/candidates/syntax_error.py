# A candidate with a syntax error (fusefuzz check must exit 2 with one line).
import torch.nn as nn

class ModelNew(nn.Module)
    pass
