"""Bundled Triton kernels, each a KernelBench-format module with ``ModelNew``, registered with the engine's kernel
registry (:mod:`fusefuzz.harness.registry`) by :mod:`fusefuzz.kernels.bundled`; :func:`get` and :func:`all_kernels`
are the registry's."""

if __name__ != "fusefuzz.kernels":  # imported under its bare name from a checkout: see fusefuzz._checkout
    from fusefuzz._checkout import hand_over

    hand_over(__name__, __file__)
else:
    from fusefuzz.harness.registry import KernelRecord, all_kernels, get, register

    from . import bundled  # noqa: F401  (registers the bundled kernels)

    __all__ = ["KernelRecord", "all_kernels", "get", "register"]
