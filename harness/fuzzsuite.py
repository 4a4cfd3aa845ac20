"""Fuzz tests over the kernel registry as ordinary Hypothesis tests, for pytest-xdist and HypoFuzz.

:func:`kernel_test` builds one ``@given`` test function parametrised over every registered kernel (and
over candidate files given with ``--fusefuzz-candidate``). Each parametrised test is one Hypothesis
campaign: every example is judged by :func:`fusefuzz.harness.runner.run_example` (every config, every check in
``$FUSEFUZZ_CHECKS``, default all), and a failure raises an exception of its own class per failure kind,
so that Hypothesis shrinks each kind to its own minimal example, as :mod:`fusefuzz.harness.campaign` does.

Because they are plain Hypothesis tests:

* ``pytest -m fuzz -n N`` runs one campaign per kernel on N pytest-xdist workers (one per GPU, see
  :mod:`fusefuzz.harness.gpus`);
* every worker uses the one directory database of :mod:`fusefuzz.harness.profiles` (Hypothesis' pytest plugin
  keys a parametrised test by its node id, so a failure saved by one worker is replayed first by any
  other worker, and by the next run);
* HypoFuzz (``hypothesis fuzz -- tests/fuzz``) fuzzes the very same tests, with the same database keys.

What the campaign CLI adds and these tests do not: the degenerate explicit examples after the search,
the journal file and the JSON report. The minimal failing example of each kind gets a repro script
(written at teardown into ``$FUSEFUZZ_REPRO_DIR``, default ``fusefuzz-repros``).

Settings come from the environment, which the pytest plugin fills from its options before tests are
collected: ``FUSEFUZZ_PROFILE`` (``--fusefuzz-profile``), ``FUSEFUZZ_MAX_EXAMPLES``
(``--fusefuzz-max-examples``), ``FUSEFUZZ_SEED`` (``--fusefuzz-seed``; unlike Hypothesis'
``--hypothesis-seed`` it keeps the database), ``FUSEFUZZ_CANDIDATES`` (``--fusefuzz-candidate``).
"""

from __future__ import annotations

import os
import sys
import time

MAX_EXAMPLES_ENV = "FUSEFUZZ_MAX_EXAMPLES"
SEED_ENV = "FUSEFUZZ_SEED"
CANDIDATES_ENV = "FUSEFUZZ_CANDIDATES"
REPRO_DIR_ENV = "FUSEFUZZ_REPRO_DIR"
#: candidate files are fuzzed against this problem
FILE_PROBLEM = "conv2d_gelu_gap"


class KernelFailure(AssertionError):
    """A counterexample found by a fuzz test; one subclass per failure kind (see :func:`failure_class`)."""

    def __init__(self, kernel: str, failure):
        config = ""
        if failure.config and "Kernel config" not in failure.message:
            config = f"\nKernel config: {failure.config}"
        super().__init__(f"{kernel}: {failure.kind}: {failure.message}{config}")
        self.failure = failure


_CLASSES: dict[str, type] = {}


def failure_class(kind: str) -> type:
    if kind not in _CLASSES:
        name = "".join(part.title() for part in kind.split("_")) + "KernelFailure"
        _CLASSES[kind] = type(name, (KernelFailure,), {})
    return _CLASSES[kind]


def _int_env(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an integer") from None


def _is_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec


def spec_id(spec: str) -> str:
    """The test id of a kernel spec: a registry name as is, a candidate file by its stem."""
    return os.path.splitext(os.path.basename(spec))[0] if _is_file(spec) else spec


class KernelTarget:
    """One kernel under test in this process: its problem, candidate and strategy, built on first use,
    and what the examples judged so far showed (reset by :meth:`take_stats`)."""

    def __init__(self, spec: str):
        self.spec = spec
        self.name = spec_id(spec)
        self._candidate = None
        self._problem = None
        self._strategy = None
        self._reset()

    def _reset(self) -> None:
        self.examples = 0
        self.unsupported = 0
        self.first: str | None = None
        self.first_failed: bool | None = None
        self.failures: dict = {}  # kind -> the latest Failure (the minimal one once Hypothesis is done)
        self.started = time.perf_counter()

    def _load(self) -> None:
        if self._candidate is not None:
            return
        from . import backend, problems
        from .campaign import campaign_strategy_options, default_policy
        from .candidates import load

        backend.select()
        if _is_file(self.spec):
            problem = problems.get(FILE_PROBLEM)
        else:
            from . import registry

            problem = problems.get(registry.get(self.spec).problem)
        self._candidate = load(self.spec)
        self._problem = problem
        # the campaign's own setup: the problem's policy, the interpreter's cost caps
        self._policy = default_policy(problem)
        self._strategy = problem.strategy(**campaign_strategy_options(problem))

    @property
    def strategy(self):
        self._load()
        return self._strategy

    def judge(self, example) -> None:
        """Run ``example``; raise the failure kind's :class:`KernelFailure` subclass if it fails."""
        from hypothesis import event

        from .runner import run_example

        self._load()
        outcome = run_example(self._problem, self._candidate, example, policy=self._policy)
        self.examples += 1
        failure = outcome.failures[0] if outcome.failures else None
        if self.first is None:
            self.first = example.describe()
            self.first_failed = failure is not None
        if outcome.unsupported:
            self.unsupported += 1
            event(f"unsupported here: {outcome.unsupported}")
        if failure is not None:
            self.failures[failure.kind] = failure
            raise failure_class(failure.kind)(self.name, failure)

    def take_stats(self, repro_dir: str | None = None) -> list[tuple[str, str]]:
        """``user_properties`` for the test that just ran, then a fresh start; writes the repro script of
        the last (minimal) failure of each kind into ``repro_dir``."""
        props = [("fusefuzz_kernel", self.name), ("fusefuzz_examples", str(self.examples)),
                 ("fusefuzz_unsupported", str(self.unsupported)),
                 ("fusefuzz_seconds", f"{time.perf_counter() - self.started:.1f}")]
        if self.first is not None:
            props += [("fusefuzz_first_example", self.first),
                      ("fusefuzz_first_failed", "yes" if self.first_failed else "no")]
        for kind, failure in sorted(self.failures.items()):
            props.append(("fusefuzz_failure", f"{kind}: {failure.example.describe()}"))
            if repro_dir:
                from . import repro

                try:
                    props.append(("fusefuzz_repro", repro.write(self._problem, self._candidate, failure, repro_dir)))
                except Exception as e:  # noqa: BLE001 - a repro that cannot be written must not hide the failure
                    props.append(("fusefuzz_repro", f"(could not write repro: {e})"))
        self._reset()
        return props


_TARGETS: dict[str, KernelTarget] = {}


def target(spec: str) -> KernelTarget:
    if spec not in _TARGETS:
        _TARGETS[spec] = KernelTarget(spec)
    return _TARGETS[spec]


def candidate_files() -> list[str]:
    """Candidate files from ``$FUSEFUZZ_CANDIDATES`` (``os.pathsep``-separated, absolute)."""
    return [os.path.abspath(p) for p in os.environ.get(CANDIDATES_ENV, "").split(os.pathsep) if p.strip()]


def specs(kernels=None, candidates=None) -> list[str]:
    """Registry kernel names (default: every registered kernel) followed by candidate files (default:
    ``$FUSEFUZZ_CANDIDATES``)."""
    if kernels is None:
        from .registry import all_kernels

        kernels = [r.name for r in all_kernels()]
    files = candidate_files() if candidates is None else [os.path.abspath(p) for p in candidates]
    for path in files:
        if not os.path.isfile(path):
            raise ValueError(f"candidate file {path!r} does not exist; give the path of a .py file defining ModelNew")
    return list(kernels) + files


def fuzz_settings():
    """The Hypothesis settings of the fuzz tests: the fusefuzz profile, ``$FUSEFUZZ_MAX_EXAMPLES``."""
    from . import profiles

    return profiles.get(profiles.default_name(), max_examples=_int_env(MAX_EXAMPLES_ENV))


def _in_hypofuzz() -> bool:
    detection = sys.modules.get("hypofuzz.detection")
    return bool(detection is not None and detection.in_hypofuzz_run())


def kernel_test(kernels=None, *, candidates=None):
    """A pytest test function, marked ``fuzz``, parametrised over ``kernels`` (registry names, default
    all) and ``candidates`` (files, default ``$FUSEFUZZ_CANDIDATES``): assign it to a ``test_*`` name in
    a test module."""
    import pytest
    from hypothesis import given, seed, settings
    from hypothesis import strategies as st

    chosen = specs(kernels, candidates)
    fuzz_settings_ = fuzz_settings()
    if _in_hypofuzz():
        # HypoFuzz fuzzes only tests whose database is the default settings' database: make ours the default
        # (a HypoFuzz run collects fuzz tests only, so no other test is affected).
        settings.register_profile("fusefuzz-hypofuzz", database=fuzz_settings_.database)
        settings.load_profile("fusefuzz-hypofuzz")

    def test_kernel(kernel, data):
        t = target(kernel)
        t.judge(data.draw(t.strategy, label="example"))

    test = fuzz_settings_(given(data=st.data())(test_kernel))
    seed_value = _int_env(SEED_ENV)
    if seed_value is not None:
        test = seed(seed_value)(test)
    test = pytest.mark.parametrize("kernel", [pytest.param(s, id=spec_id(s)) for s in chosen])(test)
    test = pytest.mark.fuzz(test)
    test._fusefuzz_finish = finish_item
    return test


def finish_item(item) -> list[tuple[str, str]]:
    """Called by the plugin at teardown of a :func:`kernel_test` item: its ``user_properties``."""
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("kernel") if callspec is not None else None
    if spec is None or spec not in _TARGETS:
        return []
    return _TARGETS[spec].take_stats(os.environ.get(REPRO_DIR_ENV, "fusefuzz-repros"))


def read_junit(path: str) -> list[dict]:
    """The test cases of a pytest ``--junitxml`` file: name, outcome, time and the properties above
    (repeated properties, like ``fusefuzz_failure``, become lists)."""
    import xml.etree.ElementTree as ET

    rows = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
        row = {"name": case.get("name"), "classname": case.get("classname"), "outcome": outcome,
               "time": float(case.get("time") or 0.0)}
        for prop in case.iter("property"):
            key, value = prop.get("name"), prop.get("value")
            if key in ("fusefuzz_failure", "fusefuzz_repro"):
                row.setdefault(key, []).append(value)
            else:
                row[key] = value
        rows.append(row)
    return rows
