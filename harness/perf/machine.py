"""What a benchmark run was measured on, and the key that keeps runs from different GPUs apart.

:func:`describe` gathers the GPU (name, compute capability, SMs, memory, max clocks, power limit), the
driver, the CUDA runtime, torch / triton / python versions and the TF32 flags; it goes into every stored
run (pytest-benchmark's ``machine_info``) and into each benchmark's ``extra_info``.

:func:`gpu_key` names the storage folder: the GPU model and the CUDA runtime, e.g.
``H100-80GB-HBM3_cu130`` or ``RTX-4090_cu128``; ``cpu-x86_64`` without a GPU. Runs are compared only
within one key (see :mod:`fusefuzz.harness.perf.history`). The key has no driver or torch version in it: an
upgrade of either is a change the history should show, not a new history.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import warnings

_STRIP = ("NVIDIA ", "GeForce ")


def slug(name: str) -> str:
    """``NVIDIA H100 80GB HBM3`` -> ``H100-80GB-HBM3``; ``NVIDIA GeForce RTX 4090`` -> ``RTX-4090``."""
    for prefix in _STRIP:
        name = name.replace(prefix, "")
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-") or "unknown-gpu"


def cuda_tag() -> str:
    import torch

    if getattr(torch.version, "hip", None):
        return "rocm" + re.sub(r"\D", "", torch.version.hip)[:3]
    return "cu" + re.sub(r"\D", "", torch.version.cuda or "") if torch.version.cuda else "nocuda"


def gpu_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def gpu_key(device: int | None = None) -> str:
    """The storage key of the current machine: GPU model + CUDA runtime, or ``cpu-<arch>``."""
    if not gpu_available():
        return f"cpu-{platform.machine() or 'unknown'}"
    import torch

    return f"{slug(torch.cuda.get_device_name(device))}_{cuda_tag()}"


def tf32_flags() -> dict:
    """PyTorch's TF32 switches as they are now (old and new API names, whichever this torch has)."""
    import torch

    flags = {"float32_matmul_precision": torch.get_float32_matmul_precision()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch >= 2.9 warns that allow_tf32 is superseded by fp32_precision
        flags["matmul.allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        flags["cudnn.allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
        for name, obj in (("matmul.fp32_precision", torch.backends.cuda.matmul),
                          ("cudnn.conv.fp32_precision", getattr(torch.backends.cudnn, "conv", None))):
            value = getattr(obj, "fp32_precision", None) if obj is not None else None
            if value is not None:
                flags[name] = str(value)
    return flags


def _nvidia_smi(index: int) -> dict:
    """Driver, max clocks and power limit from nvidia-smi (no CUDA context needed); {} if unavailable."""
    fields = ("driver_version", "clocks.max.sm", "clocks.max.mem", "power.limit", "pstate")
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits",
                              f"--id={index}"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    values = [v.strip() for v in out.strip().splitlines()[0].split(",")] if out.strip() else []
    return dict(zip(("driver", "max_sm_clock_mhz", "max_mem_clock_mhz", "power_limit_w", "pstate"), values,
                    strict=False))


def versions() -> dict:
    import torch

    try:
        import triton

        triton_version = triton.__version__
    except Exception:  # noqa: BLE001 - triton missing is reported, not fatal here
        triton_version = None
    return {"torch": torch.__version__, "triton": triton_version, "cuda_runtime": torch.version.cuda,
            "python": platform.python_version()}


def describe(device: int | None = None) -> dict:
    """Everything that identifies the measuring machine (JSON-ready)."""
    import torch

    info = {"gpu_key": gpu_key(device), **versions(), "tf32": tf32_flags()}
    if not gpu_available():
        info.update(gpu=None, backend=os.environ.get("FUSEFUZZ_BACKEND") or "interpreter")
        return info
    index = torch.cuda.current_device() if device is None else device
    props = torch.cuda.get_device_properties(index)
    info.update(
        gpu=torch.cuda.get_device_name(index),
        compute_capability=f"{props.major}.{props.minor}",
        sm_count=props.multi_processor_count,
        memory_gib=round(props.total_memory / 2**30, 1),
        cudnn=torch.backends.cudnn.version(),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        **_nvidia_smi(index),
    )
    info.setdefault("driver", _driver_from_torch())
    return info


def _driver_from_torch():
    import torch

    try:
        v = torch._C._cuda_getDriverVersion()  # e.g. 13000 for CUDA 13.0 capable drivers
    except Exception:  # noqa: BLE001
        return None
    return f"cuda-api {v // 1000}.{(v % 1000) // 10}"
