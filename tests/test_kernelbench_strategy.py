"""Drawing examples for a reference file: budgets, shrinking toward small, rejections, hooks, inputs."""

import os
import textwrap

import torch
from conftest import REPO
from fusefuzz.harness.example import Example
from fusefuzz.harness.problems import kernelbench
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

REFERENCES = os.path.join(REPO, "examples", "references")
QUICK = settings(database=None, suppress_health_check=list(HealthCheck), deadline=None, max_examples=60,
                 derandomize=True)


def load(name, **kw):
    return kernelbench.from_file(os.path.join(REFERENCES, name), **kw)


def drawn(strategy, n=60):
    out = []

    @settings(QUICK, max_examples=n)
    @given(strategy)
    def collect(ex):
        out.append(ex)

    collect()
    return out


def test_every_example_fits_the_interpreter_budget_and_sizes_stay_in_range():
    problem = load("level2_conv2d_relu_biasadd.py")
    examples = drawn(problem.strategy(max_macs=20_000))
    assert len(examples) >= 30
    for ex in examples:
        ev = problem.ref.evaluate(ex.sizes)
        assert ev.macs <= 20_000 and ev.elements <= kernelbench.INTERPRETER_MAX_ELEMENTS
        assert ev.rows <= kernelbench.INTERPRETER_MAX_ROWS
        for name, (lo, hi) in problem.ref.ranges.items():
            assert lo <= ex[name] <= hi
    # the budget binds, but not to a single shape: sizes vary
    assert len({ex["batch_size"] for ex in examples}) > 3 and len({ex["height"] for ex in examples}) > 3


def test_without_a_budget_sizes_reach_the_declared_values():
    problem = load("level1_matmul.py")
    ex = find(problem.strategy(), lambda e: e["K"] == 4096, settings=settings(QUICK, max_examples=300))
    assert ex["K"] == 4096


def test_shrinking_goes_toward_the_smallest_sizes():
    problem = load("level1_matmul.py")
    strategy = problem.strategy(max_macs=250_000)
    # a "bug" that needs K off a multiple of 32: the minimal example has every other size at 1
    ex = find(strategy, lambda e: e["K"] % 32 != 0, settings=QUICK)
    assert ex.sizes == {"M": 1, "K": 1, "N": 1}
    assert (ex.dtype, ex.layout, ex.distribution) == ("float32", "contiguous", "reference")
    # a "bug" above a tile edge shrinks to the edge + 1
    ex = find(strategy, lambda e: e["N"] > 64, settings=QUICK)
    assert ex.sizes == {"M": 1, "K": 1, "N": 65}


def test_a_reference_that_raises_for_some_sizes_is_rejected_counted_and_never_run(tmp_path):
    # kernel_size > height raises inside the reference (conv2d) for some draws
    problem = load("level2_conv2d_relu_biasadd.py", sizes="kernel_size=1:7,height=1:4,width=1:4")
    examples = drawn(problem.strategy(max_macs=20_000), n=80)
    assert all(ex["kernel_size"] <= min(ex["height"], ex["width"]) for ex in examples)
    assert problem.ref.rejections, "some draws must have been rejected"
    (why, _), *_ = problem.ref.rejections.most_common()
    assert why.startswith("the reference raised: Model.forward raised RuntimeError")
    line = kernelbench.rejection_summary(problem)
    assert "drawn size sets rejected, not run (no verdict, not the candidate's fault)" in line


def test_the_user_strategy_and_constraints_are_obeyed(tmp_path):
    @st.composite
    def square(draw):
        h = draw(st.integers(3, 9))
        return {"height": h, "width": h, "kernel_size": draw(st.integers(1, 3))}

    problem = load("level2_conv2d_relu_biasadd.py", strategy=square(),
                   constraints=["out_channels % 2 == 0 or out_channels == 1"])
    examples = drawn(problem.strategy(max_macs=50_000))
    assert examples
    for ex in examples:
        assert ex["height"] == ex["width"] and 3 <= ex["height"] <= 9
        assert ex["out_channels"] % 2 == 0 or ex["out_channels"] == 1


def test_hooks_in_the_reference_file_are_used(tmp_path):
    path = tmp_path / "ref.py"
    path.write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return x.cumsum(1)

        batch_size = 16
        width = 64

        FUSEFUZZ_CONSTRAINTS = ["width % 4 == 0"]

        def FUSEFUZZ_SIZES(draw):
            from hypothesis import strategies as st
            return {"batch_size": draw(st.sampled_from([2, 3]))}

        def get_inputs():
            return [torch.randn(batch_size, width)]

        def get_init_inputs():
            return []
    """))
    problem = kernelbench.from_file(str(path))
    examples = drawn(problem.strategy(max_macs=10_000))
    assert examples and all(ex["batch_size"] in (2, 3) and ex["width"] % 4 == 0 for ex in examples)


def test_inputs_come_from_get_inputs_under_the_seed_cast_and_laid_out(tmp_path):
    path = tmp_path / "ref.py"
    path.write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x, idx):
                return x[:, idx]

        batch_size = 2
        channels = 3
        size = 5

        def get_inputs():
            return [torch.rand(batch_size, channels, size, size), torch.randint(0, size, (size,))]

        def get_init_inputs():
            return []
    """))
    problem = kernelbench.from_file(str(path))
    ex = Example(sizes={"batch_size": 2, "channels": 3, "size": 4}, dtype="float16", layout="channels_last",
                 distribution="reference_scaled", scale=8.0, seed=5)
    x, idx = problem.make_inputs(ex, "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        want = torch.rand(2, 3, 4, 4)
    assert x.dtype == torch.float16 and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x.float(), (want * 8.0).half().float())
    assert idx.dtype == torch.int64 and idx.shape == (4,)  # not cast, not laid out
    again, _ = problem.make_inputs(ex, "cpu")
    assert torch.equal(again, x)
    strided, _ = problem.make_inputs(ex.replace(layout="strided"), "cpu")
    assert not strided.is_contiguous() and torch.equal(strided, x.contiguous())
