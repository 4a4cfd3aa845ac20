"""Hypothesis settings profiles: ``dev``, ``ci``, ``nightly``, ``gpu``.

Chosen by ``--profile`` (CLI), ``--fusefuzz-profile`` (pytest) or ``FUSEFUZZ_PROFILE``; the default is
``ci`` when the ``CI`` variable is set, ``dev`` otherwise. No profile has a deadline: the first call of a
kernel compiles it (seconds), and the interpreter is slow. Failing examples are kept in a directory
database (``.hypothesis/fusefuzz`` unless ``FUSEFUZZ_DATABASE`` says otherwise) and replayed first.
Every pytest-xdist worker and every HypoFuzz process of a run opens the same directory (Hypothesis writes
each entry to a temporary file and renames it into place, so concurrent writers are safe).
``FUSEFUZZ_DATABASE_READONLY`` adds directories (``os.pathsep``-separated, e.g. a CI cache restored
from the nightly run) whose examples are replayed too but never written or deleted.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ENV_VAR = "FUSEFUZZ_PROFILE"
DATABASE_ENV = "FUSEFUZZ_DATABASE"
READONLY_DATABASE_ENV = "FUSEFUZZ_DATABASE_READONLY"

#: examples per profile, and why
MAX_EXAMPLES = {
    "dev": 25,  # a quick look while editing a kernel
    "ci": 60,  # per kernel on every push; sized for the interpreter on 2 cores
    "nightly": 2000,  # thousands across all dtypes and layouts
    "gpu": 400,  # compiled kernels run in milliseconds; shapes are unbounded there
}

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
for _name in ("differing_executors", "function_scoped_fixture"):
    if hasattr(HealthCheck, _name):
        _SUPPRESSED.append(getattr(HealthCheck, _name))


def database_path() -> str:
    return os.environ.get(DATABASE_ENV) or os.path.join(".hypothesis", "fusefuzz")


def database():
    local = DirectoryBasedExampleDatabase(database_path())
    shared = [p for p in os.environ.get(READONLY_DATABASE_ENV, "").split(os.pathsep) if p.strip()]
    if not shared:
        return local
    from hypothesis.database import MultiplexedDatabase, ReadOnlyDatabase

    return MultiplexedDatabase(local, *(ReadOnlyDatabase(DirectoryBasedExampleDatabase(p)) for p in shared))


def default_name() -> str:
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    return "ci" if os.environ.get("CI") else "dev"


def get(name: str | None = None, *, max_examples: int | None = None, shrink: bool = True,
        all_bugs: bool = True) -> settings:
    """Settings for profile ``name``. ``shrink=False`` reports failing examples as first found (the kill-rate
    test asks only *whether* a bug is caught; shrinking in the interpreter can take minutes per member,
    Hypothesis' own shrink cap is 5 minutes); ``all_bugs=False`` also stops at the first failing example
    instead of searching on for failures of other kinds."""
    name = name or default_name()
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if shrink:
        phases.append(Phase.shrink)
    if name not in MAX_EXAMPLES:
        raise ValueError(f"profile={name!r} is not a profile; use one of {', '.join(MAX_EXAMPLES)}")
    return settings(
        max_examples=max_examples or MAX_EXAMPLES[name],
        deadline=None,
        database=database(),
        suppress_health_check=_SUPPRESSED,
        # no explain phase: it re-runs failing examples many times, each a kernel launch
        phases=tuple(phases),
        print_blob=True,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=all_bugs,
    )


def register_all() -> None:
    """Register the profiles with Hypothesis under their own names (for ``settings.load_profile``)."""
    for name in MAX_EXAMPLES:
        settings.register_profile(name, get(name))
