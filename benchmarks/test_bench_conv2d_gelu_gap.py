"""GPU benchmarks of conv2d_gelu_gap: the reference (eager, torch.compile) and every bundled kernel.

Run (GPU; skipped with a reason elsewhere)::

    python -m pytest benchmarks --benchmark-autosave        # stored under .benchmarks/<gpu-key>/
    fusefuzz perf compare                                   # the regression gate
    fusefuzz perf report --out perf-report                  # PNG + Markdown/HTML

Each kernel benchmark records its example, precision contract, autotuned config, TFLOP/s, GB/s, % of the
roofline and its speedup over eager and torch.compile measured in the same pytest run, and its outputs are
re-verified against the float64 reference after the timing loop (a timing of wrong outputs fails the test).
The reference benchmarks run first, so their medians feed the kernels' speedup columns.
"""

import pytest

from fusefuzz.harness import problems
from fusefuzz.harness.perf import bench, cases
from fusefuzz.harness.perf.peaks import compute_class

pytestmark = pytest.mark.gpu

PROBLEM = problems.get(cases.PROBLEM)


def _shape_info(example) -> dict:
    return {"problem": PROBLEM.name, "shape": cases.shape_name(example), "sizes": dict(example.sizes),
            "input_shape": list(PROBLEM.input_shapes(example)[0]), "dtype": example.dtype, "layout": example.layout}


_LOW = {"float16": "fp16", "bfloat16": "bf16"}


def _reference(example, mode: str):
    """The reference (parameters from its own init under the example's seed) on the example's inputs."""
    inputs = PROBLEM.make_inputs(example, "cuda")
    return bench.reference_fn(PROBLEM.make_reference(example, "cuda"), inputs, mode)


@pytest.mark.parametrize("case", cases.REFERENCE_CASES, ids=lambda c: c.id)
def test_reference(gpu_benchmark, perf_session, case):
    import torch

    ex = case.example
    tf32 = ex.dtype == "float32" and bool(torch.backends.cudnn.allow_tf32)
    gpu_benchmark.describe(**_shape_info(ex), kernel=f"reference ({case.mode})",
                           precision=_LOW.get(ex.dtype, "tf32-rn" if tf32 else "ieee"),
                           config="torch.compile(mode=default)" if case.mode == "compile" else "eager aten ops")
    gpu_benchmark.work(flops=PROBLEM.flops(ex), bytes=PROBLEM.min_bytes(ex),
                       compute=compute_class(ex.dtype, "tf32" if tf32 else "ieee"))
    gpu_benchmark.threshold(cases.THRESHOLDS[case.shape])
    gpu_benchmark(_reference(ex, case.mode))
    if not perf_session.option("--fusefuzz-bench-slowdown"):
        perf_session.baselines[(ex.json(), case.mode)] = gpu_benchmark.median_ms


@pytest.mark.parametrize("case", cases.KERNEL_CASES, ids=lambda c: c.id)
def test_kernel(gpu_benchmark, perf_session, case):
    from fusefuzz.harness import registry
    from fusefuzz.harness.candidates import from_record

    ex = case.example
    record = registry.get(case.kernel)
    candidate = from_record(record)
    setup = bench.prepare(PROBLEM, candidate, ex)
    gpu_benchmark.describe(**_shape_info(ex), kernel=record.name, precision=record.precision,
                           deterministic=record.deterministic, kernel_kwargs=dict(record.kwargs))
    gpu_benchmark.work(flops=PROBLEM.flops(ex), bytes=PROBLEM.min_bytes(ex),
                       compute=compute_class(ex.dtype, record.precision))
    gpu_benchmark.threshold(cases.THRESHOLDS[case.shape])
    out = gpu_benchmark(setup.call)
    gpu_benchmark.describe(config=bench.tuned_configs(candidate))
    failed = [c for c in bench.verify_after_timing(setup, out) if not c.ok]
    assert not failed, f"outputs wrong after the timing loop: {failed[0].name}: {failed[0].kind}: {failed[0].message}"
    gpu_benchmark.versus(**{mode: perf_session.baseline(ex, mode, lambda mode=mode: _reference(ex, mode))
                            for mode in perf_session.baseline_modes()})
    assert not gpu_benchmark.extra_info.get("beyond_roofline"), gpu_benchmark.extra_info["beyond_roofline"]
