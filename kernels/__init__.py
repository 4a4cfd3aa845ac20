"""Bundled Triton kernels, each a KernelBench-format module with ``ModelNew``, registered with its contract
(:mod:`fusefuzz.kernels.bundled`); look them up with :func:`get` and :func:`all_kernels`."""

if __name__ != "fusefuzz.kernels":  # imported under its bare name from a checkout: see fusefuzz._checkout
    from fusefuzz._checkout import hand_over

    hand_over(__name__, __file__)
else:
    from .bundled import KernelRecord, all_kernels, get, register

    __all__ = ["KernelRecord", "all_kernels", "get", "register"]
