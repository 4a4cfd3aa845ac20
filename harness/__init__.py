"""fusefuzz: differential fuzz testing of fused Triton kernels against their PyTorch reference.

Importing this package does not import triton; :func:`harness.backend.select` runs before any kernel
module is loaded (the CLI, the pytest plugin and the candidate loader call it).
"""

__version__ = "0.1.0"
