"""Per-GPU benchmark storage and loading pytest-benchmark's JSON.

Layout (the pytest plugin points pytest-benchmark's ``--benchmark-storage`` at ``ROOT/<gpu-key>``)::

    .benchmarks/
        H100-80GB-HBM3_cu130/                 one folder per GPU key (fusefuzz.harness.perf.machine.gpu_key)
            peaks.json                        measured ceilings of this GPU (fusefuzz.harness.perf.peaks)
            Linux-CPython-3.12-64bit/         pytest-benchmark's own machine folder
                0001_<commit>_<date>.json     one run each (--benchmark-autosave / --benchmark-save)
        RTX-4090_cu128/
            ...

Runs are only ever compared within one key; a file whose recorded GPU key (``machine_info["fusefuzz"]``)
does not match the folder it sits in is refused with the reason, never mixed in.

Per-round samples come from ``extra_info["samples_ms"]`` (the fusefuzz fixtures record them) or from
pytest-benchmark's ``stats["data"]`` (``--benchmark-save-data``); without either, only the median is
known and the gate says "too few samples".
"""

from __future__ import annotations

import glob
import json
import os
import statistics
from dataclasses import dataclass, field

DEFAULT_ROOT = ".benchmarks"


class HistoryError(ValueError):
    """A storage folder or run file cannot be used; the message is one line."""


@dataclass
class BenchRecord:
    fullname: str
    name: str
    group: str | None
    params: dict
    samples_ms: list
    median_ms: float | None
    extra_info: dict

    @property
    def label(self) -> str:
        """``test_kernel[fused-headline-float32]`` without the file path."""
        return self.fullname.split("::", 1)[-1]


@dataclass
class Run:
    path: str
    gpu_key: str | None
    datetime: str
    commit: dict
    machine_info: dict
    benchmarks: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        cid = (self.commit or {}).get("id") or "?"
        dirty = "+" if (self.commit or {}).get("dirty") else ""
        return f"{os.path.basename(self.path).split('_')[0]} {cid[:8]}{dirty} {self.datetime[:16]}"

    @property
    def gpu(self) -> str | None:
        return (self.machine_info.get("fusefuzz") or {}).get("gpu")


def storage_dir(root: str, key: str) -> str:
    return os.path.join(root, key)


def storage_uri(root: str, key: str) -> str:
    return "file://" + os.path.abspath(storage_dir(root, key))


def _samples(bench: dict) -> list:
    extra = bench.get("extra_info") or {}
    if extra.get("samples_ms"):
        return [float(x) for x in extra["samples_ms"]]
    data = (bench.get("stats") or {}).get("data")
    if data:
        return [float(x) * 1e3 for x in data]
    return []


def load_run(path: str) -> Run:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise HistoryError(f"cannot read benchmark run {path!r}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise HistoryError(f"{path!r} is not a pytest-benchmark JSON file (no 'benchmarks' list)")
    machine = doc.get("machine_info") or {}
    run = Run(path=path, gpu_key=(machine.get("fusefuzz") or {}).get("gpu_key"), datetime=doc.get("datetime") or "",
              commit=doc.get("commit_info") or {}, machine_info=machine)
    for b in doc["benchmarks"]:
        stats = b.get("stats") or {}
        samples = _samples(b)
        median = statistics.median(samples) if samples else None
        if median is None and stats.get("median") is not None:
            median = float(stats["median"]) * 1e3
        run.benchmarks[b["fullname"]] = BenchRecord(
            fullname=b["fullname"], name=b.get("name", b["fullname"]), group=b.get("group"),
            params=b.get("params") or {}, samples_ms=samples, median_ms=median, extra_info=b.get("extra_info") or {})
    return run


def keys(root: str) -> list[str]:
    """GPU keys that have at least one stored run under ``root``."""
    if not os.path.isdir(root):
        return []
    return sorted(k for k in os.listdir(root) if _run_files(os.path.join(root, k)))


def _run_files(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    files = glob.glob(os.path.join(folder, "**", "*.json"), recursive=True)
    return [f for f in files if os.path.basename(f) != "peaks.json"]


@dataclass
class History:
    key: str
    runs: list
    refused: list  # (path, reason)


def load_history(root: str, key: str) -> History:
    """Every run stored for ``key``, oldest first; files of another GPU are refused with the reason."""
    runs, refused = [], []
    for path in _run_files(storage_dir(root, key)):
        try:
            run = load_run(path)
        except HistoryError as e:
            refused.append((path, str(e)))
            continue
        if run.gpu_key is None:
            refused.append((path, "no machine_info['fusefuzz']['gpu_key'] (not recorded through the fusefuzz "
                                  "plugin): its GPU is unknown, so it is not compared"))
            continue
        if run.gpu_key != key:
            refused.append((path, f"recorded on GPU key {run.gpu_key!r}, stored under {key!r}: runs from "
                                  "different GPUs are never compared"))
            continue
        runs.append(run)
    runs.sort(key=lambda r: (r.datetime, os.path.basename(r.path)))
    return History(key, runs, refused)


def resolve_key(root: str, key: str | None) -> str:
    """``key`` if given; else this machine's GPU key when it has stored runs; else the only key stored."""
    if key:
        if key not in keys(root):
            raise HistoryError(f"--gpu-key={key!r} has no stored runs under {root!r}; stored keys: "
                               f"{', '.join(keys(root)) or 'none'}")
        return key
    stored = keys(root)
    from .machine import gpu_key

    here = gpu_key()
    if here in stored:
        return here
    if len(stored) == 1:
        return stored[0]
    if not stored:
        raise HistoryError(f"no benchmark runs stored under {root!r}; run the suite with --benchmark-autosave first")
    raise HistoryError(f"{root!r} holds runs of several GPUs ({', '.join(stored)}) and none of this machine "
                       f"({here}); pick one with --gpu-key")
