"""The engine's registry of kernels: one :class:`KernelRecord` per kernel, naming a KernelBench-format module
(``ModelNew``) and the contract the kernel declares (precision, determinism, approximation budget, aten ops it may
call), so that ``fusefuzz fuzz`` holds every kernel to what it declares.

The engine imports no kernel package. Kernels register themselves: a distribution names a module in the entry-point
group ``fusefuzz.kernels`` (this project: ``fusefuzz.kernels.bundled``), and importing that module calls
:func:`register` for each of its kernels. The first lookup (:func:`get`, :func:`all_kernels`) imports every module
of the group: the installed distributions' entry points and, when fusefuzz runs from a checkout (``fusefuzz.CHECKOUT``),
the group as the checkout's ``pyproject.toml`` declares it, since a checkout that was never installed has no entry
points in any metadata.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import metadata

import fusefuzz

#: the entry-point group a kernel module is declared in
GROUP = "fusefuzz.kernels"


@dataclass(frozen=True)
class KernelRecord:
    name: str
    problem: str
    module: str  # importable module defining ModelNew
    precision: str  # contract for fp32 inputs: ieee, tf32, ...
    description: str
    kwargs: dict = field(default_factory=dict, hash=False)
    deterministic: bool = False
    approx_budget: object = 0.0  # a float (absolute) or an ApproxBudget (harness/approx.py)
    allowed_ops: frozenset = frozenset()


_KERNELS: dict[str, KernelRecord] = {}
_LOADED: set[str] = set()  # entry-point values already imported


def register(record: KernelRecord) -> KernelRecord:
    if record.name in _KERNELS:
        raise ValueError(f"kernel name={record.name!r} is registered twice; names must be unique")
    _KERNELS[record.name] = record
    return record


def checkout_entry_points(root: str) -> list[metadata.EntryPoint]:
    """The ``[project.entry-points."fusefuzz.kernels"]`` table of ``root/pyproject.toml`` (``name = "module"``
    lines; Python 3.10 has no TOML reader, and this table needs none)."""
    path = os.path.join(root, "pyproject.toml")
    header = f'[project.entry-points."{GROUP}"]'
    found, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                inside = line == header
            elif inside and line:
                m = re.fullmatch(r'([\w.-]+)\s*=\s*"([^"]+)"', line)
                if m is None:
                    raise ValueError(f"{path}: line={line!r} in {header} is not name = \"module\"")
                found.append(metadata.EntryPoint(m.group(1), m.group(2), GROUP))
    return found


def entry_points() -> list[metadata.EntryPoint]:
    """Every declared kernel module, once each: installed distributions first, then the running checkout's."""
    eps = list(metadata.entry_points(group=GROUP))
    if fusefuzz.CHECKOUT is not None:
        eps += checkout_entry_points(fusefuzz.CHECKOUT)
    unique: dict[str, metadata.EntryPoint] = {}
    for ep in eps:
        unique.setdefault(ep.value, ep)
    return list(unique.values())


def _load() -> None:
    for ep in entry_points():
        if ep.value in _LOADED:
            continue
        _LOADED.add(ep.value)
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plugin is named in one line
            text = " ".join(str(e).split())
            raise ImportError(f"kernel entry point {ep.name}={ep.value!r} (group {GROUP}) failed to import: "
                              f"{type(e).__name__}: {text}; fix or uninstall the package that declares it") from e


def get(name: str) -> KernelRecord:
    _load()
    try:
        return _KERNELS[name]
    except KeyError:
        raise KeyError(f"no kernel or file named {name!r}; registered kernels: {', '.join(sorted(_KERNELS))}") from None


def all_kernels(problem: str | None = None) -> list[KernelRecord]:
    _load()
    return [r for r in _KERNELS.values() if problem is None or r.problem == problem]
