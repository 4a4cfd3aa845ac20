"""``fusefuzz bench`` integrity on CPU: outputs re-verified after the timing loop, the roofline flag with
fake timings, and the clear refusal without a GPU (harness/perf/bench.py, harness/perf/peaks.py)."""

import pytest
from conftest import REPO
from fusefuzz.harness import problems
from fusefuzz.harness.candidates import load
from fusefuzz.harness.cli import main
from fusefuzz.harness.configs import pinned, sweep
from fusefuzz.harness.example import Example
from fusefuzz.harness.perf import bench, peaks
from fusefuzz.harness.perf.timer import GpuTimer, HostApi

PROBLEM = problems.get("conv2d_gelu_gap")
TINY = Example(sizes=dict(batch=2, in_channels=2, out_channels=3, height=6, width=6, kernel_size=3),
               dtype="float32", distribution="rand", seed=0)
H100 = peaks.spec_for("NVIDIA H100 80GB HBM3")


class FakeTimer:
    """Claims ``ms`` per round without timing anything (the call still runs once, for its output)."""

    def __init__(self, ms):
        self.ms = ms

    def measure(self, fn, **_):
        return [self.ms] * 30, fn()

    def summary(self):
        return {"side_stream_rounds": 0}


def _bench(path, timer_factory, **kw):
    candidate = load(f"{REPO}/{path}")
    with pinned(sweep(candidate.autotuners)[0]):  # the interpreter cannot autotune: first config
        return bench.run_bench(PROBLEM, candidate, TINY, timer_factory=timer_factory, baselines=(), **kw)


def _host_timer():
    return GpuTimer(api=HostApi(), flush=False)  # the real clock logic on the host clock


def test_side_stream_candidate_timing_is_refused_after_verification():
    # zoo 23 returns an output its deferred launch has not written yet: the timing is void
    res = _bench("tests/zoo/23_side_stream_no_sync.py", lambda: FakeTimer(0.5))
    assert res.verdict == bench.INVALID and res.exit_code == 1
    assert res.median_ms is None and res.claimed_median_ms > 0 and "timing not reported" in res.reason
    kinds = {c.name: c.kind for c in res.checks if not c.ok}
    assert kinds["poisoned call on new values in the same tensors"] == "uninitialized_output"


def test_correct_kernel_timing_is_reported():
    res = _bench("tests/zoo/30_control_ieee.py", _host_timer, min_time=0.0, rounds=4)
    assert res.verdict == bench.VALID and res.exit_code == 0
    assert all(c.ok for c in res.checks) and res.median_ms == res.claimed_median_ms > 0


def test_faster_than_the_roofline_is_flagged_not_reported():
    # the tiny example moves 828 bytes: on an H100 that takes >= 2.5e-7 ms; a claimed 1e-9 ms is impossible
    res = _bench("tests/zoo/30_control_ieee.py", lambda: FakeTimer(1e-9), spec=H100)
    assert res.verdict == bench.IMPOSSIBLE and res.median_ms is None and res.tflops is None
    assert "faster than the roofline allows" in res.reason
    ok = _bench("tests/zoo/30_control_ieee.py", lambda: FakeTimer(0.01), spec=H100)
    assert ok.verdict == bench.VALID and ok.roofline["spec"]["percent"] < 100


def test_roofline_numbers_at_the_headline_shape():
    ex = PROBLEM.headline
    flops, nbytes = PROBLEM.flops(ex), PROBLEM.min_bytes(ex)
    line = peaks.Roofline(flops, nbytes, "tf32", H100)
    assert flops == pytest.approx(76.1e9, rel=1e-3) and line.bound == "compute"
    assert line.ms == pytest.approx(0.1539, rel=1e-3)
    assert line.percent(0.61) == pytest.approx(25.2, abs=0.1)
    assert peaks.impossible(flops, nbytes, 0.61, "tf32", H100, None) is None
    assert "faster than the roofline" in peaks.impossible(flops, nbytes, 0.10, "tf32", H100, None)
    # an IEEE (FMA) kernel is held to the FP32 peak: 0.61 ms would be impossible for it
    assert peaks.impossible(flops, nbytes, 0.61, "fp32", H100, None)
    assert peaks.compute_class("float32", "ieee") == "fp32" and peaks.compute_class("float32", "tf32-rn") == "tf32"
    rtx = peaks.spec_for("NVIDIA GeForce RTX 4090")
    assert rtx.tflops_for("tf32") == 82.6 and rtx.gbps == 1008.0
    assert peaks.Roofline(flops, nbytes, "tf32", rtx).ms == pytest.approx(0.921, rel=1e-3)
    assert peaks.spec_for("Tesla T4") is None


def test_bench_without_a_gpu_exits_2_with_one_line(capsys):
    assert main(["bench", "tests/zoo/30_control_ieee.py"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "CUDA GPU" in err
