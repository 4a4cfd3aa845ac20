"""The gpu_benchmark fixture end to end through pytest-benchmark's pedantic, with the GPU clock's logic on
the host clock (HostApi) standing in for CUDA events: rounds, samples and extra_info as stored."""

import json

import pytest

pytest_plugins = ["pytester"]

FAKE_GPU = """
import pytest
from fusefuzz.harness import backend
from fusefuzz.harness.perf import pytest_plugin
from fusefuzz.harness.perf.timer import GpuTimer, HostApi


@pytest.fixture(autouse=True)
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "name", lambda: "cuda")
    monkeypatch.setattr(pytest_plugin.PerfSession, "timer_factory",
                        lambda self: (lambda flush=True: GpuTimer(api=HostApi(), flush=False)))
"""

TEST = """
def test_k(gpu_benchmark):
    gpu_benchmark.describe(kernel="k", precision="tf32")
    gpu_benchmark.work(flops=2e9, bytes=1e6, compute="tf32")
    gpu_benchmark.threshold(1.07)
    out = gpu_benchmark(lambda: sum(range(20000)))
    gpu_benchmark.versus(eager=50.0)
    assert out == sum(range(20000))
"""


@pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
def test_gpu_benchmark_records_rounds_and_extra_info(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # pytest-benchmark disables itself in xdist workers
    pytester.makeconftest(FAKE_GPU)
    pytester.makepyfile(test_k=TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "--benchmark-json", "out.json",
                                "--fusefuzz-bench-min-time", "0", "--fusefuzz-bench-min-rounds", "7",
                                "--fusefuzz-bench-max-rounds", "7")
    result.assert_outcomes(passed=1)
    (bench,) = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    info, stats = bench["extra_info"], bench["stats"]
    assert stats["rounds"] == 7 == len(info["samples_ms"]) == info["rounds"]
    assert info["median_ms"] == pytest.approx(stats["median"] * 1e3, rel=1e-3)
    assert info["kernel"] == "k" and info["regression_threshold"] == 1.07 and info["compute"] == "tf32"
    assert info["tflops"] == pytest.approx(2e9 / (info["median_ms"] / 1e3) / 1e12, rel=1e-2)
    assert info["speedup_vs_eager"] == pytest.approx(50.0 / info["median_ms"], rel=1e-2)
    assert info["side_stream_rounds"] == 0 and "tf32" in info and info["gpu_key"].startswith("cpu-")
