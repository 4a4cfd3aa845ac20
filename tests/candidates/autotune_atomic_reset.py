"""The twin of autotune_atomic_no_reset.py with ``reset_to_zero=["out_ptr"]``: the autotuner zeroes the output
before each benchmark launch and once more before the real one, so the first answer is right."""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "autotune_atomic_base", os.path.join(os.path.dirname(__file__), "autotune_atomic_no_reset.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

gelu_mean = _base.make_kernel(["out_ptr"])


class ModelNew(_base.ModelNew):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__(in_channels, out_channels, kernel_size)
        self.kernel = gelu_mean
