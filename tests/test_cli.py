"""The CLI's exit codes and JSON report (in-process: the backend is already chosen)."""

import json

import pytest
from conftest import candidate_path, smallest_failure
from fusefuzz.harness.cli import main


def test_overflow_candidate_exits_1_with_a_nan_failure(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["check", candidate_path("gelu_overflow.py"), "--profile", "ci",
                 "--seed", "3", "--json", str(out), "--repro-dir", str(tmp_path), "--dtypes", "float32",
                 "--max-macs", "40000"])
    assert code == 1
    report = json.loads(out.read_text())
    assert report["verdict"] == "fail" and report["examples_run"] >= 1
    failure = smallest_failure(report["failures"])
    assert failure["kind"] == "nan" and failure["repro"].endswith(".py")
    assert set(failure["example"]) == {"batch", "in_channels", "out_channels", "height", "width", "kernel_size",
                                       "dtype", "layout", "distribution", "scale", "seed"}
    assert "FAIL" in capsys.readouterr().out


def test_correct_candidate_exits_0(tmp_path):
    out = tmp_path / "r.json"
    assert main(["check", candidate_path("direct_exact.py"), "--max-examples", "8", "--seed", "1",
                 "--max-macs", "40000", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["verdict"] == "pass" and report["failures"] == [] and report["examples_run"] >= 8


@pytest.mark.parametrize("name", ["no_modelnew.py", "syntax_error.py", "import_error.py", "wrong_signature.py",
                                  "ambiguous_params.py", "does_not_exist.py"])
def test_unloadable_candidates_exit_2_with_one_line(name, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["check", candidate_path(name), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusefuzz: error: ") and "\n" not in err
    assert json.loads(out.read_text())["verdict"] == "error"


@pytest.mark.parametrize("argv", [
    ["check"],
    ["check", "x.py", "--precision", "fp8"],
    ["check", "x.py", "--problem", "nope"],
    ["check", "x.py", "--policy", "maybe"],
    ["frobnicate"],
])
def test_usage_errors_exit_2(argv):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    assert code == 2


def test_fuzz_over_the_registry(tmp_path):
    out = tmp_path / "fuzz.json"
    code = main(["fuzz", "--kernel", "conv2d_gelu_gap.twopass-ieee", "--max-examples", "4", "--seed", "0",
                 "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["verdict"] == "pass" and report["kernels"][0]["candidate"] == "conv2d_gelu_gap.twopass-ieee"


def test_list(capsys):
    assert main(["list"]) == 0
    assert "conv2d_gelu_gap.twopass" in capsys.readouterr().out
