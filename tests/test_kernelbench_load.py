"""Loading KernelBench-format references: which constants are sizes, the batch size, clear one-line errors."""

import json
import os
import textwrap

import pytest
from conftest import REPO
from fusefuzz.harness.cli import main
from fusefuzz.harness.problems import kernelbench
from fusefuzz.harness.problems.kernelbench import ReferenceLoadError

REFERENCES = os.path.join(REPO, "examples", "references")


def ref(name: str) -> str:
    return os.path.join(REFERENCES, name)


def write(tmp_path, text: str, name: str = "ref.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("name, sizes, batch", [
    ("level1_matmul.py", ("M", "K", "N"), "M"),
    ("level1_softmax.py", ("batch_size", "dim"), "batch_size"),
    # reduce_dim = 1 is an integer too, but only the output's shape depends on it: a hyperparameter
    ("level1_sum_reduction.py", ("batch_size", "dim1", "dim2"), "batch_size"),
    # divisor = 2.0 is a value; out_features reaches the parameters only
    ("level2_gemm_relu_divide.py", ("batch_size", "in_features", "out_features"), "batch_size"),
    # `height, width = 32, 32` is two sizes; bias_shape = (out_channels, 1, 1) follows out_channels
    ("level2_conv2d_relu_biasadd.py",
     ("batch_size", "in_channels", "out_channels", "height", "width", "kernel_size"), "batch_size"),
])
def test_sizes_and_batch_are_detected_in_the_example_references(name, sizes, batch):
    problem = kernelbench.from_file(ref(name))
    assert problem.size_names == sizes
    assert problem.batch_name == batch
    assert problem.default_policy == "peer"


def test_derived_constants_follow_the_drawn_sizes():
    problem = kernelbench.from_file(ref("level2_conv2d_relu_biasadd.py"))
    ex = problem.smallest_example().replace(out_channels=5)
    assert problem.init_args(ex) == (1, 5, 1, (5, 1, 1))
    ref_model = problem.make_reference(ex, "cpu")
    assert tuple(ref_model.bias.shape) == (5, 1, 1)
    assert problem.output_shape(ex.replace(height=4, width=3, kernel_size=2)) == (1, 5, 3, 2)


def test_a_dim_mixing_reference_gets_no_batch_checks(tmp_path):
    # softmax over dim 0: the first input's dim 0 scales with `rows`, but samples are not independent
    path = write(tmp_path, """
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return torch.softmax(x, dim=0)

        rows = 8
        cols = 4

        def get_inputs():
            return [torch.randn(rows, cols)]

        def get_init_inputs():
            return []
    """)
    assert kernelbench.from_file(path).batch_name is None


def test_sizes_option_adds_a_hyperparameter_and_pins_a_size():
    problem = kernelbench.from_file(ref("level1_sum_reduction.py"), sizes="reduce_dim=0:2,dim2=7")
    assert problem.size_names == ("batch_size", "dim1", "dim2", "reduce_dim")
    assert problem.ref.ranges["reduce_dim"] == (0, 2) and problem.ref.ranges["dim2"] == (7, 7)
    # which dimension is the batch may change with reduce_dim: no batch checks
    assert problem.batch_name is None


def test_integer_arithmetic_constants_are_sizes_and_the_text_can_be_rewritten(tmp_path):
    path = write(tmp_path, """
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x * 2

        N = 1024 * 2  # the doubled size
        flag = True

        def get_inputs():
            return [torch.randn(N)]

        def get_init_inputs():
            return []
    """)
    problem = kernelbench.from_file(path)
    assert problem.size_names == ("N",) and problem.ref.declared == {"N": 2048}
    text = problem.ref.source.text_with({"N": 5})
    assert "N = 5  # the doubled size" in text and "flag = True" in text


@pytest.mark.parametrize("text, message", [
    ("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x

        def get_inputs():
            return [torch.randn(4, 4)]

        def get_init_inputs():
            return []
     """, "has no module-level integer size constants"),
    ("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x

        batch_size = 4

        def get_inputs():
            return [torch.randn(batch_size, undefined_width)]

        def get_init_inputs():
            return []
     """, "get_inputs() raised NameError: name 'undefined_width' is not defined"),
    ("""
        import torch

        batch_size = 4

        def get_inputs():
            return [torch.randn(batch_size)]

        def get_init_inputs():
            return []
     """, "defines no Model"),
    ("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x, x

        batch_size = 4

        def get_inputs():
            return [torch.randn(batch_size)]

        def get_init_inputs():
            return []
     """, "Model.forward returned tuple"),
    ("x = (", "syntax error at line 1"),
])
def test_unusable_references_are_one_line_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ReferenceLoadError) as info:
        kernelbench.from_file(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("case", ["no_constants", "get_inputs_fails", "missing_file", "unknown_size"])
def test_cli_exits_2_with_one_line_for_an_unusable_reference(tmp_path, capsys, case):
    cand = os.path.join(REPO, "examples", "candidates", "softmax_triton.py")
    argv = ["check", cand, "--json", str(tmp_path / "r.json")]
    if case == "no_constants":
        argv += ["--reference", write(tmp_path, """
            import torch
            import torch.nn as nn

            class Model(nn.Module):
                def forward(self, x):
                    return x

            def get_inputs():
                return [torch.randn(4, 4)]

            def get_init_inputs():
                return []
        """)]
    elif case == "get_inputs_fails":
        argv += ["--reference", write(tmp_path, """
            import torch
            import torch.nn as nn

            class Model(nn.Module):
                def forward(self, x):
                    return x

            batch_size = 4

            def get_inputs():
                raise RuntimeError("no data today")

            def get_init_inputs():
                return []
        """)]
    elif case == "missing_file":
        argv += ["--reference", str(tmp_path / "nope.py")]
    else:
        argv += ["--reference", ref("level1_softmax.py"), "--sizes", "width=1:4"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusefuzz: error: ") and "\n" not in err, err
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "error"


def test_cli_refuses_the_bound_policy_and_sizes_without_reference(capsys):
    cand = os.path.join(REPO, "examples", "candidates", "softmax_triton.py")
    assert main(["check", cand, "--reference", ref("level1_softmax.py"), "--policy", "bound"]) == 2
    assert "has no rounding-error bound" in capsys.readouterr().err
    assert main(["check", cand, "--sizes", "dim=1:4"]) == 2
    assert "--sizes needs --reference" in capsys.readouterr().err


def test_candidate_signature_is_checked_against_the_reference(tmp_path, capsys):
    # ModelNew(in_features, out_features, divisor) cannot be built from the matmul reference's ()
    cand = os.path.join(REPO, "examples", "candidates", "gemm_relu_divide_triton.py")
    assert main(["check", cand, "--reference", ref("level1_matmul.py"), "--no-isolate"]) == 2
    err = capsys.readouterr().err
    assert "cannot be called as ModelNew()" in err


def test_explicit_examples_give_every_size_its_own_value_within_the_budget():
    problem = kernelbench.from_file(ref("level1_sum_reduction.py"))
    distinct, *_ = problem.explicit
    assert len(set(distinct.sizes.values())) == len(distinct.sizes)  # no square-only bug survives it
    for ex in problem.explicit:
        ev = problem.ref.evaluate(ex.sizes)
        assert ev.macs <= 250_000 and ev.elements <= kernelbench.INTERPRETER_MAX_ELEMENTS
    # the reversed order is tried when the file order makes the reference raise (kernel_size 13 > height 7)
    conv = kernelbench.from_file(ref("level2_conv2d_relu_biasadd.py"))
    assert all(ex["kernel_size"] <= min(ex["height"], ex["width"]) for ex in conv.explicit)
