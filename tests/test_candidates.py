"""Loading candidates and copying parameters: clear one-line errors, never reseed-and-hope."""

import pytest
import torch
import torch.nn as nn
from conftest import candidate_path
from fusefuzz.harness import candidates
from fusefuzz.harness.approx import ApproxBudget
from fusefuzz.harness.candidates import CandidateError, copy_parameters
from fusefuzz.harness.problems.conv2d_gelu_gap import Model


@pytest.mark.parametrize("name, message", [
    ("missing_file.py", "no such file"),
    ("syntax_error.py", "syntax error at line 4"),
    ("import_error.py", "importing it raised ModuleNotFoundError: No module named 'triton_kernels_that_do_not_exist'"),
    ("no_modelnew.py", "defines no ModelNew"),
    ("wrong_signature.py", "cannot be called as ModelNew(in_channels, out_channels, kernel_size)"),
])
def test_bad_files_give_one_line(name, message):
    with pytest.raises(CandidateError) as info:
        candidates.load(candidate_path(name))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_registry_name():
    with pytest.raises(CandidateError, match="no kernel or file named 'nope'"):
        candidates.load("nope")


class Renamed(nn.Module):
    def __init__(self):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros(4, 3, 2, 2))
        self.shift = nn.Parameter(torch.zeros(4))


def test_copy_by_name_then_by_unique_shape():
    ref = Model(3, 4, 2)
    same = Model(3, 4, 2)
    assert copy_parameters(ref, same) == {"conv.weight": "conv.weight", "conv.bias": "conv.bias"}
    assert torch.equal(same.conv.weight, ref.conv.weight)
    other = Renamed()
    assert copy_parameters(ref, other) == {"conv.weight": "kernel", "conv.bias": "shift"}
    assert torch.equal(other.kernel, ref.conv.weight) and torch.equal(other.shift, ref.conv.bias)


def test_ambiguous_copy_is_an_error():
    module = candidates.import_file(candidate_path("ambiguous_params.py"))
    with pytest.raises(CandidateError, match="ambiguous parameter copy: reference conv.bias"):
        copy_parameters(Model(3, 4, 2), module.ModelNew(3, 4, 2))


def test_missing_and_extra_parameters_are_errors():
    class Missing(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(4, 3, 2, 2))

    with pytest.raises(CandidateError, match=r"no parameter for the reference's conv.bias \(shape \(4,\)\)"):
        copy_parameters(Model(3, 4, 2), Missing())

    class Extra(Model):
        def __init__(self):
            super().__init__(3, 4, 2)
            self.scale = nn.Parameter(torch.ones(7))

    with pytest.raises(CandidateError, match="scale have no counterpart"):
        copy_parameters(Model(3, 4, 2), Extra())


def test_declarations_are_read():
    c = candidates.load(candidate_path("gelu_overflow.py"))
    assert c.precision == "ieee" and c.approx_budget == ApproxBudget(absolute=1e-3)
    with pytest.raises(CandidateError, match="precision='tf64'"):
        candidates.load(candidate_path("direct_exact.py"), precision="tf64")
