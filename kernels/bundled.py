"""The bundled kernels' records: each a KernelBench-format module with ``ModelNew``, registered with the engine
(:mod:`fusefuzz.harness.registry`) with its contract. Declared in pyproject.toml's entry-point group
``fusefuzz.kernels``, so the engine imports this module on its first kernel lookup."""

from fusefuzz.harness import backend as _backend

_backend.select()  # before any kernel module imports triton: interpreter on machines without a GPU

from fusefuzz.harness.approx import ApproxBudget  # noqa: E402
from fusefuzz.harness.registry import KernelRecord, register  # noqa: E402

#: what the degree-5 GELU (fusefuzz.kernels.gelu.gelu_poly5, gelu="poly5") costs, declared by its records: per
#: activation 2^-14 |gelu(z)| + 2^-24 |z| (benchmarks/dev/gelu_fit.py: the fit and its dense sweep, worst 0.372 of it)
POLY5_BUDGET = ApproxBudget(relative=2.0**-14, of_input=2.0**-24)

register(KernelRecord(
    name="conv2d_gelu_gap.twopass",
    problem="conv2d_gelu_gap",
    module="fusefuzz.kernels.conv2d_gelu_gap_twopass",
    precision="tf32",
    kwargs={"input_precision": "tf32"},
    deterministic=True,
    description="two kernels: implicit-GEMM conv + bias + erf-GELU (TF32 dot), then a spatial-mean kernel",
))
register(KernelRecord(
    name="conv2d_gelu_gap.twopass-ieee",
    problem="conv2d_gelu_gap",
    module="fusefuzz.kernels.conv2d_gelu_gap_twopass",
    precision="ieee",
    kwargs={"input_precision": "ieee"},
    deterministic=True,
    description="the two-kernel version with an IEEE fp32 dot",
))

register(KernelRecord(
    name="conv2d_gelu_gap.fused",
    problem="conv2d_gelu_gap",
    module="fusefuzz.kernels.conv2d_gelu_gap_fused",
    precision="tf32-rn",
    kwargs={"input_precision": "tf32", "deterministic": False, "gelu": "poly5"},
    approx_budget=POLY5_BUDGET,
    description="one kernel: implicit-GEMM conv + bias + GELU + spatial mean, TF32 operands rounded to "
                "nearest, atomics into the [batch, C_out] result, the degree-5 GELU within its declared "
                "budget (the fast default)",
))
register(KernelRecord(
    name="conv2d_gelu_gap.fused-deterministic",
    problem="conv2d_gelu_gap",
    module="fusefuzz.kernels.conv2d_gelu_gap_fused",
    precision="tf32-rn",
    kwargs={"input_precision": "tf32", "deterministic": True, "gelu": "poly5"},
    approx_budget=POLY5_BUDGET,
    deterministic=True,
    description="the fused kernel with per-program partials summed in a fixed order (bitwise reproducible)",
))
register(KernelRecord(
    name="conv2d_gelu_gap.fused-ieee",
    problem="conv2d_gelu_gap",
    module="fusefuzz.kernels.conv2d_gelu_gap_fused",
    precision="ieee",
    kwargs={"input_precision": "ieee", "deterministic": False, "gelu": "exact"},
    description="the fused kernel with an IEEE fp32 dot and the exact-grade GELU",
))

register(KernelRecord(
    name="linear_gelu.fused",
    problem="linear_gelu",
    module="fusefuzz.kernels.linear_gelu",
    precision="tf32",
    kwargs={"input_precision": "tf32"},
    deterministic=True,
    description="one kernel: tiled GEMM (tl.dot, TF32 for fp32: operands truncated) + bias + exact-grade GELU "
                "epilogue, one store; 16-bit inputs on 16-bit tensor cores, fp32 accumulation",
))
register(KernelRecord(
    name="linear_gelu.fused-ieee",
    problem="linear_gelu",
    module="fusefuzz.kernels.linear_gelu",
    precision="ieee",
    kwargs={"input_precision": "ieee"},
    deterministic=True,
    description="the fused Linear + GELU kernel with an IEEE fp32 dot",
))
register(KernelRecord(
    name="layernorm.fused",
    problem="layernorm",
    module="fusefuzz.kernels.layernorm",
    precision="ieee",
    deterministic=True,
    description="one kernel: rows up to 16384 kept in registers (one read, two-pass mean/variance, one write), "
                "longer rows in three sweeps; fp32 arithmetic for every dtype",
))
register(KernelRecord(
    name="layernorm.looped",
    problem="layernorm",
    module="fusefuzz.kernels.layernorm",
    precision="ieee",
    kwargs={"max_block": 64},
    deterministic=True,
    description="the LayerNorm kernel forced onto its looped long-row path with 64-column chunks (so that path "
                "is fuzzed on small shapes too)",
))
