"""The GPU round clock: what one timed call of a kernel costs on the device, honestly.

One *round* (:meth:`GpuTimer.setup` untimed, then the timed call between two clock readings):

1. **untimed setup**: reset the persisting-L2 carve-out (``cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 0)``
   and ``cudaCtxResetPersistingL2Cache``: lines a candidate marked persisting would survive the flush), zero a
   256 MB buffer (evicts the L2: the H100 has 50 MB, the 4090 72 MB), then queue
   a short spin kernel (``torch.cuda._sleep``) sized to cover the host's launch overhead of the call, so
   the GPU is never idle waiting for Python while the clock runs;
2. **start**: a CUDA event on the current stream;
3. the call;
4. **end**: a CUDA event on the current stream, then ``torch.cuda.synchronize()`` (device-wide: every
   stream of the device, not only the one the events are on), then a second event recorded once the
   device is idle.

``stream ms`` (start -> end event) is the launching stream's time; ``device ms`` (start -> the event after
the device-wide synchronisation) also covers work the call left running on other streams. Calibration
(an empty call) measures the idle tail of ``device ms`` (host wake-up + event record, ~10 us). A round
whose tail exceeds that limit left work behind on another stream: it is counted with its device time
(less the idle tail), and counted in :attr:`GpuTimer.side_rounds`, so a kernel cannot make its timing
look faster by not waiting for itself.

Warm-up (:meth:`GpuTimer.warm_up`) calls the function until compilation and autotuning are done (at least
``min_calls`` calls and ``min_time`` seconds), outside the clock. The number of rounds is chosen for a
stable median (:meth:`GpuTimer.plan_rounds`: at least ``min_time`` seconds of rounds, within
``[min_rounds, max_rounds]``).

The clock calls the CUDA event, synchronisation and host-clock callables captured before any candidate was
imported (:mod:`fusefuzz.harness.tamper`): a candidate that replaces ``torch.cuda.Event.elapsed_time`` does not
change what it reads, and :func:`fusefuzz.harness.tamper.timing_changes` tells the caller it tried.

The same object is pytest-benchmark's timer (``benchmark._timer``, called at the start and at the end of
every round of ``benchmark.pedantic``): the first call of a pair records the start event and returns 0,
the second returns the round's device time in seconds, so pytest-benchmark's own statistics are device
time. :class:`HostClock` is the same interface on the host clock (the harness-throughput benchmarks).
"""

from __future__ import annotations

import ctypes
import statistics
import time

FLUSH_BYTES = 256 << 20
#: spin before the start event: 1.5x the host's launch time of the call + 20 us, within these bounds (ms)
SPIN_MIN_MS, SPIN_MAX_MS = 0.05, 5.0


def set_tf32(on: bool) -> tuple:
    import torch

    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    return saved


def restore_tf32(saved: tuple) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


_FLUSH_BUFFERS: dict = {}


def _reset_persisting_l2() -> bool:
    """Give back the persisting-L2 carve-out and demote lines marked persisting (a candidate can set an access
    policy window so its data survives the L2 flush). True when libcudart was found and both calls succeeded."""
    global _CUDART
    if _CUDART is None:
        _CUDART = False
        paths = []
        try:
            with open("/proc/self/maps") as f:
                paths = sorted({line.split()[-1] for line in f if "libcudart" in line and "/" in line})
        except OSError:
            pass
        for path in [*paths, "libcudart.so"]:
            try:
                _CUDART = ctypes.CDLL(path)
                break
            except OSError:
                continue
    if not _CUDART:
        return False
    try:
        limit = _CUDART.cudaDeviceSetLimit(0x06, ctypes.c_size_t(0))  # cudaLimitPersistingL2CacheSize
        reset = _CUDART.cudaCtxResetPersistingL2Cache()
    except AttributeError:
        return False
    return limit == 0 and reset == 0


_CUDART = None


class CudaApi:
    """The few CUDA calls the clock makes (tests substitute a simulated device).

    It calls the CUDA event and synchronisation callables captured before any candidate was imported
    (:func:`fusefuzz.harness.tamper.baseline`), not whatever ``torch.cuda`` holds when a round runs."""

    def __init__(self, flush_bytes: int = FLUSH_BYTES):
        import torch

        from .. import tamper

        self.torch = torch
        self.flush_bytes = flush_bytes
        self._buffer = None
        self.has_spin = hasattr(torch.cuda, "_sleep")
        base = tamper.baseline()
        self._event = base.original("torch.cuda", "Event")
        self._record = base.original("torch.cuda.Event", "record")
        self._elapsed = base.original("torch.cuda.Event", "elapsed_time")
        self._wait = base.original("torch.cuda.Event", "synchronize")
        self._synchronize = base.original("torch.cuda", "synchronize")
        self.l2_reset = None  # whether the persisting-L2 reset worked (None: not tried yet)

    def record(self):
        e = self._event(enable_timing=True)
        self._record(e)
        return e

    def elapsed_ms(self, a, b) -> float:
        return float(self._elapsed(a, b))

    def wait(self, event) -> None:
        self._wait(event)

    def synchronize(self) -> None:
        self._synchronize()  # the whole device: every stream, not just the current one

    def reset_l2(self) -> None:
        self.l2_reset = _reset_persisting_l2()

    def flush(self) -> None:
        if not self.flush_bytes:
            return
        if self._buffer is None:  # one buffer per size and process: pytest-benchmark keeps every timer alive
            key = (self.flush_bytes, self.torch.cuda.current_device())
            if key not in _FLUSH_BUFFERS:
                _FLUSH_BUFFERS[key] = self.torch.empty(self.flush_bytes, dtype=self.torch.int8, device="cuda")
            self._buffer = _FLUSH_BUFFERS[key]
        self._buffer.zero_()

    def spin(self, cycles: int) -> None:
        if cycles > 0 and self.has_spin:
            self.torch.cuda._sleep(int(cycles))


class HostApi:
    """The clock's calls on the host clock (no GPU): for CPU runs of the bench pipeline and for tests."""

    has_spin = False
    flush_bytes = 0
    l2_reset = None

    def __init__(self):
        from .. import tamper

        self._clock = tamper.baseline().original("time", "perf_counter")

    def record(self):
        return self._clock()

    def elapsed_ms(self, a, b) -> float:
        return (b - a) * 1e3

    def wait(self, event) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def spin(self, cycles: int) -> None:
        pass


class GpuTimer:
    """Per-round device time of a call on the current CUDA device (see the module docstring)."""

    def __init__(self, *, flush: bool = True, flush_bytes: int = FLUSH_BYTES, api=None, spin: bool = True):
        self.api = api or CudaApi(flush_bytes if flush else 0)
        self.flush_enabled = flush and bool(flush_bytes)
        self.spin_enabled = spin and getattr(self.api, "has_spin", True)
        self.spin_cycles = 0
        self.cycles_per_ms = None
        self.idle_lag_ms = None  # median idle tail of device ms
        self.lag_limit_ms = None  # tails above this mean work left on another stream
        self.host_ms = None  # host time of one call (launch overhead), measured in warm-up
        self.reset()

    def __str__(self) -> str:
        return (f"fusefuzz GpuTimer(cuda events, device-wide sync, flush={'256MB' if self.flush_enabled else 'off'}, "
                f"spin={self.spin_cycles} cycles)")

    __name__ = "fusefuzz.GpuTimer"

    def reset(self) -> None:
        self.samples: list[float] = []  # reported ms per round
        self.stream_ms: list[float] = []
        self.device_ms: list[float] = []
        self.lag_ms: list[float] = []
        self.side_rounds = 0
        self._start = None

    # -- one round ------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Untimed, before each round: evict the L2, then keep the GPU busy while the host launches."""
        reset_l2 = getattr(self.api, "reset_l2", None)
        if reset_l2 is not None:
            reset_l2()
        if self.flush_enabled:
            self.api.flush()
        if self.spin_enabled and self.spin_cycles:
            self.api.spin(self.spin_cycles)

    def start(self) -> None:
        self._start = self.api.record()

    def stop(self) -> float:
        """End the round; return its time in ms (device time if work outlived the launching stream)."""
        if self._start is None:
            raise RuntimeError("GpuTimer.stop() without start(): the clock must be read in start/stop pairs")
        end = self.api.record()
        self.api.synchronize()
        idle = self.api.record()
        self.api.wait(idle)
        stream = self.api.elapsed_ms(self._start, end)
        device = self.api.elapsed_ms(self._start, idle)
        self._start = None
        lag = device - stream
        self.stream_ms.append(stream)
        self.device_ms.append(device)
        self.lag_ms.append(lag)
        value = stream
        if self.lag_limit_ms is not None and lag > self.lag_limit_ms:
            self.side_rounds += 1
            value = max(stream, device - (self.idle_lag_ms or 0.0))
        self.samples.append(value)
        return value

    def __call__(self) -> float:
        """pytest-benchmark's timer: start of a round -> 0.0; end of it -> the round's seconds."""
        if self._start is None:
            self.start()
            return 0.0
        return self.stop() / 1e3

    def round(self, fn, *args, **kwargs):
        """One full round outside pytest-benchmark; returns (ms, fn's result)."""
        self.setup()
        self.start()
        out = fn(*args, **kwargs)
        return self.stop(), out

    # -- calibration ----------------------------------------------------------------------------------
    def warm_up(self, fn, *args, min_calls: int = 3, min_time: float = 0.05, **kwargs):
        """Call ``fn`` (compilation and autotuning happen here) until ``min_calls`` calls and ``min_time``
        seconds have passed; measure its host launch time; size the spin; calibrate the idle tail.
        Returns the last output."""
        t0 = time.perf_counter()
        calls, out = 0, None
        while calls < min_calls or time.perf_counter() - t0 < min_time:
            out = fn(*args, **kwargs)
            self.api.synchronize()
            calls += 1
            if calls >= 10_000:
                break
        host = []
        for _ in range(5):
            h0 = time.perf_counter()
            out = fn(*args, **kwargs)
            host.append((time.perf_counter() - h0) * 1e3)
            self.api.synchronize()
        self.host_ms = statistics.median(host)
        self.calibrate(spin_ms=min(SPIN_MAX_MS, max(SPIN_MIN_MS, 1.5 * self.host_ms + 0.02)))
        return out

    def calibrate(self, spin_ms: float = SPIN_MIN_MS, rounds: int = 30) -> None:
        """Size the spin kernel to ``spin_ms`` and measure the idle tail of the device time."""
        if self.spin_enabled and self.cycles_per_ms is None:
            probe = 1_000_000
            self.api.synchronize()
            a = self.api.record()
            self.api.spin(probe)
            b = self.api.record()
            self.api.wait(b)
            ms = self.api.elapsed_ms(a, b)
            self.cycles_per_ms = probe / ms if ms > 0 else 0.0
        self.spin_cycles = int(spin_ms * (self.cycles_per_ms or 0.0)) if self.spin_enabled else 0
        self.lag_limit_ms = None
        self.reset()
        for _ in range(rounds):
            self.round(_nothing)
        lags = sorted(self.lag_ms)
        self.idle_lag_ms = statistics.median(lags)
        p90 = lags[int(0.9 * (len(lags) - 1))]
        self.lag_limit_ms = max(2.0 * p90, p90 + 0.015)
        self.reset()

    @staticmethod
    def plan_rounds(round_ms: float, *, min_time: float, min_rounds: int, max_rounds: int) -> int:
        if round_ms <= 0:
            return max_rounds
        return int(min(max_rounds, max(min_rounds, -(-min_time * 1e3 // round_ms))))

    def estimate_round_ms(self, fn, *args, rounds: int = 5, **kwargs) -> tuple[float, float]:
        """(median round ms, wall ms per round including the untimed setup) over a few rounds, for
        planning the round count; the samples are discarded."""
        t0 = time.perf_counter()
        ms = [self.round(fn, *args, **kwargs)[0] for _ in range(rounds)]
        wall = (time.perf_counter() - t0) * 1e3 / rounds
        self.reset()
        return statistics.median(ms), wall

    # -- the whole measurement ------------------------------------------------------------------------
    def measure(self, fn, *args, min_time: float = 0.5, min_rounds: int = 30, max_rounds: int = 2000,
                warmup_calls: int = 3, warmup_time: float = 0.05, rounds: int | None = None,
                before_round=None, after_round=None, **kwargs):
        """Warm up, plan, time; returns (per-round ms, the last round's output).

        ``rounds``: a fixed count (what the candidate does in its warm-up cannot change it); None plans it
        from a few rounds (for trusted code: baselines, peaks). ``before_round(i)`` runs untimed before round
        ``i``'s setup (new input values); ``after_round(i, out)`` untimed after it (keeping outputs to check)."""
        self.warm_up(fn, *args, min_calls=warmup_calls, min_time=warmup_time, **kwargs)
        if rounds is None:
            _, wall = self.estimate_round_ms(fn, *args, **kwargs)
            rounds = self.plan_rounds(wall, min_time=min_time, min_rounds=min_rounds, max_rounds=max_rounds)
        self.reset()
        out = None
        for i in range(rounds):
            if before_round is not None:
                before_round(i)
            _, out = self.round(fn, *args, **kwargs)
            if after_round is not None:
                after_round(i, out)
        return list(self.samples), out

    def median_ms(self, fn, *args, min_time: float = 0.3, min_rounds: int = 10, **kwargs) -> float:
        samples, _ = self.measure(fn, *args, min_time=min_time, min_rounds=min_rounds, **kwargs)
        return statistics.median(samples)

    def summary(self) -> dict:
        """What extra_info records about how the rounds were timed."""
        med = (lambda xs: round(statistics.median(xs), 6) if xs else None)
        return {
            "timer": "cuda events around each round, device-wide synchronize, untimed L2 flush + spin",
            "flush_bytes": getattr(self.api, "flush_bytes", 0) if self.flush_enabled else 0,
            "spin_cycles": self.spin_cycles,
            "host_launch_ms": None if self.host_ms is None else round(self.host_ms, 4),
            "idle_tail_ms": None if self.idle_lag_ms is None else round(self.idle_lag_ms, 4),
            "tail_limit_ms": None if self.lag_limit_ms is None else round(self.lag_limit_ms, 4),
            "stream_ms_median": med(self.stream_ms),
            "device_ms_median": med(self.device_ms),
            "side_stream_rounds": self.side_rounds,
            "persisting_l2_reset": getattr(self.api, "l2_reset", None),
        }


def _nothing():
    return None


class HostClock:
    """The same start/stop interface on ``time.perf_counter`` (host-side work such as fuzz campaigns),
    or replaying durations the timed code measured itself (:meth:`report`)."""

    __name__ = "fusefuzz.HostClock"

    def __init__(self):
        self.samples: list[float] = []
        self._t0 = None
        self._reported = None

    def __str__(self) -> str:
        return "fusefuzz HostClock(time.perf_counter, or durations reported by the timed code)"

    def setup(self) -> None:
        pass

    def report(self, seconds: float) -> None:
        """The timed code measured itself (e.g. a campaign's own seconds, without process start-up)."""
        self._reported = float(seconds)

    def __call__(self) -> float:
        if self._t0 is None:
            self._reported = None
            self._t0 = time.perf_counter()
            return 0.0
        elapsed = time.perf_counter() - self._t0
        self._t0 = None
        if self._reported is not None:
            elapsed, self._reported = self._reported, None
        self.samples.append(elapsed * 1e3)
        return elapsed
