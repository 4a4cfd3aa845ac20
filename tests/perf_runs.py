"""Synthetic benchmark runs in pytest-benchmark's JSON layout, for the CPU tests of fusefuzz.harness.perf."""

import json
import os

import numpy as np

GPU_A = "H100-80GB-HBM3_cu130"
GPU_B = "RTX-4090_cu128"
NAMES = {GPU_A: "NVIDIA H100 80GB HBM3", GPU_B: "NVIDIA GeForce RTX 4090"}


def samples(median_ms: float, n: int = 200, *, spread: float = 0.01, seed: int = 0) -> list:
    """Round times: a median with multiplicative noise (a few slow outliers, as GPU rounds have)."""
    rng = np.random.default_rng(seed)
    x = median_ms * np.exp(rng.normal(0.0, spread, n))
    x[rng.random(n) < 0.03] *= 1.2
    return [float(v) for v in x]


def _stats(ms) -> dict:
    """pytest-benchmark's stats block (seconds) for round times in ms."""
    x = np.asarray(ms) / 1e3
    q1, q3 = np.percentile(x, [25, 75])
    return {"min": float(x.min()), "max": float(x.max()), "mean": float(x.mean()), "stddev": float(x.std(ddof=1)),
            "rounds": int(x.size), "median": float(np.median(x)), "iqr": float(q3 - q1), "q1": float(q1),
            "q3": float(q3), "iqr_outliers": 0, "stddev_outliers": 0, "outliers": "0;0", "ld15iqr": float(x.min()),
            "hd15iqr": float(x.max()), "ops": float(1 / x.mean()), "total": float(x.sum()), "iterations": 1}


def run_doc(benchmarks: dict, *, key: str = GPU_A, when: str = "2026-12-01T10:00:00", commit: str = "a" * 40,
            extra: dict | None = None) -> dict:
    """``benchmarks``: {test name: list of ms}. Returns the JSON document of one stored run."""
    out = []
    for name, ms in benchmarks.items():
        info = {"samples_ms": ms, "median_ms": float(np.median(ms)), "rounds": len(ms), "gpu_key": key,
                "speedup_vs_compile": 4.0, "pct_roofline_spec": 25.0, "tflops": 120.0, "gbps": 400.0}
        info.update(extra or {})
        out.append({"group": None, "name": name, "fullname": f"benchmarks/test_bench_x.py::{name}",
                    "params": {}, "param": None, "extra_info": info,
                    "options": {"timer": "fusefuzz GpuTimer"},
                    "stats": _stats(ms)})
    return {"machine_info": {"node": "ci", "fusefuzz": {"gpu_key": key, "gpu": NAMES.get(key), "driver": "580.1",
                                                        "torch": "2.11.0", "triton": "3.6.0"}},
            "commit_info": {"id": commit, "dirty": False, "branch": "main"}, "benchmarks": out, "datetime": when,
            "version": "5.2.3"}


def write_run(root, key, number: int, benchmarks: dict, **kw) -> str:
    """Store a run the way pytest-benchmark does under ROOT/<key>/<machine id>/NNNN_*.json."""
    folder = os.path.join(str(root), key, "Linux-CPython-3.12-64bit")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{number:04d}_{'c' * 8}_2026120{number}.json")
    kw.setdefault("when", f"2026-12-0{number}T10:00:00")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(run_doc(benchmarks, key=kw.pop("doc_key", key), **kw), f)
    return path
