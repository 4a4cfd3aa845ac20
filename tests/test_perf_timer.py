"""The GPU round clock's logic on a simulated device: stream time normally, device time when a call
leaves work on another stream (harness/perf/timer.py). The real CUDA path runs in the GPU benchmarks."""

import pytest
from fusefuzz.harness.perf.timer import GpuTimer, HostApi, HostClock


class SimDevice:
    """Two streams and a host, in ms. Kernels queue behind their stream; events on the main stream fire
    when its queue is done; synchronize() waits for every stream, then the host wakes ``wake`` ms later."""

    def __init__(self, wake=0.008, launch=0.004):
        self.host, self.wake, self.launch_ms = 0.0, wake, launch
        self.tail = {"main": 0.0, "side": 0.0}

    def launch(self, ms, stream="main"):
        start = max(self.host, self.tail[stream], self.tail["main"])  # a side stream waits on main first
        self.tail[stream] = start + ms
        self.host += self.launch_ms


class SimApi:
    has_spin = True
    flush_bytes = 256 << 20

    def __init__(self, dev):
        self.dev = dev

    def record(self):
        t = max(self.dev.host, self.dev.tail["main"])
        self.dev.host += 0.001
        return t

    def elapsed_ms(self, a, b):
        return b - a

    def wait(self, event):
        self.dev.host = max(self.dev.host, event)

    def synchronize(self):
        self.dev.host = max(self.dev.host, *self.dev.tail.values()) + self.dev.wake

    def flush(self):
        self.dev.launch(0.08)

    def spin(self, cycles):
        self.dev.launch(cycles / 1.5e6)  # a 1.5 GHz clock


def _timer():
    dev = SimDevice()
    t = GpuTimer(api=SimApi(dev))
    return dev, t


def test_same_stream_kernel_is_timed_by_its_stream_events():
    dev, t = _timer()
    samples, _ = t.measure(lambda: dev.launch(0.5), min_time=0.0, min_rounds=20, max_rounds=20)
    assert len(samples) == 20 and t.side_rounds == 0
    assert all(s == pytest.approx(0.5, abs=1e-9) for s in samples)
    assert t.spin_cycles > 0 and t.idle_lag_ms == pytest.approx(dev.wake + 0.0, abs=0.003)


def test_work_left_on_a_side_stream_is_counted():
    dev, t = _timer()
    samples, _ = t.measure(lambda: dev.launch(0.5, "side"), min_time=0.0, min_rounds=20, max_rounds=20)
    assert t.side_rounds == 20
    assert all(s == pytest.approx(0.5, abs=0.005) for s in samples)
    assert max(t.stream_ms) < 0.01  # what stream events alone would have claimed


def test_a_broken_clock_that_ignores_other_streams_would_report_nothing():
    # the same side-stream call through a clock whose tail limit is never set (no device-wide accounting)
    dev, t = _timer()
    t.warm_up(lambda: dev.launch(0.5, "side"))
    t.lag_limit_ms = None
    t.reset()
    ms = [t.round(lambda: dev.launch(0.5, "side"))[0] for _ in range(5)]
    assert max(ms) < 0.01  # this is the bug the device-wide synchronisation exists to catch


def test_pytest_benchmark_calls_alternate_start_and_end():
    dev, t = _timer()
    t.calibrate()
    t.setup()
    assert t() == 0.0
    dev.launch(0.25)
    assert t() == pytest.approx(0.25e-3)
    assert t.samples == [pytest.approx(0.25)]


def test_plan_rounds_bounds():
    assert GpuTimer.plan_rounds(1.0, min_time=0.4, min_rounds=30, max_rounds=2000) == 400
    assert GpuTimer.plan_rounds(100.0, min_time=0.4, min_rounds=30, max_rounds=2000) == 30
    assert GpuTimer.plan_rounds(0.001, min_time=0.4, min_rounds=30, max_rounds=2000) == 2000


def test_host_api_and_clock_work_without_a_gpu():
    t = GpuTimer(api=HostApi(), flush=False)
    samples, out = t.measure(lambda: sum(range(1000)), min_time=0.0, min_rounds=5, max_rounds=5)
    assert len(samples) == 5 and out == sum(range(1000)) and all(s >= 0 for s in samples)
    clock = HostClock()
    clock()
    clock.report(2.5)
    assert clock() == 2.5 and clock.samples == [2500.0]
