"""Performance tracking: GPU timing, per-GPU benchmark storage, a noise-aware regression gate, reports.

Modules, each small:

``timer``    the GPU round clock: untimed L2 flush, CUDA events per round, device-wide synchronisation
             (work left on another stream is counted), warm-up past compilation and autotuning
``machine``  what a run was measured on (GPU, driver, versions, TF32 flags) and the per-GPU storage key
``peaks``    per-GPU roofline peaks (spec table with sources, plus peaks measured once and cached)
``bench``    one candidate timed with integrity checks (``fusefuzz bench``); shared verification helpers
``stats``    the regression gate: a slowdown factor AND a Mann-Whitney U test, bootstrap intervals
``history``  per-GPU storage layout and loading pytest-benchmark JSON
``report``   PNG plots (matplotlib) and a Markdown/HTML table with the gate's verdicts
``cases``    the benchmark cases (shapes, dtypes, kernels) shared by the pytest suite and the CLI
``pytest_plugin``  the ``gpu_benchmark`` fixture and the pytest-benchmark hooks
``cli``      ``fusefuzz perf compare``, ``fusefuzz perf report``, ``fusefuzz bench``

scipy (the Mann-Whitney test) and matplotlib (plots) are the optional extra ``fusefuzz[perf]``; what
needs them says so in one line when they are missing (:func:`require`).
"""

from __future__ import annotations

import importlib

EXTRA_HINT = "pip install 'fusefuzz[perf]' (or pip install scipy matplotlib)"


class MissingDependency(RuntimeError):
    """An optional dependency of the ``perf`` extra is not installed; the message is one line."""


def require(module: str, what: str):
    """Import ``module`` or raise :class:`MissingDependency` saying what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependency(f"{what} needs {module.split('.')[0]}, which is not installed ({e}); "
                                f"install it with: {EXTRA_HINT}") from None
