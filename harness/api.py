"""One call for pipelines: a candidate and a reference in, the verdict record out (usable as a reward).

>>> from fusefuzz.harness.api import verdict
>>> record = verdict(candidate_source, reference_source, budget_s=60, seed=0)   # doctest: +SKIP
>>> record["verdict"], record["exit_code"], [f["kind"] for f in record["failures"]]   # doctest: +SKIP
('fail', 1, ['mismatch'])

``candidate`` and ``reference`` are each a path to a ``.py`` file or the file's text, as KernelBench-style
pipelines hold them (a string with a newline, or with ``class ModelNew`` / ``class Model``, is source; sources
are written to a private temporary folder, so that Triton's ``@jit`` can read them). ``reference=None`` checks
against a built-in ``problem`` instead (default ``conv2d_gelu_gap``).

The campaign is the one ``fusefuzz check`` runs, always in isolated worker processes (a candidate that crashes,
hangs or calls ``os._exit`` cannot take the caller down), within ``budget_s`` seconds of wall-clock time in all
(loading included): no example starts once the budget is spent and a running one is stopped at it (see
:func:`fusefuzz.harness.campaign.run_campaign`). Nothing is printed: no progress, no warnings, nothing the candidate
prints. The return value is always the JSON verdict record (:meth:`fusefuzz.harness.campaign.CampaignResult.to_json`):
``verdict``, ``exit_code`` (0 no failure, 1 a failure, 2 the candidate or reference could not be loaded, 3 the
harness failed), ``examples_run``, ``failures`` (kind, example, message), ``notes``, ``budget_spent``, ... For a
file that cannot be loaded it is ``{"verdict": "error", "exit_code": 2, "error": "<one line>", ...}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
import warnings

#: the default wall-clock budget of one call, in seconds
DEFAULT_BUDGET_S = 120.0


def is_source(text, *, cls: str = "ModelNew") -> bool:
    """Whether ``text`` is a file's source rather than its path: a str with a newline or ``class <cls>``."""
    return isinstance(text, str) and ("\n" in text or f"class {cls}" in text)


def _materialize(spec, folder: str, what: str, cls: str) -> str:
    """A path for ``spec``: itself, or a file in ``folder`` holding its source (named by the source's digest)."""
    if isinstance(spec, os.PathLike):
        return os.fspath(spec)
    if not isinstance(spec, str):
        raise TypeError(f"{what}={type(spec).__name__} must be a path or the source text (a str)")
    if not is_source(spec, cls=cls):
        return spec
    digest = hashlib.sha1(spec.encode()).hexdigest()[:12]
    path = os.path.join(folder, f"{what}_{digest}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(spec)
    return path


def _error_record(message: str, exit_code: int, name: str, began: float, budget_s: float) -> dict:
    return {"verdict": "error", "exit_code": exit_code, "examples_run": 0, "failures": [],
            "error": " ".join(str(message).split()), "candidate": name, "notes": [],
            "seconds": round(time.monotonic() - began, 3), "budget_s": budget_s, "budget_spent": False}


@contextlib.contextmanager
def _silenced(database: str):
    """Nothing reaches the caller's stdout/stderr (Python level: the candidate's prints, warnings); Hypothesis'
    example database goes to ``database`` unless the caller chose one (``$FUSEFUZZ_DATABASE``)."""
    from . import profiles

    sink = io.StringIO()
    saved = os.environ.get(profiles.DATABASE_ENV)
    if saved is None:
        os.environ[profiles.DATABASE_ENV] = database
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield sink
    finally:
        if saved is None:
            os.environ.pop(profiles.DATABASE_ENV, None)


def verdict(candidate, reference=None, *, budget_s: float = DEFAULT_BUDGET_S, profile: str = "ci",
            seed: int | None = None, max_examples: int | None = None, problem: str | None = None,
            sizes=None, strategy=None, precision: str | None = None, policy: str | None = None,
            dtypes=None, layouts=None, timeout: float | None = None, strict: bool = False, shrink: bool = True,
            repro_dir: str | None = None) -> dict:
    """Judge ``candidate`` against ``reference`` (paths or sources, see the module docstring) within ``budget_s``
    seconds; return the verdict record, never raise for what the candidate or reference does.

    ``profile``/``seed``/``max_examples``: the Hypothesis search (as ``fusefuzz check``); ``sizes``/``strategy``:
    with a reference, as ``--sizes``/``--strategy``; ``problem``: a built-in problem when there is no reference;
    ``precision``, ``policy``, ``dtypes``/``layouts`` (sequences of names), ``timeout`` (seconds per example),
    ``strict`` as on the command line; ``shrink=False``: failures as first found (a reward needs no minimal
    example; shrinking may take most of the budget); ``repro_dir``: write repro scripts there (and keep source
    files beside them, which the scripts load)."""
    began = time.monotonic()
    if not (isinstance(budget_s, (int, float)) and budget_s > 0):
        raise ValueError(f"budget_s={budget_s!r} must be a positive number of seconds")
    deadline = began + float(budget_s)
    folder = tempfile.mkdtemp(prefix="fusefuzz-verdict-")
    sources = os.path.join(repro_dir, "sources") if repro_dir else folder
    name = "candidate"
    loaded = None
    try:
        with _silenced(os.path.join(folder, "hypothesis-db")):
            try:
                os.makedirs(sources, exist_ok=True)
                cand_path = _materialize(candidate, sources, "candidate", "ModelNew")
                name = os.path.basename(cand_path)
                prob = _problem(reference, sources, problem, sizes, strategy, policy)
                loaded = _load(prob, cand_path, precision, timeout, deadline)
                return _campaign(prob, loaded, deadline, budget_s, profile=profile, seed=seed,
                                 max_examples=max_examples, precision=precision, policy=policy, dtypes=dtypes,
                                 layouts=layouts, timeout=timeout, strict=strict, shrink=shrink, repro_dir=repro_dir)
            except _LoadError as e:  # the candidate, the reference or an option cannot be used
                return _error_record(str(e), 2, name, began, budget_s)
            except Exception as e:  # noqa: BLE001 - a bug of fusefuzz: the record says so, the caller goes on
                return _error_record(f"harness error: {type(e).__name__}: {e}", 3, name, began, budget_s)
    finally:
        if loaded is not None:
            sys.modules.pop(getattr(loaded.module, "__name__", ""), None)
        shutil.rmtree(folder, ignore_errors=True)


class _LoadError(Exception):
    """The candidate, the reference or an option cannot be used (exit code 2)."""


def _problem(reference, folder, problem, sizes, strategy, policy):
    from . import problems
    from .candidates import CandidateError
    from .problems import kernelbench

    try:
        if reference is None:
            if sizes is not None or strategy is not None:
                raise ValueError("sizes= and strategy= need reference= (built-in problems have their own)")
            return problems.get(problem or "conv2d_gelu_gap")
        if problem is not None:
            raise ValueError("give reference= or problem=, not both")
        path = _materialize(reference, folder, "reference", "Model")
        user = kernelbench.load_strategy(strategy) if isinstance(strategy, str) else strategy
        return problems.register(kernelbench.from_file(path, sizes=sizes, strategy=user), replace=True)
    except (CandidateError, ValueError) as e:
        raise _LoadError(str(e)) from None


def _load(problem, path, precision, timeout, deadline):
    """Import and set up the candidate in a worker first (a file that crashes or hangs there cannot touch this
    process), then here."""
    from . import isolation
    from .campaign import preflight
    from .candidates import CandidateError, load

    precision = None if precision in (None, "auto") else precision
    try:
        isolation.preflight(problem, path, precision=precision, timeout=timeout, deadline=deadline)
        candidate = load(path, precision=precision, problem=problem)
        preflight(problem, candidate)
        return candidate
    except (CandidateError, ValueError) as e:
        raise _LoadError(str(e)) from None
    except isolation.WorkerError as e:  # setting it up failed in the worker: as the CLI, a load error
        raise _LoadError(" ".join(str(e).split())[-500:]) from None


def _campaign(problem, candidate, deadline, budget_s, *, profile, seed, max_examples, precision, policy, dtypes,
              layouts, timeout, strict, shrink, repro_dir) -> dict:
    from . import policies, profiles
    from .campaign import run_campaign
    from .problems import kernelbench

    if profile not in profiles.MAX_EXAMPLES:
        raise _LoadError(f"profile={profile!r} is not a profile; use one of {', '.join(profiles.MAX_EXAMPLES)}")
    try:
        parsed = policies.parse(policy or problem.default_policy)
    except ValueError as e:
        raise _LoadError(str(e)) from None
    if (policy or "").partition(":")[0] == "bound" and problem.default_policy != "bound":
        raise _LoadError(f"policy={policy!r}: problem {problem.name!r} has no rounding-error bound; use "
                         "peer[:FACTOR] (its default) or allclose[:TOL]")
    options = {}
    if dtypes:
        options["dtypes"] = tuple(dtypes)
    if layouts:
        options["layouts"] = tuple(layouts)
    before = kernelbench.snapshot(problem)
    result = run_campaign(problem, candidate, profile=profile, max_examples=max_examples, seed=seed,
                          policy=parsed, precision=precision,
                          strategy_options=options, repro_dir=repro_dir, isolate=True, timeout=timeout,
                          strict=strict or None, shrink=shrink, budget_s=max(deadline - time.monotonic(), 1e-3))
    kernelbench.annotate(result, problem, before)
    return {**result.to_json(), "budget_s": budget_s}
