"""Kill-rate: every zoo bug is rejected with its expected failure kind, every control passes (ci profile).

Each member is a KernelBench-format file under tests/zoo/ headed by its bug and the kind the harness must
report (harness.zoo). Members that crash or hang need the isolated runner (issue 6); without it they are
reported as pending (skipped with that reason), never as passing.
"""

import importlib.util

import pytest

from harness import zoo

MEMBERS = zoo.members()
HAS_ISOLATION = importlib.util.find_spec("harness.isolation") is not None


def test_zoo_covers_every_class():
    bugs = [m for m in MEMBERS if not m.is_control]
    controls = [m for m in MEMBERS if m.is_control]
    assert len(bugs) >= 16 and len(controls) >= 3
    expected = {m.expect for m in bugs}
    assert {"mismatch", "nan", "exception", "crash", "timeout", "bad_output", "input_mutated", "stale_output",
            "torch_fallback", "uninitialized_output", "nondeterministic", "batch_variance",
            "precision_contract"} <= expected


@pytest.mark.parametrize("member", MEMBERS, ids=[m.name for m in MEMBERS])
def test_member_is_judged_as_expected(member, monkeypatch):
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "all")
    isolate = member.expect in zoo.NEEDS_ISOLATION
    if isolate and not HAS_ISOLATION:
        pytest.skip(f"pending: {member.expect} needs the isolated runner (issue 6)")
    verdict = zoo.judge_member(member, profile="ci", seed=0, isolate=isolate)
    if member.is_control:
        assert verdict.correct, f"false alarm on a control: {verdict.kinds}: {verdict.message}"
    else:
        assert verdict.correct, (f"expected {member.expect}, got verdict {verdict.verdict} with kinds "
                                 f"{verdict.kinds}: {verdict.message}")
