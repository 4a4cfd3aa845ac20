"""The benchmark cases: which kernels, shapes and dtypes the suite times (``benchmarks/test_bench_*.py``).

The headline is KernelBench's shape for ``conv2d_gelu_gap`` (x [128, 8, 256, 256], Conv2d(8, 64, 3)); two
smaller shapes show how the kernels scale down (a 5x5 filter with more input channels, and a small batch
of small images where launch overhead matters). Values are ``torch.rand`` as in KernelBench.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..example import Example

PROBLEM = "conv2d_gelu_gap"

SHAPES = {
    "headline": dict(batch=128, in_channels=8, out_channels=64, height=256, width=256, kernel_size=3),
    "medium": dict(batch=32, in_channels=16, out_channels=32, height=128, width=128, kernel_size=5),
    "small": dict(batch=8, in_channels=3, out_channels=16, height=64, width=64, kernel_size=3),
}
DTYPES = ("float32", "float16", "bfloat16")

#: regression threshold per shape (slowdown factor the gate needs, with significance): small problems run
#: for microseconds, where clocks and the autotuner's pick between near-equal configs move the median more
THRESHOLDS = {"headline": 1.05, "medium": 1.08, "small": 1.10}


def example(shape: str = "headline", dtype: str = "float32", layout: str = "contiguous") -> Example:
    if shape not in SHAPES:
        raise ValueError(f"shape={shape!r} is not a benchmark shape; use one of {', '.join(SHAPES)}")
    return Example(sizes=dict(SHAPES[shape]), dtype=dtype, layout=layout, distribution="rand", scale=1.0, seed=0)


def shape_name(ex: Example) -> str:
    """The name of ``ex``'s shape in :data:`SHAPES`, or ``custom``."""
    for name, sizes in SHAPES.items():
        if dict(ex.sizes) == sizes:
            return name
    return "custom"


@dataclass(frozen=True)
class KernelCase:
    kernel: str  # registered name
    shape: str
    dtype: str

    @property
    def id(self) -> str:
        return f"{self.kernel.split('.', 1)[-1]}-{self.shape}-{self.dtype}"

    @property
    def example(self) -> Example:
        return example(self.shape, self.dtype)


@dataclass(frozen=True)
class ReferenceCase:
    mode: str  # eager | compile
    shape: str
    dtype: str

    @property
    def id(self) -> str:
        return f"{self.mode}-{self.shape}-{self.dtype}"

    @property
    def example(self) -> Example:
        return example(self.shape, self.dtype)


ALL_KERNELS = ("conv2d_gelu_gap.fused", "conv2d_gelu_gap.fused-deterministic", "conv2d_gelu_gap.fused-ieee",
               "conv2d_gelu_gap.twopass", "conv2d_gelu_gap.twopass-ieee")
#: the kernels timed beyond the headline fp32 case (the fast default and the seed's structure)
MAIN_KERNELS = ("conv2d_gelu_gap.fused", "conv2d_gelu_gap.twopass")

KERNEL_CASES = (
    tuple(KernelCase(k, "headline", "float32") for k in ALL_KERNELS)
    + tuple(KernelCase(k, "headline", d) for k in MAIN_KERNELS for d in ("float16", "bfloat16"))
    + tuple(KernelCase(k, s, "float32") for k in MAIN_KERNELS for s in ("medium", "small"))
)

#: every (shape, dtype) a kernel case uses gets eager and torch.compile timings in the same pytest run
REFERENCE_CASES = tuple(ReferenceCase(m, s, d) for (s, d) in dict.fromkeys((c.shape, c.dtype) for c in KERNEL_CASES)
                        for m in ("eager", "compile"))

#: the benchmark the repeat-spread criterion is about
HEADLINE_CASE = KernelCase("conv2d_gelu_gap.fused", "headline", "float32")

#: harness throughput: the ci profile's campaign on this kernel (it compiles once per dtype, not per shape)
THROUGHPUT_KERNEL = "conv2d_gelu_gap.twopass"
