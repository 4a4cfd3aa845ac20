"""GPU checks of the timing integrity (skipped with a reason without CUDA): device-wide synchronisation
counts side-stream work; a candidate whose outputs are not ready when forward returns gets no timing."""

import pytest
from conftest import REPO
from fusefuzz.harness import problems
from fusefuzz.harness.candidates import load
from fusefuzz.harness.perf import bench, cases, peaks
from fusefuzz.harness.perf.timer import GpuTimer

pytestmark = pytest.mark.gpu

PROBLEM = problems.get("conv2d_gelu_gap")


def _bench(path, **kw):
    import torch

    spec = peaks.spec_for(torch.cuda.get_device_name())
    return bench.run_bench(PROBLEM, load(f"{REPO}/{path}"), cases.example("headline"), timer_factory=GpuTimer,
                           baselines=(), min_time=0.2, spec=spec, **kw)


def test_side_stream_work_is_counted_not_hidden():
    res = _bench("tests/candidates/side_stream_unsynced.py")
    assert res.verdict == bench.VALID, res.reason  # the results are right once the device is synchronised
    assert res.timer["side_stream_rounds"] == res.rounds
    # stream events alone see the launch only; the reported time is the kernel's
    assert res.timer["stream_ms_median"] < 0.2 * res.median_ms
    assert res.roofline["spec"]["percent"] < 100


def test_deferred_launch_gets_no_timing():
    res = _bench("tests/zoo/23_side_stream_no_sync.py")
    assert res.verdict == bench.INVALID and res.median_ms is None
    assert any(c.kind == "uninitialized_output" for c in res.checks if not c.ok)
