"""conv2d + bias + GELU + global average pool, whichever of the two fused kernels applies: the warp-specialized
Hopper kernel (:mod:`fusefuzz.kernels.conv2d_gelu_gap_hopper`, sm_90 only, output rows of at least 128 pixels,
the tf32 and 16-bit modes) or the portable one (:mod:`fusefuzz.kernels.conv2d_gelu_gap_fused`, every GPU and the
interpreter). Both compute the same contract; this module only chooses.

The Hopper kernel is chosen by itself (``hopper=None``) only once :data:`HOPPER_AUTO` is on, which waits for its
gpu-profile proof on a Hopper GPU for the launch it runs (tests/test_hopper_kernel.py, gpu-marked; the portable
kernel's proof, forced, stays the fused records'). ``hopper=True`` asks for it meanwhile.
"""

import torch.nn as nn
from fusefuzz.kernels import conv2d_gelu_gap_fused as portable
from fusefuzz.kernels import conv2d_gelu_gap_hopper as hopper_kernel

#: whether ``hopper=None`` runs the Hopper kernel where it applies (off until its device proof)
HOPPER_AUTO = False


def choose(x, weight, bias, *, input_precision="tf32", path=None, hopper=None):
    """``"hopper"`` or ``"portable"``: the kernel :func:`conv2d_gelu_gap` runs for these arguments. ``hopper``:
    None (auto: :data:`HOPPER_AUTO` and the case is one it takes), True (it, or a one-line ValueError saying why
    it cannot), False (never). An explicit x ``path`` is the portable kernel's."""
    if hopper not in (None, True, False):
        raise ValueError(f"hopper={hopper!r} must be None (auto), True or False")
    if hopper is False or (hopper is None and (not HOPPER_AUTO or path is not None)):
        return "portable"
    if path is not None:
        raise ValueError(f"path={path!r} is an x path of the portable kernel; with hopper=True leave it None")
    portable._check_inputs(x, weight, bias, input_precision)
    why = hopper_kernel.supported(x, weight, input_precision)
    if why is None:
        return "hopper"
    if hopper:
        raise ValueError(f"hopper=True: {why}")
    return "portable"


def conv2d_gelu_gap(x, weight, bias, *, input_precision="tf32", deterministic=False, gelu=None, path=None,
                    hopper=None):
    """mean_{h,w} gelu(conv2d(x, weight, bias)) -> [batch, out_channels], dtype x.dtype: the arguments and
    contract of :func:`fusefuzz.kernels.conv2d_gelu_gap_fused.conv2d_gelu_gap`, on the kernel :func:`choose`
    picks."""
    if choose(x, weight, bias, input_precision=input_precision, path=path, hopper=hopper) == "hopper":
        return hopper_kernel.conv2d_gelu_gap_hopper(x, weight, bias, input_precision=input_precision,
                                                    deterministic=deterministic, gelu=gelu)
    return portable.conv2d_gelu_gap(x, weight, bias, input_precision=input_precision, deterministic=deterministic,
                                    gelu=gelu, path=path)


class ModelNew(nn.Module):
    """Drop-in for KernelBench's Model: Conv2d -> GELU -> adaptive_avg_pool2d(1) -> squeeze, on the kernel
    :func:`choose` picks for each input."""

    def __init__(self, in_channels, out_channels, kernel_size, *, input_precision="tf32", deterministic=False,
                 gelu=None, path=None, hopper=None):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.options = dict(input_precision=input_precision, deterministic=deterministic, gelu=gelu, path=path,
                            hopper=hopper)

    def forward(self, x):
        return conv2d_gelu_gap(x, self.conv.weight, self.conv.bias, **self.options)
