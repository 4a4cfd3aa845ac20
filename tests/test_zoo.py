"""Kill-rate: every zoo bug is rejected with its expected failure kind, every control passes.

The test asks whether each bug is *caught*, so a bug member runs the ``ci`` profile without Hypothesis'
shrink phase and stops at its first failing example, whose kind must be the expected one (shrinking is
tested in test_campaign_cpu.py; here it cost up to Hypothesis' 5-minute cap per member in the interpreter).
A control must pass every example, which is where the time goes (seconds per example with every check in
the interpreter): controls run the ``ci`` profile when ``$CI`` is set and ``dev`` (25 drawn examples, then
the degenerate explicit ones) on a developer's machine; ``FUSEFUZZ_ZOO_CONTROL_PROFILE`` overrides both,
and the soundness run of docs/oracle.md runs them under ``nightly``.
Hanging members get a 30 s per-example timeout instead of the interpreter's 120 s.
``scripts/oracle_table.py`` measures the same zoo under the ci profile with shrinking, for docs/oracle.md.

Each member is a KernelBench-format file under tests/zoo/ headed by its bug and the kind the harness must
report (fusefuzz.harness.zoo). Members that crash or hang need the isolated runner (issue 6); without it they are
reported as pending (skipped with that reason), never as passing.
"""

import importlib.util
import os

import pytest
from fusefuzz.harness import zoo

MEMBERS = zoo.members()
HAS_ISOLATION = importlib.util.find_spec("fusefuzz.harness.isolation") is not None
#: seconds per example for members that hang (they never return; their examples that do return take seconds)
ZOO_TIMEOUT = 30.0
ZOO_PROFILE = os.environ.get("FUSEFUZZ_ZOO_PROFILE", "ci")
#: controls: the issue's ci profile in CI ($CI set, as .ci/run's machines and GitHub Actions do), dev on a desk
ZOO_CONTROL_PROFILE = os.environ.get("FUSEFUZZ_ZOO_CONTROL_PROFILE", "ci" if os.environ.get("CI") else "dev")


def test_zoo_covers_every_class():
    bugs = [m for m in MEMBERS if not m.is_control]
    controls = [m for m in MEMBERS if m.is_control]
    assert len(bugs) >= 16 and len(controls) >= 3
    expected = {k for m in bugs for k in m.expect.split("|")}
    assert {"mismatch", "nan", "exception", "crash", "timeout", "bad_output", "input_mutated", "stale_output",
            "torch_fallback", "uninitialized_output", "nondeterministic", "batch_variance",
            "precision_contract"} <= expected


@pytest.mark.parametrize("member", MEMBERS, ids=[m.name for m in MEMBERS])
def test_member_is_judged_as_expected(member, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "all")
    isolate = member.needs_isolation
    if isolate and not HAS_ISOLATION:
        pytest.skip(f"pending: {member.expected} needs the isolated runner (issue 6)")
    extra = {"timeout": ZOO_TIMEOUT} if member.expected == "timeout" else {}
    if member.is_control:
        verdict = zoo.judge_member(member, profile=ZOO_CONTROL_PROFILE, seed=0, isolate=isolate, shrink=False, **extra)
    else:
        verdict = zoo.judge_member(member, profile=ZOO_PROFILE, seed=0, isolate=isolate, shrink=False,
                                   first_failure_only=True, **extra)
    if member.is_control:
        assert verdict.correct, f"false alarm on a control: {verdict.kinds}: {verdict.message}"
    else:
        assert verdict.correct, (f"expected {member.expected}, got verdict {verdict.verdict} with kinds "
                                 f"{verdict.kinds}: {verdict.message}")
