"""The zoo's ``# problem:`` header: members point at their problem; every problem with members has bugs and a
control (their verdicts are tests/test_zoo.py's)."""

import pytest
from fusefuzz.harness import problems, zoo


def test_members_name_registered_problems_and_default_to_conv(tmp_path):
    members = zoo.members()
    assert {m.problem for m in members} >= {"conv2d_gelu_gap", "linear_gelu", "layernorm"}
    assert all(m.problem in problems.names() for m in members)
    assert all(m.problem == "conv2d_gelu_gap" for m in members if m.name[:2].isdigit())
    for name in ("linear_gelu", "layernorm"):
        mine = [m for m in members if m.problem == name]
        assert sum(not m.is_control for m in mine) >= 3 and sum(m.is_control for m in mine) >= 1
        assert all(m.name.startswith(name) for m in mine)


def test_problem_header_may_follow_other_comment_lines(tmp_path):
    (tmp_path / "a.py").write_text("# fusefuzz-zoo: bug\n# expect: mismatch\n# precision: ieee\n# problem: layernorm\n"
                                   "import torch\n# problem: linear_gelu\n")
    (tmp_path / "b.py").write_text("# fusefuzz-zoo: ok\n# expect: pass\nimport torch\n")
    a, b = zoo.members(str(tmp_path))
    assert (a.problem, b.problem) == ("layernorm", "conv2d_gelu_gap")


def test_unknown_problem_in_a_header_is_an_error_when_judged(tmp_path):
    (tmp_path / "c.py").write_text("# fusefuzz-zoo: bug\n# expect: mismatch\n# problem: nonesuch\n")
    (member,) = zoo.members(str(tmp_path))
    with pytest.raises(ValueError, match="problem='nonesuch' is not registered"):
        zoo.judge_member(member)


def test_a_member_may_expect_another_kind_on_a_gpu_with_its_reason(tmp_path, monkeypatch):
    (tmp_path / "d.py").write_text("# fusefuzz-zoo: oob\n# expect: crash (cuda: mismatch - lands in the allocator's "
                                   "block)\n")
    (member,) = zoo.members(str(tmp_path))
    assert (member.expect, member.expect_cuda, member.expect_text) == ("crash", "mismatch", "crash (cuda: mismatch)")
    assert "allocator" in member.expect_cuda_why
    monkeypatch.setattr("fusefuzz.harness.backend._selected", "interpreter")
    assert member.expected == "crash" and member.needs_isolation
    monkeypatch.setattr("fusefuzz.harness.backend._selected", "cuda")
    assert member.expected == "mismatch" and not member.needs_isolation


@pytest.mark.parametrize("line, error", [
    ("# expect: crash (cuda: mismatch)", "needs its reason"),
    ("# expect: crash (cuda: wrong_kind - why)", "expect='wrong_kind' is not a failure kind"),
])
def test_a_gpu_expectation_must_be_a_kind_and_give_its_reason(tmp_path, line, error):
    (tmp_path / "e.py").write_text(f"# fusefuzz-zoo: oob\n{line}\n")
    with pytest.raises(ValueError, match=error):
        zoo.members(str(tmp_path))
