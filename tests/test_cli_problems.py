"""The CLI on the non-conv problems: ``fuzz`` takes each kernel's own problem, ``check --problem`` loads files
with that problem's constructor, a file of another problem is one error line."""

import json
import os

from conftest import smallest_failure
from fusefuzz.harness.cli import main

ZOO = os.path.join(os.path.dirname(__file__), "zoo")


def test_fuzz_judges_each_kernel_against_its_own_problem(tmp_path):
    out = tmp_path / "fuzz.json"
    code = main(["fuzz", "--kernel", "layernorm.fused", "--kernel", "linear_gelu.fused-ieee", "--max-examples", "2",
                 "--seed", "0", "--dtypes", "float32", "--json", str(out)])
    assert code == 0
    kernels = json.loads(out.read_text())["kernels"]
    assert {(k["candidate"], k["problem"], k["verdict"]) for k in kernels} == {
        ("layernorm.fused", "layernorm", "pass"), ("linear_gelu.fused-ieee", "linear_gelu", "pass")}


def test_fuzz_with_a_problem_that_has_no_such_kernel_is_a_usage_error(capsys):
    assert main(["fuzz", "--problem", "linear_gelu", "--kernel", "layernorm.fused"]) == 2
    assert "--problem='linear_gelu'" in capsys.readouterr().err


def test_check_a_file_against_its_problem_and_against_the_wrong_one(tmp_path, capsys):
    bug = os.path.join(ZOO, "linear_gelu_01_k_tail_dropped.py")
    out = tmp_path / "r.json"
    assert main(["check", bug, "--problem", "linear_gelu", "--no-isolate", "--max-examples", "3", "--seed", "0",
                 "--dtypes", "float32", "--json", str(out), "--repro-dir", str(tmp_path)]) == 1
    failure = smallest_failure(json.loads(out.read_text())["failures"])
    assert failure["kind"] == "mismatch" and set(failure["example"]) >= {"batch", "in_features", "out_features"}
    assert main(["check", bug, "--no-isolate", "--max-examples", "1"]) == 2  # the default conv problem
    assert "cannot be called as ModelNew(in_channels, out_channels, kernel_size)" in capsys.readouterr().err
