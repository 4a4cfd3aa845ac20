"""pytest side of performance tracking; loaded by :mod:`fusefuzz.harness.plugin` (one ``pytest11`` entry point).

Fixtures:

``gpu_benchmark``
    pytest-benchmark's ``benchmark`` driven by :class:`fusefuzz.harness.perf.timer.GpuTimer` (CUDA events,
    device-wide synchronisation, untimed L2 flush, warm-up past compilation and autotuning, rounds planned
    for a stable median, ``pedantic``). Skips with a reason without a CUDA GPU. Usage::

        gpu_benchmark.describe(kernel=..., precision=..., example=...)      # -> extra_info
        gpu_benchmark.work(flops=..., bytes=..., compute="tf32")              # TFLOP/s, GB/s, % roofline
        out = gpu_benchmark(fn, *args)                                        # timed; returns fn's output
        gpu_benchmark.versus(eager=ms, compile=ms)                            # speedups

``host_benchmark``
    the same recording on the host clock (harness throughput: fuzz campaigns), on any machine.

``perf_session``
    per-session state: the machine description, roofline peaks (spec table and measured once per GPU,
    cached in the storage), eager / torch.compile baseline medians measured in this session.

Hooks: pytest-benchmark's storage is pointed at ``<--fusefuzz-bench-storage>/<gpu-key>`` when runs are
saved or compared (unless ``--benchmark-storage`` is given), ``machine_info["fusefuzz"]`` records the GPU,
driver, versions and TF32 flags, and ``--benchmark-compare`` refuses a stored run of another GPU.
"""

from __future__ import annotations

import statistics

import pytest

DEFAULT_STORAGE = ".benchmarks"
_BENCHMARK_STORAGE_DEFAULT = "file://./.benchmarks"


def add_options(group) -> None:
    """Options of the ``fusefuzz`` group (called from :func:`fusefuzz.harness.plugin.pytest_addoption`)."""
    group.addoption("--fusefuzz-bench-storage", default=DEFAULT_STORAGE, metavar="ROOT",
                    help="root of the per-GPU benchmark storage: saved runs go to ROOT/<gpu-key> (an explicit "
                         "--benchmark-storage wins) (default: %(default)s)")
    group.addoption("--fusefuzz-bench-min-time", type=float, default=0.4, metavar="SECONDS",
                    help="GPU benchmarks: time at least this long per benchmark, for a stable median "
                         "(default: %(default)s)")
    group.addoption("--fusefuzz-bench-min-rounds", type=int, default=30, metavar="N",
                    help="GPU benchmarks: at least this many timed rounds (default: %(default)s)")
    group.addoption("--fusefuzz-bench-max-rounds", type=int, default=2000, metavar="N",
                    help="GPU benchmarks: at most this many timed rounds (default: %(default)s)")
    group.addoption("--fusefuzz-bench-flush-mb", type=int, default=256, metavar="MB",
                    help="L2 flush buffer zeroed before every round, untimed; 0 turns the flush off "
                         "(default: %(default)s)")
    group.addoption("--fusefuzz-bench-baselines", default="eager,compile", metavar="MODES",
                    help="reference timings for the speedup columns: eager, compile, both, or none "
                         "(default: %(default)s)")
    group.addoption("--fusefuzz-bench-interpreter-examples", type=int, default=4, metavar="N",
                    help="harness throughput in the interpreter: examples drawn per campaign round, before the "
                         "profile's explicit ones (on a GPU the ci profile's own 60) (default: %(default)s)")
    group.addoption("--fusefuzz-bench-campaign-rounds", type=int, default=3, metavar="N",
                    help="harness throughput: campaign rounds per benchmark (default: %(default)s)")
    group.addoption("--fusefuzz-bench-slowdown", type=float, default=0.0, metavar="FRACTION",
                    help="testing the regression gate only: after every timed call run a device copy sized to "
                         "cost FRACTION of the call's own time (recorded as injected_slowdown) (default: 0)")


# ----------------------------------------------------------------------------------------------------
# Hooks
# ----------------------------------------------------------------------------------------------------

def _storage_used(option) -> bool:
    return any(getattr(option, name, None) for name in
               ("benchmark_autosave", "benchmark_save", "benchmark_compare", "benchmark_compare_fail"))


def _check_options(config) -> None:
    get = config.getoption
    for name, low in (("--fusefuzz-bench-min-time", 0.0), ("--fusefuzz-bench-flush-mb", 0),
                      ("--fusefuzz-bench-slowdown", 0.0), ("--fusefuzz-bench-min-rounds", 1),
                      ("--fusefuzz-bench-campaign-rounds", 1), ("--fusefuzz-bench-interpreter-examples", 1)):
        if get(name) < low:
            raise pytest.UsageError(f"{name}={get(name)!r} must be >= {low}")
    if get("--fusefuzz-bench-max-rounds") < get("--fusefuzz-bench-min-rounds"):
        raise pytest.UsageError(f"--fusefuzz-bench-max-rounds={get('--fusefuzz-bench-max-rounds')!r} is below "
                                f"--fusefuzz-bench-min-rounds={get('--fusefuzz-bench-min-rounds')!r}")
    PerfSession(config).baseline_modes()  # raises a UsageError naming a bad --fusefuzz-bench-baselines


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Per-GPU storage: before pytest-benchmark opens its storage (its pytest_configure is trylast)."""
    _check_options(config)
    option = config.option
    current = getattr(option, "benchmark_storage", None)
    if current is None or current not in (_BENCHMARK_STORAGE_DEFAULT, "./.benchmarks", ".benchmarks"):
        return  # pytest-benchmark absent, or an explicit --benchmark-storage: the user's choice stands
    if not _storage_used(option):
        return  # nothing is saved or compared: no need to know the GPU (no CUDA context in plain test runs)
    from . import history, machine

    option.benchmark_storage = history.storage_uri(config.getoption("--fusefuzz-bench-storage"), machine.gpu_key())


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info):
    from . import machine

    machine_info["fusefuzz"] = machine.describe()


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_compare_machine_info(config, benchmarksession, machine_info, compared_benchmark):
    mine = (machine_info.get("fusefuzz") or {}).get("gpu_key")
    theirs = ((compared_benchmark.get("machine_info") or {}).get("fusefuzz") or {}).get("gpu_key")
    if mine and theirs != mine:
        raise pytest.UsageError(f"--benchmark-compare: the stored run was measured on GPU key {theirs!r}, this "
                                f"machine is {mine!r}; runs from different GPUs are never compared")


# ----------------------------------------------------------------------------------------------------
# Session state
# ----------------------------------------------------------------------------------------------------

class PerfSession:
    def __init__(self, config):
        self.config = config
        self.root = config.getoption("--fusefuzz-bench-storage")
        self._machine = None
        self._measured = None
        self.baselines: dict = {}  # (example json, mode) -> median ms

    def option(self, name: str):
        return self.config.getoption(name)

    @property
    def machine(self) -> dict:
        if self._machine is None:
            from . import machine

            self._machine = machine.describe()
        return self._machine

    @property
    def spec(self):
        from . import peaks

        return peaks.spec_for(self.machine.get("gpu"))

    def measured(self):
        """Measured ceilings of this GPU (cached under the storage root; measured the first time)."""
        if self._measured is None and self.machine.get("gpu"):
            from . import peaks

            self._measured = peaks.measured(self.root, self.machine["gpu_key"], self.timer_factory())
        return self._measured

    def timer_factory(self):
        from .timer import GpuTimer

        mb = self.option("--fusefuzz-bench-flush-mb")

        def make(flush: bool = True):
            return GpuTimer(flush=flush and mb > 0, flush_bytes=mb << 20)

        return make

    def measure_kwargs(self) -> dict:
        return {"min_time": self.option("--fusefuzz-bench-min-time"),
                "min_rounds": self.option("--fusefuzz-bench-min-rounds"),
                "max_rounds": self.option("--fusefuzz-bench-max-rounds")}

    def baseline_modes(self) -> tuple:
        spec = (self.option("--fusefuzz-bench-baselines") or "").strip()
        if spec in ("", "none"):
            return ()
        if spec == "both":
            return ("eager", "compile")
        modes = tuple(m.strip() for m in spec.split(",") if m.strip())
        bad = [m for m in modes if m not in ("eager", "compile")]
        if bad:
            raise pytest.UsageError(f"--fusefuzz-bench-baselines={spec!r}: {bad} unknown; use eager, compile, "
                                    "both or none")
        return modes

    def baseline(self, example, mode: str, make_fn) -> float:
        """Median ms of the reference in ``mode`` on ``example``: measured once per session."""
        key = (example.json(), mode)
        if key not in self.baselines:
            samples, _ = self.timer_factory()().measure(make_fn(), **self.measure_kwargs())
            self.baselines[key] = statistics.median(samples)
        return self.baselines[key]


@pytest.fixture(scope="session")
def perf_session(request) -> PerfSession:
    return PerfSession(request.config)


# ----------------------------------------------------------------------------------------------------
# The benchmark fixtures
# ----------------------------------------------------------------------------------------------------

_MACHINE_FIELDS = ("gpu", "gpu_key", "driver", "cuda_runtime", "torch", "triton", "compute_capability", "tf32")


class _Recorder:
    """What both fixtures share: extra_info, work, thresholds, speedups."""

    def __init__(self, benchmark, session: PerfSession):
        self.benchmark = benchmark
        self.session = session
        self.info: dict = {}
        self._work = None
        self.samples_ms: list = []

    @property
    def extra_info(self) -> dict:
        return self.benchmark.extra_info

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None

    def describe(self, **info) -> None:
        """Anything JSON-ready about what is timed (shape, dtype, precision contract, kernel config...)."""
        self.info.update(info)
        self.extra_info.update(info)

    def work(self, *, flops: float, bytes: float, compute: str) -> None:  # noqa: A002 - the natural name
        self._work = (float(flops), float(bytes), compute)

    def threshold(self, factor: float, alpha: float | None = None) -> None:
        """This benchmark's regression threshold (slowdown factor) and significance level."""
        self.extra_info["regression_threshold"] = float(factor)
        if alpha is not None:
            self.extra_info["regression_alpha"] = float(alpha)

    def versus(self, **baseline_ms) -> None:
        """Speedups over reference timings measured in this session: ``versus(eager=6.5, compile=2.5)``."""
        med = self.median_ms
        for mode, ms in baseline_ms.items():
            if ms is None:
                continue
            self.extra_info[f"{mode}_ms"] = round(float(ms), 6)
            if med:
                self.extra_info[f"speedup_vs_{mode}"] = round(float(ms) / med, 4)

    def _record(self, samples_ms: list) -> None:
        from . import peaks

        self.samples_ms = list(samples_ms)
        ei = self.extra_info
        machine = self.session.machine
        ei.update({k: machine.get(k) for k in _MACHINE_FIELDS if k in machine})
        ei["samples_ms"] = [round(x, 6) for x in self.samples_ms]
        ei["median_ms"] = round(self.median_ms, 6)
        ei["rounds"] = len(self.samples_ms)
        if len(self.samples_ms) >= 4:
            q = statistics.quantiles(self.samples_ms, n=4)
            ei["iqr_ms"] = round(q[2] - q[0], 6)
        if self._work is not None:
            flops, nbytes, compute = self._work
            t = peaks.throughput(flops, nbytes, self.median_ms)
            ei.update(flops=flops, bytes=nbytes, compute=compute, tflops=round(t["tflops"], 3),
                      gbps=round(t["gbps"], 2))
            for label, pk in (("spec", self.session.spec), ("measured", self.session.measured())):
                if pk is None:
                    continue
                line = peaks.Roofline(flops, nbytes, compute, pk)
                ei[f"roofline_{label}_ms"] = round(line.ms, 6)
                ei[f"pct_roofline_{label}"] = round(line.percent(self.median_ms), 2)
                ei["bound"] = line.bound
            why = peaks.impossible(flops, nbytes, self.median_ms, compute, self.session.spec, self.session.measured())
            if why:
                ei["beyond_roofline"] = why


class GpuBenchmark(_Recorder):
    def __call__(self, fn, *args, **kwargs):
        from .. import backend

        if backend.name() != "cuda":
            pytest.skip(f"needs a CUDA GPU; fusefuzz backend is {backend.name()}")
        bm = self.benchmark
        if getattr(bm, "disabled", False):
            return fn(*args, **kwargs)  # --benchmark-disable / xdist: run once, as a plain test
        timer = self.session.timer_factory()()
        timer.warm_up(fn, *args, **kwargs)
        target = fn
        slowdown = self.session.option("--fusefuzz-bench-slowdown") or 0.0
        if slowdown > 0:
            own_ms, _ = timer.estimate_round_ms(fn, *args, **kwargs)
            target = _slowed(fn, slowdown * own_ms)
            timer.warm_up(target, *args, **kwargs)
            self.extra_info["injected_slowdown"] = slowdown
        _, wall = timer.estimate_round_ms(target, *args, **kwargs)
        kw = self.session.measure_kwargs()
        rounds = timer.plan_rounds(wall, min_time=kw["min_time"], min_rounds=kw["min_rounds"],
                                   max_rounds=kw["max_rounds"])
        timer.reset()
        if not hasattr(bm, "_timer"):
            raise RuntimeError("this pytest-benchmark has no BenchmarkFixture._timer; gpu_benchmark cannot install "
                               "its GPU clock (pytest-benchmark 3.x-5.x have it)")
        bm._timer = timer  # pytest-benchmark's per-fixture timer: called at the start and end of every round
        out = bm.pedantic(target, args=args, kwargs=kwargs, setup=timer.setup, rounds=rounds, warmup_rounds=0,
                          iterations=1)
        from .. import tamper

        changed = tamper.timing_changes()  # the clock used the captured originals; a replaced one is reported
        if changed:
            tamper.restore(tamper.baseline().timing_only())
            pytest.fail("tampering: " + tamper.message(changed, "while benchmarking,"), pytrace=False)
        self._record([1e3 * s for s in bm.stats.stats.data])
        self.extra_info.update(timer.summary())
        return out


class HostBenchmark(_Recorder):
    def __call__(self, fn, *args, rounds: int = 3, warmup_rounds: int = 0, **kwargs):
        """Time ``fn`` on the host clock; ``fn`` may call ``host_benchmark.report(seconds)`` to replace the
        wall time with a duration it measured itself (e.g. a campaign's own seconds)."""
        from .timer import HostClock

        bm = self.benchmark
        if getattr(bm, "disabled", False):
            return fn(*args, **kwargs)
        self.clock = HostClock()
        bm._timer = self.clock
        out = bm.pedantic(fn, args=args, kwargs=kwargs, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        self._record([1e3 * s for s in bm.stats.stats.data])
        self.extra_info["timer"] = str(self.clock)
        return out

    def report(self, seconds: float) -> None:
        self.clock.report(seconds)


def _slowed(fn, extra_ms: float):
    """``fn`` followed by a device copy that costs about ``extra_ms`` (a real extra memory pass, no sleep)."""
    import torch

    from .timer import GpuTimer

    probe = 64 << 20
    src = torch.empty(probe, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    per_ms = probe / GpuTimer(flush=False).median_ms(lambda: dst.copy_(src), min_time=0.05, min_rounds=5)
    n = int(min(2 << 30, max(4096, extra_ms * per_ms)))
    src = torch.zeros(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)

    def slowed(*args, **kwargs):
        out = fn(*args, **kwargs)
        dst.copy_(src)
        return out

    return slowed


@pytest.fixture
def gpu_benchmark(benchmark, perf_session) -> GpuBenchmark:
    from .. import backend

    if backend.name() != "cuda":
        pytest.skip(f"GPU benchmark: needs a CUDA GPU; fusefuzz backend is {backend.name()} "
                    "(torch.cuda.is_available() is False or FUSEFUZZ_BACKEND says so)")
    return GpuBenchmark(benchmark, perf_session)


@pytest.fixture
def host_benchmark(benchmark, perf_session) -> HostBenchmark:
    return HostBenchmark(benchmark, perf_session)
