"""pytest plugin (entry point ``pytest11: fusefuzz``): backend choice, Hypothesis profiles, GPU marks.

Options live in one ``fusefuzz`` group. The backend is chosen in ``pytest_load_initial_conftests``, before
any conftest or test module can import triton. Tests marked ``gpu`` are skipped with a reason when the
backend is not CUDA.

Scale-out (``docs/scale-out.md``): under pytest-xdist each worker ``gwN`` is pinned to one GPU
(:mod:`fusefuzz.harness.gpus`, ``--fusefuzz-gpus``) before CUDA starts in it. Tests marked ``fuzz`` (the campaigns of
:mod:`fusefuzz.harness.fuzzsuite`) run only when selected by marker: ``-m fuzz`` (or HypoFuzz's ``-m hypothesis``).
"""

from __future__ import annotations

import os

import pytest

PROFILES = ("dev", "ci", "nightly", "gpu")

#: performance tracking (gpu_benchmark fixture, per-GPU benchmark storage): a sibling module, loaded with this one
pytest_plugins = ("fusefuzz.harness.perf.pytest_plugin",)


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
    group.addoption("--fusefuzz-strict", action="store_true", default=False,
                    help="notes count as failures in fusefuzz campaigns (as fusefuzz check --strict; passed to "
                         "campaigns through the fusefuzz_options fixture)")
    group.addoption("--fusefuzz-reference", default=None, metavar="REF.py",
                    help="KernelBench-format reference file the fusefuzz_check fixture fuzzes candidates against "
                         "when a test names none")
    group.addoption("--fusefuzz-sizes", default=None, metavar="NAME=LO:HI,...",
                    help="size ranges for --fusefuzz-reference (as fusefuzz check --sizes)")
    group.addoption("--fusefuzz-strategy", default=None, metavar="MODULE:NAME",
                    help="size strategy for --fusefuzz-reference (as fusefuzz check --strategy)")
    from .perf.pytest_plugin import add_options

    add_options(group)
    group.addoption("--fusefuzz-gpus", default=None, metavar="N|I,J,...",
                    help="GPUs for pytest-xdist workers, worker gwN on GPU N mod the count: a count (the first N "
                         "visible GPUs) or a comma list of positions like 0,2 ('1,' for GPU 1 alone) "
                         "(default: $FUSEFUZZ_GPUS, else all visible GPUs)")
    group.addoption("--fusefuzz-candidate", action="append", default=None, metavar="PATH",
                    help="also fuzz this candidate file in the registry fuzz tests (-m fuzz); repeatable "
                         "(default: $FUSEFUZZ_CANDIDATES, else none)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    ns = early_config.known_args_namespace
    if getattr(ns, "fusefuzz_backend", None):
        os.environ["FUSEFUZZ_BACKEND"] = ns.fusefuzz_backend
    if getattr(ns, "fusefuzz_profile", None):
        os.environ["FUSEFUZZ_PROFILE"] = ns.fusefuzz_profile
    # read by the fuzz tests (fusefuzz.harness.fuzzsuite) when their module is collected, in every xdist worker
    for option, var in (("fusefuzz_max_examples", "FUSEFUZZ_MAX_EXAMPLES"), ("fusefuzz_seed", "FUSEFUZZ_SEED")):
        if getattr(ns, option, None) is not None:
            os.environ[var] = str(getattr(ns, option))
    if getattr(ns, "fusefuzz_candidate", None):
        missing = [p for p in ns.fusefuzz_candidate if not os.path.isfile(p)]
        if missing:
            raise pytest.UsageError(f"--fusefuzz-candidate={missing[0]!r}: no such file; give a .py file defining "
                                    "ModelNew")
        os.environ["FUSEFUZZ_CANDIDATES"] = os.pathsep.join(os.path.abspath(p) for p in ns.fusefuzz_candidate)
    from . import backend, gpus

    gpus.pin_worker()  # an xdist worker: CUDA_VISIBLE_DEVICES before torch starts CUDA (no-op elsewhere)
    backend.select()
    try:
        gpus.export_plan(getattr(ns, "fusefuzz_gpus", None))  # the controller: the plan its workers inherit
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped with a reason when none is present)")
    config.addinivalue_line("markers", "fuzz: a fuzz campaign over a kernel (runs only when selected: -m fuzz)")
    from . import profiles

    profiles.register_all()


def pytest_report_header(config):
    from . import backend, gpus, profiles

    lines = [f"fusefuzz: {backend.describe()}; profile {profiles.default_name()}"]
    plan = gpus.parse_plan(os.environ.get(gpus.PLAN_ENV))
    if plan and getattr(config.option, "numprocesses", None):
        lines.append(f"fusefuzz: {gpus.describe_plan(plan)}")
    return lines


def pytest_collection_modifyitems(config, items):
    from . import backend

    markexpr = config.getoption("markexpr", "") or ""
    if "fuzz" not in markexpr and "hypothesis" not in markexpr:
        campaign = pytest.mark.skip(reason="fuzz campaign: runs only when selected with -m fuzz "
                                           "(docs/scale-out.md)")
        for item in items:
            if "fuzz" in item.keywords:
                item.add_marker(campaign)
    if backend.name() == "cuda":
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU; fusefuzz backend is {backend.name()} "
                                   "(torch.cuda.is_available() is False or FUSEFUZZ_BACKEND says so)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("fuzz") or item.get_closest_marker("gpu"):
        from . import gpus

        item.user_properties.extend(gpus.properties())  # which worker and GPU ran it (junitxml)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    finish = getattr(getattr(item, "function", None), "_fusefuzz_finish", None)
    if finish is not None:
        item.user_properties.extend(finish(item))  # the fuzz test's statistics (fusefuzz.harness.fuzzsuite)


@pytest.fixture
def fusefuzz_options(request) -> dict:
    """Campaign keyword arguments from the command line: profile, max_examples, seed, isolate, strict."""
    from . import profiles

    opt = request.config.getoption
    return {"profile": opt("--fusefuzz-profile") or profiles.default_name(),
            "max_examples": opt("--fusefuzz-max-examples"), "seed": opt("--fusefuzz-seed"),
            "isolate": bool(opt("--fusefuzz-isolate")), "strict": bool(opt("--fusefuzz-strict")) or None}


@pytest.fixture
def fusefuzz_check(request, fusefuzz_options):
    """``fusefuzz_check(candidate, reference=None, **kwargs)``: one campaign (:func:`fusefuzz.harness.check.check`)
    with the command line's options; returns the CampaignResult. ``reference``, ``sizes`` and ``strategy``
    default to ``--fusefuzz-reference``, ``--fusefuzz-sizes`` and ``--fusefuzz-strategy``."""
    from .check import check

    opt = request.config.getoption

    def run(candidate, **kwargs):
        if "problem" not in kwargs and kwargs.get("reference", opt("--fusefuzz-reference")) is not None:
            kwargs.setdefault("reference", opt("--fusefuzz-reference"))
            kwargs.setdefault("sizes", opt("--fusefuzz-sizes"))
            kwargs.setdefault("strategy", opt("--fusefuzz-strategy"))
        for key, value in fusefuzz_options.items():
            if value is not None:
                kwargs.setdefault(key, value)
        return check(candidate, **kwargs)

    return run
