"""pytest plugin (entry point ``pytest11: fusefuzz``): backend choice, Hypothesis profiles, GPU marks.

Options live in one ``fusefuzz`` group. The backend is chosen in ``pytest_load_initial_conftests``, before
any conftest or test module can import triton. Tests marked ``gpu`` are skipped with a reason when the
backend is not CUDA.
"""

from __future__ import annotations

import os

import pytest

PROFILES = ("dev", "ci", "nightly", "gpu")

#: performance tracking (gpu_benchmark fixture, per-GPU benchmark storage): a sibling module, loaded with this one
pytest_plugins = ("harness.perf.pytest_plugin",)


def pytest_addoption(parser):
    group = parser.getgroup("fusefuzz", "fusefuzz: differential fuzzing of fused Triton kernels")
    group.addoption("--fusefuzz-profile", choices=PROFILES, default=None,
                    help="Hypothesis profile for fusefuzz campaigns and properties "
                         "(default: $FUSEFUZZ_PROFILE, else 'ci' when $CI is set, else 'dev')")
    group.addoption("--fusefuzz-backend", choices=("auto", "cuda", "interpreter"), default=None,
                    help="where Triton kernels run (default: $FUSEFUZZ_BACKEND, else 'auto': cuda when "
                         "torch sees a GPU, the Triton interpreter otherwise)")
    group.addoption("--fusefuzz-max-examples", type=int, default=None,
                    help="override the profile's max_examples (default: the profile's)")
    group.addoption("--fusefuzz-seed", type=int, default=None,
                    help="seed every fusefuzz campaign for reproducible runs (default: random)")
    group.addoption("--fusefuzz-isolate", action="store_true", default=False,
                    help="run campaign examples in worker processes (crashes and hangs become failures of kind "
                         "crash/timeout; passed to campaigns through the fusefuzz_options fixture)")
    from .perf.pytest_plugin import add_options

    add_options(group)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    ns = early_config.known_args_namespace
    if getattr(ns, "fusefuzz_backend", None):
        os.environ["FUSEFUZZ_BACKEND"] = ns.fusefuzz_backend
    if getattr(ns, "fusefuzz_profile", None):
        os.environ["FUSEFUZZ_PROFILE"] = ns.fusefuzz_profile
    from . import backend

    backend.select()


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped with a reason when none is present)")
    from . import profiles

    profiles.register_all()


def pytest_report_header(config):
    from . import backend, profiles

    return f"fusefuzz: {backend.describe()}; profile {profiles.default_name()}"


def pytest_collection_modifyitems(config, items):
    from . import backend

    if backend.name() == "cuda":
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU; fusefuzz backend is {backend.name()} "
                                   "(torch.cuda.is_available() is False or FUSEFUZZ_BACKEND says so)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fusefuzz_options(request) -> dict:
    """Campaign keyword arguments from the command line: profile, max_examples, seed, isolate."""
    from . import profiles

    opt = request.config.getoption
    return {"profile": opt("--fusefuzz-profile") or profiles.default_name(),
            "max_examples": opt("--fusefuzz-max-examples"), "seed": opt("--fusefuzz-seed"),
            "isolate": bool(opt("--fusefuzz-isolate"))}
