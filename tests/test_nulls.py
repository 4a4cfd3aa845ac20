"""Null candidates (harness/nulls.py): every wrong-on-purpose answer is refused on real problems, built-in and
--reference alike; a reference whose outputs barely depend on its inputs is flagged as degenerate."""

import os
import textwrap

from conftest import REPO
from fusefuzz.harness import nulls, problems
from fusefuzz.harness.problems import kernelbench


def test_builtin_problem_refuses_every_null():
    a = nulls.assess(problems.get("conv2d_gelu_gap"))
    assert a.examples >= 2 and len(a.refused) == 5
    assert not a.degenerate and a.note() is None, a.refused


def test_reference_file_problem_refuses_every_null():
    a = nulls.assess(kernelbench.from_file(os.path.join(REPO, "examples", "references", "level1_sum_reduction.py")))
    assert a.examples >= 1 and len(a.refused) >= 4  # no parameters: no "term dropped"
    assert not a.degenerate, a.refused


def test_reference_with_outputs_independent_of_inputs_is_degenerate(tmp_path):
    path = tmp_path / "nearly_constant.py"
    path.write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, x):
                # 3 + a trace of the input: far below any tolerance, so a constant answer is "right"
                return torch.full((x.shape[0], 4), 3.0, dtype=x.dtype) + 1e-9 * x.sum(dim=1, keepdim=True)

        batch = 8
        n = 16

        def get_inputs():
            return [torch.randn(batch, n)]

        def get_init_inputs():
            return []
        """))
    problem = kernelbench.from_file(str(path))
    a = nulls.assess(problem)
    assert a.degenerate and "a constant (the reference's mean output)" in a.passing
    assert "is degenerate" in a.note() and repr(problem.name) in a.note()
    assert nulls.assess(problem) is a  # cached by the reference's hash: judged once per problem
