"""One pytest-xdist worker per GPU: which GPUs a run may use, and which one each worker gets.

The pytest controller (the process that starts the workers) resolves ``--fusefuzz-gpus`` against the
GPUs torch sees and exports the result as ``FUSEFUZZ_GPU_PLAN`` (a comma list of ``CUDA_VISIBLE_DEVICES``
entries); workers inherit the controller's environment. Worker ``gwN`` then takes entry ``N % len(plan)``
and sets ``CUDA_VISIBLE_DEVICES`` to it, in ``pytest_load_initial_conftests``, before anything in the
worker imports torch or initialises CUDA. So the worker sees exactly one GPU, as ``cuda:0``.

Why ``CUDA_VISIBLE_DEVICES`` and not ``torch.cuda.set_device``: the variable is read once, when CUDA
initialises in a process, and it is inherited, so everything the worker starts sees the same single GPU:
isolation workers (:mod:`fusefuzz.harness.isolation`), repro scripts, compute-sanitizer. With ``set_device``,
each of those would start on GPU 0 again, and anything that touched CUDA before the call would already
hold a context (hundreds of MB) on GPU 0. ``set_device`` is only the fallback for a worker in which
CUDA was initialised before the plugin ran (then the variable has no effect any more).

Workers share the machine's GPUs round-robin: ``-n 4`` on two GPUs puts gw0 and gw2 on the first,
gw1 and gw3 on the second; ``-n 2`` on one GPU puts both workers on it.
"""

from __future__ import annotations

import os
import re
import sys

PLAN_ENV = "FUSEFUZZ_GPU_PLAN"
SPEC_ENV = "FUSEFUZZ_GPUS"
WORKER_ENV = "PYTEST_XDIST_WORKER"

#: what this process did about pinning (set by :func:`pin_worker`): worker id, plan entry, how
_pinned: dict | None = None


def visible_devices() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (indices, or UUIDs if the
    variable lists UUIDs). Empty without CUDA. Calls ``torch.cuda.device_count()``."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return []
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None and given.strip():
        entries = [e.strip() for e in given.split(",") if e.strip()]
        return entries[:count]
    return [str(i) for i in range(count)]


def resolve(spec: str | None, visible: list[str]) -> list[str]:
    """The plan for ``spec`` over the ``visible`` GPUs.

    ``None``, ``""`` or ``"all"``: every visible GPU. ``"N"``: the first N. ``"0,2"``: those positions
    among the visible GPUs (``"1,"`` for position 1 alone; repeats allowed, e.g. ``"0,0,1"`` puts two of
    every three workers on the first GPU)."""
    text = (spec or "").strip().lower()
    if text in ("", "all"):
        return list(visible)
    if not visible:
        raise ValueError(f"--fusefuzz-gpus={spec!r} but no CUDA GPU is visible (torch.cuda.device_count() is 0); "
                         "drop the option to run on CPU")
    if "," not in text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"--fusefuzz-gpus={spec!r} is not a count or a list; use N >= 1 (the first N GPUs), "
                             "a comma list of GPU positions like 0,2, or 'all'")
        count = int(text)
        if count > len(visible):
            raise ValueError(f"--fusefuzz-gpus={spec!r} asks for {count} GPUs but {len(visible)} are visible "
                             f"({','.join(visible)}); use at most {len(visible)}")
        return list(visible[:count])
    plan = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) >= len(visible):
            raise ValueError(f"--fusefuzz-gpus={spec!r}: {part!r} is not a GPU position; "
                             f"{len(visible)} GPUs are visible, use positions 0..{len(visible) - 1}")
        plan.append(visible[int(part)])
    if not plan:
        raise ValueError(f"--fusefuzz-gpus={spec!r} names no GPU; use e.g. 0,1 or a count")
    return plan


def worker_index(worker_id: str | None) -> int | None:
    """``gw3`` -> 3; None for the controller or a run without xdist."""
    match = re.fullmatch(r"gw(\d+)", worker_id or "")
    return int(match.group(1)) if match else None


def assign(worker_id: str | None, plan: list[str]) -> str | None:
    """The plan entry of ``worker_id`` (round-robin), or None when there is no worker or no plan."""
    index = worker_index(worker_id)
    if index is None or not plan:
        return None
    return plan[index % len(plan)]


def parse_plan(text: str | None) -> list[str]:
    return [e.strip() for e in (text or "").split(",") if e.strip()]


def export_plan(spec: str | None, env=os.environ) -> list[str]:
    """Controller: resolve ``spec`` (default ``$FUSEFUZZ_GPUS``, else all visible) and export the plan for
    the workers. Does nothing inside a worker. Returns the plan."""
    if env.get(WORKER_ENV):
        return parse_plan(env.get(PLAN_ENV))
    spec = spec if spec is not None else env.get(SPEC_ENV)
    plan = resolve(spec, visible_devices())
    if plan:
        env[PLAN_ENV] = ",".join(plan)
    else:
        env.pop(PLAN_ENV, None)
    return plan


def pin_worker(env=os.environ) -> dict | None:
    """Worker: pin this process to its GPU (see the module docstring). Must run before torch initialises
    CUDA here. Returns what was done, or None when this is not a worker or there is no plan."""
    global _pinned
    worker = env.get(WORKER_ENV)
    device = assign(worker, parse_plan(env.get(PLAN_ENV)))
    if device is None:
        return None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # too late for the variable: CUDA has read it already. Select by position instead.
        visible = visible_devices()
        if device not in visible:
            raise RuntimeError(f"worker {worker}: GPU {device!r} of {PLAN_ENV}={env.get(PLAN_ENV)!r} is not visible "
                               f"here ({','.join(visible)}); CUDA was initialised before fusefuzz could pin it")
        torch.cuda.set_device(visible.index(device))
        how = f"torch.cuda.set_device({visible.index(device)}) (CUDA was already initialised)"
    else:
        env["CUDA_VISIBLE_DEVICES"] = device
        how = f"CUDA_VISIBLE_DEVICES={device}"
    _pinned = {"worker": worker, "gpu": device, "how": how}
    return _pinned


def pinned() -> dict | None:
    return _pinned


def describe_plan(plan: list[str]) -> str:
    if not plan:
        return ""
    return (f"xdist workers pinned to GPUs round-robin: gwN -> GPU [{','.join(plan)}][N % {len(plan)}] "
            f"(CUDA_VISIBLE_DEVICES set in each worker before CUDA starts)")


def properties() -> list[tuple[str, str]]:
    """``user_properties`` for a test: this worker (and its pid, to find it in ``nvidia-smi``), its GPU and
    the device torch uses."""
    worker = os.environ.get(WORKER_ENV) or "main"
    props = [("fusefuzz_worker", worker), ("fusefuzz_pid", str(os.getpid()))]
    if _pinned is not None:
        props += [("fusefuzz_gpu", _pinned["gpu"]), ("fusefuzz_pinning", _pinned["how"])]
    props.append(("fusefuzz_device", _device_name()))
    return props


def _device_name() -> str:
    from . import backend

    if backend.name() != "cuda":
        return "cpu (Triton interpreter)"
    import torch

    index = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    uuid = getattr(props, "uuid", None)
    uuid = f" GPU-{uuid}" if uuid is not None else ""
    return f"cuda:{index} {props.name}{uuid}"
