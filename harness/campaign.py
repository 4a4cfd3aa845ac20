"""A fuzz campaign: Hypothesis draws examples, :mod:`fusefuzz.harness.runner` judges each, failures shrink.

Each failure kind raises its own exception class, so Hypothesis treats different kinds as different
bugs and shrinks each to its own minimal example (``report_multiple_bugs``). Every failing example is
also written to a journal file as soon as it is seen (the minimal-so-far per kind), so a campaign that is
killed leaves what it found on disk; Hypothesis's directory database keeps them for replay too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import given, reject
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import UnsatisfiedAssumption

from . import backend, kinds, profiles
from . import repro as repro_mod
from .candidates import Candidate, CandidateError
from .configs import sweep
from .precision import AUTO_ORDER
from .preflight import preflight  # noqa: F401 - callers import it from here too
from .runner import Failure, run_example
from .stops import BudgetSpent, ExamplesSpent

try:
    BaseExceptionGroup  # noqa: B018 - a builtin from Python 3.11
except NameError:  # Python 3.10: Hypothesis depends on the backport there
    from exceptiongroup import BaseExceptionGroup

#: default cap on multiply-adds per example when kernels run in the interpreter. The interpreter costs
#: ~4 ms per block iteration (measured here, 2 cores): a direct kernel with 32x32 blocks needs about one
#: second for 250k MACs; tiled GEMM kernels are far cheaper. Every size still reaches its maximum alone.
INTERPRETER_MAX_MACS = 250_000
#: and on batch x out_channels: a kernel with one program per output pays ~ms per program and K block.
INTERPRETER_MAX_OUTPUTS = 96


class CounterExample(Exception):
    """Raised inside the property; one subclass per failure kind (see :func:`_exception_for`)."""

    def __init__(self, failure: Failure):
        super().__init__(f"{failure.kind}: {failure.summary}")
        self.failure = failure


#: examples a campaign may run in all, shrinking included, as a multiple of its example budget: shrinking every
#: distinct finding to its minimum can cost many times the search itself in the interpreter; past this cap the
#: smallest example found so far of each finding stands (a remark says so)
SHRINK_CAP_FACTOR = 3


_EXCEPTIONS: dict[str, type] = {}


def _counterexample(failure: Failure, also=()):
    """Raise ``failure`` for Hypothesis, always from this line (Hypothesis tells bugs apart by the exception's
    type and where it is raised: one kind x dtype x layout, one bug); ``also``: other findings of the example."""
    exc = _exception_for(failure.kind, failure.example)(failure)
    exc.also = list(also)
    raise exc


def _exception_for(kind: str, example=None) -> type:
    """One exception class per kind x dtype x layout: Hypothesis shrinks each to its own minimal example."""
    cell = f"{example.dtype}_{example.layout}" if example is not None else ""
    key = f"{kind}:{cell}"
    if key not in _EXCEPTIONS:
        name = "".join(part.title() for part in f"{kind}_{cell}".split("_") if part) + "Failure"
        _EXCEPTIONS[key] = type(name, (CounterExample,), {})
    return _EXCEPTIONS[key]


def _round_seed(seed: int | None, round_index: int) -> int:
    """Round 0 keeps the campaign's seed; later rounds search elsewhere, reproducibly from it."""
    base = 0 if seed is None else seed
    return base if round_index == 0 else (base * 1_000_003 + round_index) % 2**32


@dataclass
class CampaignResult:
    candidate: str
    problem: str
    backend: str
    profile: str
    policy: str
    precision: str
    verdict: str = "pass"  # pass | fail | error | unsupported
    examples_run: int = 0
    failures: list[Failure] = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)
    configs: list[str] = field(default_factory=list)
    ratios: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    #: worker statistics when examples ran isolated (fusefuzz.harness.isolation.IsolatedRunner.summary)
    isolation: dict | None = None
    #: compute-sanitizer findings (``--sanitize``), or why it was skipped
    sanitizer: dict | None = None
    #: findings that do not fail (kinds.NOTE_KINDS), one per kind x dtype x layout, same record as failures
    notes: list[Failure] = field(default_factory=list)
    #: things the reader should know about the campaign itself (e.g. drawn sizes the reference itself rejected)
    remarks: list[str] = field(default_factory=list)
    #: examples judged per "dtype/layout" (what a passing verdict covers)
    coverage: Counter = field(default_factory=Counter)
    #: every dtype/layout cell the strategy can draw -> pass | fail:<kinds> | out_of_scope:<why> |
    #: unsupported_here:<why> | not_run
    matrix: dict = field(default_factory=dict)
    #: notes fail too
    strict: bool = False
    #: the candidate's declared contract, in words
    contract: str = ""
    #: the accuracy grades every judged example passed (fusefuzz.harness.accuracy.merge), or None
    accuracy: object = None
    #: the wall-clock budget in seconds (None: none), and whether it ended the search
    budget_s: float | None = None
    budget_spent: bool = False

    @property
    def consistent_with(self) -> list[str]:
        return [c for c in AUTO_ORDER if c in self.ratios and self.ratios[c] <= 1.0]

    @property
    def exit_code(self) -> int:
        """0 no failure (notes allowed), 1 a failure, 3 the harness itself failed (verdict ``error``); exit 2,
        a candidate that cannot be loaded, happens before any campaign."""
        return {"pass": 0, "unsupported": 0, "fail": 1}.get(self.verdict, 3)

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "examples_run": self.examples_run,
            "failures": [f.to_json() for f in self.failures],
            "unsupported": [{"reason": r, "examples": n} for r, n in self.unsupported.items()],
            "candidate": self.candidate,
            "problem": self.problem,
            "backend": self.backend,
            "profile": self.profile,
            "policy": self.policy,
            "precision": self.precision,
            "precision_consistent_with": self.consistent_with,
            "worst_error_over_bound": self.ratios,
            "configs": self.configs,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            **({"isolation": self.isolation} if self.isolation is not None else {}),
            **({"sanitizer": self.sanitizer} if self.sanitizer is not None else {}),
            "notes": [f.to_json() for f in self.notes],
            "matrix": dict(self.matrix),
            "accuracy": self.accuracy.to_json() if self.accuracy is not None else None,
            "contract": self.contract,
            "strict": self.strict,
            **({"remarks": list(self.remarks)} if self.remarks else {}),
            "coverage": dict(sorted(self.coverage.items())),
            **({"budget_s": self.budget_s, "budget_spent": self.budget_spent} if self.budget_s is not None else {}),
        }


def _walk(exc: BaseException, flaky: bool = False):
    """Yield (exception, flaky) for every leaf of (nested) exception groups."""
    from hypothesis.errors import Flaky

    flaky = flaky or isinstance(exc, Flaky)
    subs = getattr(exc, "exceptions", None)
    if isinstance(exc, BaseExceptionGroup) and subs:
        for sub in subs:
            yield from _walk(sub, flaky)
    else:
        yield exc, flaky


class _Journal:
    """The minimal-so-far failing example of each finding (kind x dtype x layout), rewritten to disk whenever it
    changes (Hypothesis only tries smaller examples of a bug once it has one)."""

    def __init__(self, path: str | None):
        self.path = path
        self.latest: dict[tuple, Failure] = {}

    def record(self, failure: Failure) -> None:
        self.latest[finding_key(failure)] = failure
        self.write("running")

    def write(self, status: str) -> None:
        if not self.path:
            return
        tmp = self.path + ".tmp"
        os.makedirs(os.path.dirname(os.path.abspath(self.path)) or ".", exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"status": status, "failures": [x.to_json() for x in self.latest.values()]}, f, indent=1)
        os.replace(tmp, self.path)


def _explicit_examples(problem, options: dict) -> list:
    """The problem's degenerate examples that the strategy options allow (dtype, layout, budget)."""
    keep = []
    for ex in getattr(problem, "explicit", ()):
        if "dtypes" in options and ex.dtype not in options["dtypes"]:
            continue
        if "layouts" in options and ex.layout not in options["layouts"]:
            continue
        if problem.flops is not None and options.get("max_macs") and problem.flops(ex) / 2 > options["max_macs"]:
            continue
        keep.append(ex)
    return keep


def default_policy(problem):
    """The policy a problem is judged by unless one is asked for (its ``default_policy``, else ``bound``)."""
    from . import policies

    return policies.parse(getattr(problem, "default_policy", "bound"))


def campaign_strategy_options(problem, *, max_macs: int | None | str = "auto", extra: dict | None = None) -> dict:
    """The options a campaign passes to ``problem.strategy``: ``extra`` plus, with ``max_macs="auto"`` on the
    interpreter, its cost caps (the campaign's defaults, unless the problem sizes its own). Shared by
    :func:`run_campaign` and the pytest fuzz tests (:mod:`fusefuzz.harness.fuzzsuite`)."""
    interpreting = backend.name() == "interpreter"
    caps = {"max_macs": INTERPRETER_MAX_MACS, "max_outputs": INTERPRETER_MAX_OUTPUTS,
            **(getattr(problem, "interpreter_options", None) or {})}
    if max_macs == "auto":
        max_macs = caps["max_macs"] if interpreting else None
    options = dict(extra or {})
    if max_macs is not None:
        options.setdefault("max_macs", int(max_macs))
        if interpreting:
            for name, value in caps.items():
                options.setdefault(name, value)
    return options


def finding_key(f: Failure) -> tuple[str, str, str]:
    """What makes two findings distinct: their kind, dtype and layout."""
    return (f.kind, f.example.dtype, f.example.layout)


def _cells(problem, options: dict) -> list[str]:
    from .example import LAYOUTS
    from .precision import DTYPES

    dtypes = options.get("dtypes") or tuple(DTYPES)
    layouts = options.get("layouts") or getattr(problem, "layouts", None) or LAYOUTS
    return [f"{d}/{lay}" for d in dtypes for lay in layouts]


class _Cells:
    """What each dtype/layout cell has shown so far (for the verdict's matrix)."""

    def __init__(self, universe: list[str]):
        self.universe = list(universe)
        self.passed: Counter = Counter()
        self.failed: dict[str, list[str]] = {}
        self.out_of_scope: dict[str, str] = {}
        self.unsupported: dict[str, str] = {}

    def record(self, example, outcome) -> None:
        cell = f"{example.dtype}/{example.layout}"
        if cell not in self.universe:
            self.universe.append(cell)
        if outcome is None:
            return
        for f in outcome.failures:
            kinds_seen = self.failed.setdefault(cell, [])
            if f.kind not in kinds_seen:
                kinds_seen.append(f.kind)
        for n in outcome.notes:
            if n.kind == kinds.OUT_OF_SCOPE:
                self.out_of_scope.setdefault(cell, _cause(n.message))
        if outcome.unsupported:
            self.unsupported.setdefault(cell, outcome.unsupported)
        elif not outcome.failures and not any(n.kind == kinds.OUT_OF_SCOPE for n in outcome.notes):
            self.passed[cell] += 1

    def fail(self, f: Failure) -> None:
        cell = f"{f.example.dtype}/{f.example.layout}"
        kinds_seen = self.failed.setdefault(cell, [])
        if f.kind not in kinds_seen:
            kinds_seen.append(f.kind)

    def matrix(self) -> dict[str, str]:
        out = {}
        for cell in self.universe:
            if cell in self.failed:
                out[cell] = "fail:" + ",".join(self.failed[cell])
            elif cell in self.out_of_scope:
                out[cell] = "out_of_scope:" + self.out_of_scope[cell]
            elif self.passed[cell]:
                out[cell] = "pass"
            elif cell in self.unsupported:
                out[cell] = "unsupported_here:" + self.unsupported[cell]
            else:
                out[cell] = "not_run"
        return out


def _cause(message: str) -> str:
    """The refusal's cause in one short line (for a matrix cell)."""
    text = message.splitlines()[0]
    if "refused: " in text:
        text = text.split("refused: ", 1)[1]
    return text[:160]


def run_campaign(problem, candidate: Candidate, *, profile: str | None = None, max_examples: int | None = None,
                 seed: int | None = None, policy=None, precision: str | None = None,
                 max_macs: int | None | str = "auto", strategy_options: dict | None = None,
                 repro_dir: str | None = None, journal: str | None = None, on_example=None, on_start=None,
                 isolate: bool = False, timeout: float | None = None, shrink: bool = True,
                 first_failure_only: bool = False, strict: bool | None = None,
                 budget_s: float | None = None) -> CampaignResult:
    """Fuzz ``candidate`` against ``problem``. With ``isolate``, every example runs in a worker process
    (:mod:`fusefuzz.harness.isolation`): crashes and hangs (``timeout`` seconds per example, default per backend)
    become failures of kind ``crash`` / ``timeout``. ``on_start(example)`` is called before each example and
    ``on_example(result, outcome)`` after it (progress displays, statistics). ``shrink=False`` skips
    Hypothesis' shrink phase (failures are reported as first found); ``first_failure_only`` ends the search at
    the first failing example (the kill-rate test).

    The search goes on after a finding until the example budget is spent: each distinct finding (kind x dtype x
    layout) is shrunk to its own minimal example; once known, a finding no longer stops the search (it is
    searched for again only as part of other findings). ``strict`` (default: the candidate's own) makes notes
    fail.

    ``budget_s``: wall-clock seconds for the whole campaign: after the first example (always run: no verdict
    without one) no example starts once the time left is less than the slowest so far, an isolated example is
    stopped when it runs past the budget (a ``timeout`` failure only when no example finished, or it ran 10x the
    slowest that did), and the findings by then are the verdict (``budget_spent`` says the budget ended the
    search; shrinking may be unfinished; cells never drawn are ``not_run`` in the matrix)."""
    began = time.monotonic()
    if budget_s is not None and not budget_s > 0:
        raise ValueError(f"budget_s={budget_s!r} must be a positive number of seconds")
    deadline = None if budget_s is None else began + budget_s
    backend.select()
    policy = policy or default_policy(problem)
    precision = precision or candidate.precision or "auto"
    profile_name = profile or profiles.default_name()
    strict = bool(candidate.strict if strict is None else strict)
    settings = profiles.get(profile_name, max_examples=max_examples, shrink=shrink, all_bugs=not first_failure_only)
    budget = settings.max_examples
    result = CampaignResult(candidate=candidate.name, problem=problem.name, backend=backend.describe(),
                            profile=profile_name, policy=policy.label(precision), precision=precision, strict=strict,
                            budget_s=budget_s)
    from .runner import _scope_text

    result.contract = _scope_text(candidate)
    result.configs = [a.describe() for a in sweep(candidate.autotuners)]
    options = campaign_strategy_options(problem, max_macs=max_macs, extra=strategy_options)
    strategy = problem.strategy(**options)
    cells = _Cells(_cells(problem, options))
    log = _Journal(journal)
    start = time.perf_counter()
    isolated = None
    if isolate:
        from .isolation import IsolatedRunner

        isolated = IsolatedRunner(problem, candidate, policy=policy, precision=precision, timeout=timeout,
                                  deadline=deadline)
    elif timeout is not None:
        raise ValueError("timeout= needs isolate=True: only a worker process can be stopped")

    known: set = set()  # finding keys already reported (they no longer stop the search)
    note_keys: set = set()
    graded: list = []  # each judged example's accuracy grades
    replies: dict[str, Failure] = {}  # by example, for replays once a budget is set
    slowest, begun = [0.0], [0]

    def prop(example):
        if result.examples_run >= SHRINK_CAP_FACTOR * budget:
            raise ExamplesSpent()
        if deadline is not None:
            key = repr(sorted(example.to_dict().items()))
            if key in replies:  # Hypothesis replays what failed: answered without running it again
                _counterexample(replies[key])
            # the first example always starts (isolated, it is stopped at the deadline): no verdict without one
            if begun[0] and (deadline - time.monotonic() < slowest[0] or time.monotonic() >= deadline):
                raise BudgetSpent()
            begun[0] += 1
        if isolated is not None and isolated.should_skip(example):
            reject()  # the timeout budget is spent: examples never seen before are not run
        result.examples_run += 1
        result.coverage[f"{example.dtype}/{example.layout}"] += 1
        if on_start is not None:
            on_start(example)
        started = time.monotonic()
        try:
            if isolated is not None:
                outcome = isolated.run(example)
            else:
                outcome = run_example(problem, candidate, example, policy=policy, precision=precision)
        except BudgetSpent:  # the budget stopped this example: not judged
            result.examples_run -= 1
            result.coverage[f"{example.dtype}/{example.layout}"] -= 1
            raise
        except CandidateError as e:  # structural, but only seen at this example: report, don't shrink forever
            outcome = None
            failures = [Failure(kinds.EXCEPTION, example, f"candidate setup failed: {e}")]
        else:
            failures = list(outcome.failures)
            for n in outcome.notes:
                if strict:
                    failures.append(n)
                elif finding_key(n) not in note_keys:
                    note_keys.add(finding_key(n))
                    result.notes.append(n)
        cells.record(example, outcome)
        if outcome is not None and outcome.accuracy is not None and not outcome.unsupported:
            graded.append(outcome.accuracy)
        if outcome is not None:
            if outcome.unsupported:
                result.unsupported[outcome.unsupported] += 1
            for c, r in outcome.ratios.items():
                result.ratios[c] = max(result.ratios.get(c, 0.0), r)
        if on_example is not None:
            on_example(result, outcome)
        slowest[0] = max(slowest[0], time.monotonic() - started)
        new = [f for f in failures if finding_key(f) not in known]
        if new:
            log.record(new[0])
            if deadline is not None:
                replies[key] = new[0]
            # the kill-rate mode ends at this example: every finding it showed is kept
            _counterexample(new[0], also=new[1:] if first_failure_only else ())

    digest = hashlib.sha1(f"{problem.name}|{candidate.name}|{precision}|{policy.label(precision)}".encode())
    def run_explicit(when: str) -> None:
        """The problem's degenerate examples, run on purpose (not as Hypothesis @example, which would stop the
        search unshrunk at the first one that fails)."""
        for ex in _explicit_examples(problem, options):
            try:
                prop(ex)
            except BudgetSpent:
                result.budget_spent = True
                return
            except (ExamplesSpent, UnsatisfiedAssumption):  # the cap, or the isolated runner's timeout budget
                return
            except CounterExample as e:
                e.failure.message += f"\n(a degenerate example run on purpose {when} the search; not shrunk)"
                known.add(finding_key(e.failure))
                result.failures.append(e.failure)
                cells.fail(e.failure)
                if first_failure_only:
                    return

    if first_failure_only:  # the kill-rate test asks only whether a bug is caught: the cheapest catches first
        run_explicit("before")
    rounds = 0
    while not (first_failure_only and result.failures):
        remaining = budget - result.examples_run
        if remaining <= 0:
            break
        round_settings = hypothesis_settings(settings, max_examples=remaining) if rounds else settings
        test = round_settings(given(example=strategy)(prop))
        if seed is not None:
            test = hypothesis_seed(_round_seed(seed, rounds))(test)
        inner = getattr(getattr(test, "hypothesis", None), "inner_test", None)
        if inner is not None:  # each round its own database key: a round's suppressed findings never evict another's
            inner._hypothesis_internal_add_digest = digest.digest() + bytes([rounds % 256])
        before = len(result.failures)
        try:
            test()
        except KeyboardInterrupt:
            result.failures.extend(f for f in log.latest.values() if f not in result.failures)
            result.verdict = "fail" if result.failures else "error"
            result.error = "interrupted"
            log.write("interrupted")
            if isolated is not None:
                isolated.close()
            raise
        except (BudgetSpent, ExamplesSpent) as stop:
            if isinstance(stop, BudgetSpent):
                result.budget_spent = True
            else:
                result.remarks.append(f"shrinking stopped after {result.examples_run} examples "
                                      f"({SHRINK_CAP_FACTOR}x the budget of {budget}): some failing examples may "
                                      "not be minimal")
            for f in log.latest.values():
                if finding_key(f) not in known:
                    known.add(finding_key(f))
                    result.failures.append(f)
                    cells.fail(f)
            break
        except BaseException as exc:  # noqa: BLE001 - sort Hypothesis's verdict into failures / harness errors
            others = []
            for leaf, flaky in _walk(exc):
                if isinstance(leaf, CounterExample):
                    f = leaf.failure
                    if flaky:
                        f.message += "\n(flaky: this example did not fail again when replayed)"
                    for g in (f, *getattr(leaf, "also", ())):
                        if finding_key(g) not in known:
                            known.add(finding_key(g))
                            result.failures.append(g)
                            cells.fail(g)
                else:
                    others.append(leaf)
            if others and not result.failures:
                result.verdict = "error"
                result.error = f"harness error: {type(others[0]).__name__}: {others[0]}"
        rounds += 1
        if first_failure_only or result.verdict == "error" or len(result.failures) == before:
            break  # nothing new: the round ran its examples to the end
    if not first_failure_only and result.verdict != "error" and not result.budget_spent:
        run_explicit("after")
    result.matrix = cells.matrix()
    if backend.name() == "interpreter":  # what a GPU compile would change that the interpreter cannot show
        from . import lowering

        result.remarks.extend(lowering.remarks(candidate, precision))
    from . import accuracy

    result.accuracy = accuracy.merge(graded)
    result.seconds = time.perf_counter() - start
    if result.budget_spent:
        result.remarks.append(f"the time budget ended the search after {result.examples_run} examples"
                              + ("; the failures are the smallest found by then" if result.failures else ""))
    if result.failures:
        result.verdict = "fail"
        if repro_dir:
            for f in result.failures:
                try:
                    f.repro = repro_mod.write(problem, candidate, f, repro_dir)
                except Exception as e:  # noqa: BLE001 - a repro that cannot be written must not hide the failure
                    f.repro = f"(could not write repro: {e})"
    elif result.verdict == "pass" and result.examples_run and sum(result.unsupported.values()) == result.examples_run:
        result.verdict = "unsupported"
    if isolated is not None:
        result.isolation = isolated.summary()
        isolated.close()
    if journal:
        with open(journal, "w", encoding="utf-8") as fh:
            json.dump({"status": "done", **result.to_json()}, fh, indent=1)
    return result
