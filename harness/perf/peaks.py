"""Roofline peaks per GPU: a spec table with its sources, and ceilings measured once per GPU and cached.

A benchmark's roofline time is ``max(flops / peak_compute, min_bytes / peak_bandwidth)``; "% of roofline"
is that time over the measured one. Which compute peak applies depends on the dot's precision
(:func:`compute_class`): fp32 operands with an ``ieee`` contract run on the FP32 FMA units, TF32
contracts on the TF32 tensor cores, fp16/bf16 on the 16-bit tensor cores with fp32 accumulation.

Dense peaks only (no 2:4 sparsity: a convolution has none). Sources:

* H100 SXM5 80GB: NVIDIA H100 Tensor Core GPU datasheet (as tabulated e.g. by HPC Tech's product page and
  glennklockwood.com/garden/processors/h100): FP32 66.9, TF32 tensor 989.4 with sparsity -> 494.7 dense,
  FP16/BF16 tensor 1978.9 with sparsity -> 989.4 dense TFLOP/s; HBM3 3.35 TB/s.
* H100 PCIe 80GB: same datasheet: FP32 51, TF32 756 sparse -> 378 dense, FP16/BF16 1513 sparse -> 756.5
  dense; HBM2e 2.0 TB/s.
* H200 SXM 141GB: the GH100 compute of the H100 SXM (same peaks) with HBM3e at 4.8 TB/s (NVIDIA H200
  product page; e.g. aiminingco.com/gpu/h200/specs).
* GeForce RTX 4090: NVIDIA Ada GPU architecture whitepaper v2.01, appendix table for the RTX 4090 (as
  tabulated by gigagpu.com and waredb.com): FP32 82.6, TF32 tensor 82.6 dense (165.2 sparse), FP16/BF16
  tensor with FP32 accumulate 165.2 dense (330.4 sparse; 330.3 dense only with FP16 accumulate, which no
  kernel here uses); GDDR6X 1008 GB/s.

Measured ceilings (:func:`measure`): large cuBLAS matmuls per compute class and a 1 GiB device copy, timed
with :mod:`fusefuzz.harness.perf.timer`; cached as ``<storage>/<gpu-key>/peaks.json``. On the lent H100 they were
375 TFLOP/s TF32 and 3.0 TB/s (shared/notes/facts.md): about 76 % and 90 % of spec.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

COMPUTE_CLASSES = ("fp32", "tf32", "fp16", "bf16")

#: achieved throughput above spec x this is impossible, not fast: boost clocks run past the spec's clock
#: (an RTX 4090 boosts to ~2.75 GHz against the 2.52 GHz its peaks are quoted at, +9 %), nothing more.
SPEC_SLACK = 1.15
#: without a spec row, the measured ceilings (about 75-90 % of spec on the H100) times this are the limit
MEASURED_SLACK = 1.6


@dataclass(frozen=True)
class Peaks:
    name: str
    tflops: dict  # compute class -> dense TFLOP/s
    gbps: float  # memory bandwidth, GB/s (1e9 bytes)
    source: str

    def tflops_for(self, compute: str) -> float:
        if compute not in self.tflops:
            raise ValueError(f"compute={compute!r} is not a compute class; use one of {', '.join(COMPUTE_CLASSES)}")
        return float(self.tflops[compute])

    def to_json(self) -> dict:
        return asdict(self)


#: (substrings that must all appear in torch.cuda.get_device_name(), peaks); first match wins
SPEC: tuple[tuple[tuple[str, ...], Peaks], ...] = (
    (("H100", "PCIe"), Peaks("H100 PCIe 80GB", {"fp32": 51.2, "tf32": 378.0, "fp16": 756.5, "bf16": 756.5}, 2000.0,
                             "NVIDIA H100 datasheet (dense = sparse / 2)")),
    (("H100",), Peaks("H100 SXM5 80GB", {"fp32": 66.9, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4}, 3350.0,
                      "NVIDIA H100 datasheet (dense = sparse / 2)")),
    (("H200",), Peaks("H200 SXM 141GB", {"fp32": 66.9, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4}, 4800.0,
                      "NVIDIA H200 product page (GH100 compute, HBM3e 4.8 TB/s)")),
    (("RTX 4090",), Peaks("GeForce RTX 4090", {"fp32": 82.6, "tf32": 82.6, "fp16": 165.2, "bf16": 165.2}, 1008.0,
                          "NVIDIA Ada GPU architecture whitepaper v2.01 (fp16/bf16 with fp32 accumulate)")),
)


def spec_for(gpu_name: str | None) -> Peaks | None:
    if not gpu_name:
        return None
    for needles, peaks in SPEC:
        if all(n in gpu_name for n in needles):
            return peaks
    return None


def compute_class(dtype: str, precision: str | None) -> str:
    """The compute peak a dot of ``dtype`` operands under ``precision`` can reach."""
    if dtype in ("float16", "bfloat16"):
        return "fp16" if dtype == "float16" else "bf16"
    if dtype != "float32":
        raise ValueError(f"dtype={dtype!r} has no compute class; use float32, float16 or bfloat16")
    return "fp32" if precision == "ieee" else "tf32"


@dataclass(frozen=True)
class Roofline:
    flops: float
    bytes: float
    compute: str
    peaks: Peaks

    @property
    def ms(self) -> float:
        """The fastest this work can run on ``peaks`` (compute- or bandwidth-bound, whichever is slower)."""
        compute_s = self.flops / (self.peaks.tflops_for(self.compute) * 1e12)
        return 1e3 * max(compute_s, self.bytes / (self.peaks.gbps * 1e9))

    @property
    def bound(self) -> str:
        compute_s = self.flops / (self.peaks.tflops_for(self.compute) * 1e12)
        return "compute" if compute_s >= self.bytes / (self.peaks.gbps * 1e9) else "memory"

    def percent(self, measured_ms: float) -> float:
        return 100.0 * self.ms / measured_ms if measured_ms > 0 else float("inf")


def throughput(flops: float, nbytes: float, ms: float) -> dict:
    s = ms / 1e3
    return {"tflops": flops / s / 1e12 if s > 0 else float("inf"), "gbps": nbytes / s / 1e9 if s > 0 else float("inf")}


def impossible(flops: float, nbytes: float, ms: float, compute: str, spec: Peaks | None,
               measured: Peaks | None) -> str | None:
    """Why ``ms`` is faster than this device can do the work, or None. Spec peaks x SPEC_SLACK are the
    limit; without a spec row, measured ceilings x MEASURED_SLACK; with neither, no verdict (None)."""
    if spec is not None:
        limit, slack, what = spec, SPEC_SLACK, f"spec peaks of the {spec.name}"
    elif measured is not None:
        limit, slack, what = measured, MEASURED_SLACK, "measured ceilings of this GPU"
    else:
        return None
    floor = Roofline(flops, nbytes, compute, limit).ms / slack
    if ms < floor:
        t = throughput(flops, nbytes, ms)
        return (f"{ms:.4g} ms is faster than the roofline allows ({floor:.4g} ms = {slack:g}x beyond the {what}: "
                f"{limit.tflops_for(compute):g} TFLOP/s {compute}, {limit.gbps:g} GB/s); it would mean "
                f"{t['tflops']:.4g} TFLOP/s and {t['gbps']:.4g} GB/s: work is skipped or not timed")
    return None


# ----------------------------------------------------------------------------------------------------
# Measured ceilings, cached per GPU
# ----------------------------------------------------------------------------------------------------

def cache_path(storage_root: str, key: str) -> str:
    return os.path.join(storage_root, key, "peaks.json")


def load_measured(storage_root: str, key: str) -> Peaks | None:
    path = cache_path(storage_root, key)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return Peaks(d["name"], dict(d["tflops"]), float(d["gbps"]), d["source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measure(clock_factory=None, *, n: int = 8192, copy_bytes: int = 1 << 30) -> Peaks:
    """Time large matmuls per compute class and a device copy on the current GPU (a few seconds)."""
    import torch

    from . import timer

    clock_factory = clock_factory or timer.GpuTimer
    dev = torch.device("cuda")
    tflops = {}
    for compute, dtype in (("tf32", torch.float32), ("fp32", torch.float32), ("fp16", torch.float16),
                           ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, device=dev, dtype=dtype)
        b = torch.randn(n, n, device=dev, dtype=dtype)
        saved = timer.set_tf32(compute == "tf32")
        try:
            ms = clock_factory(flush=False).median_ms(lambda a=a, b=b: torch.mm(a, b), min_time=0.3, min_rounds=5)
        finally:
            timer.restore_tf32(saved)
        tflops[compute] = round(2 * n**3 / (ms / 1e3) / 1e12, 1)
        del a, b
    src = torch.empty(copy_bytes // 4, device=dev, dtype=torch.float32).normal_()
    dst = torch.empty_like(src)
    ms = clock_factory(flush=False).median_ms(lambda: dst.copy_(src), min_time=0.3, min_rounds=5)
    gbps = round(2 * copy_bytes / (ms / 1e3) / 1e9, 1)
    return Peaks(torch.cuda.get_device_name(), tflops, gbps,
                 f"measured: torch.mm {n}^3 per compute class, {copy_bytes >> 20} MiB device copy (median)")


def measured(storage_root: str, key: str, clock_factory=None) -> Peaks:
    """The cached measured ceilings of this GPU, measuring and caching them the first time."""
    cached = load_measured(storage_root, key)
    if cached is not None:
        return cached
    peaks = measure(clock_factory)
    path = cache_path(storage_root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(peaks.to_json(), f, indent=1)
    return peaks
