"""The reference out of the candidate's reach (fusefuzz.harness.refserver): every reference value of a judging
context comes from a process where candidate code never ran."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import REPO
from fusefuzz.harness import problems, refserver
from fusefuzz.harness.example import Example
from fusefuzz.harness.judging import Context
from fusefuzz.harness.problems import ReferenceRaised

PROBLEM = problems.get("conv2d_gelu_gap")
SMALL = Example(sizes=dict(batch=2, in_channels=3, out_channels=4, height=6, width=5, kernel_size=3),
                dtype="float32", distribution="randn", seed=5)


def _context(example=SMALL):
    inputs = PROBLEM.make_inputs(example, "cpu")
    reference = PROBLEM.make_reference(example, "cpu")
    return Context(PROBLEM, example, [x.clone() for x in inputs], reference, 0.0, "cpu"), inputs, reference


def test_values_come_from_another_process_and_equal_the_local_ones():
    ctx, inputs, reference = _context()
    assert "reference process" in ctx.evaluated_where
    server = refserver.client()
    assert server.pid != os.getpid() and server.alive
    local = refserver.Evaluation(PROBLEM, SMALL, inputs, ctx.params, "cpu", reference)
    assert torch.equal(ctx.analysis().ref64, local.analysis().ref64)
    assert torch.equal(ctx.emulated("tf32").ref64, local.emulated("tf32").ref64)
    assert torch.equal(ctx.peer_output("tf32-rn"), local.peer("tf32-rn"))
    assert torch.equal(ctx.torch_output(), local.torch())


def test_a_layout_view_travels_with_its_strides():
    ex = SMALL.replace(layout="channels_last", seed=6)
    ctx, inputs, reference = _context(ex)
    local = refserver.Evaluation(PROBLEM, ex, inputs, ctx.params, "cpu", reference)
    assert torch.equal(ctx.torch_output(), local.torch())


def test_a_tampered_function_here_does_not_reach_the_reference(monkeypatch):
    ctx, inputs, reference = _context()
    honest = refserver.Evaluation(PROBLEM, SMALL, inputs, ctx.params, "cpu", reference).analysis().ref64
    monkeypatch.setattr(torch.nn.functional, "gelu", lambda x, approximate="none": x * 0.0)
    tampered_here = refserver.Evaluation(PROBLEM, SMALL, inputs, ctx.params, "cpu", reference).analysis().ref64
    assert not torch.equal(tampered_here, honest)  # the hole the process closes
    assert torch.equal(ctx.analysis().ref64, honest)


def test_the_reference_raising_there_raises_here():
    ex = SMALL.replace(sizes={**SMALL.sizes, "height": 2})  # smaller than the kernel: the reference raises
    inputs = PROBLEM.make_inputs(ex, "cpu")
    reference = PROBLEM.make_reference(ex, "cpu")
    ctx = Context(PROBLEM, ex, inputs, reference, 0.0, "cpu")
    with pytest.raises((ReferenceRaised, RuntimeError)):
        ctx.analysis()
    assert refserver.client().alive  # the error came back; the process serves on
    assert _context()[0].analysis().ref64.shape == (2, 4)


def test_a_problem_no_process_can_rebuild_is_evaluated_here_and_says_so():
    import dataclasses

    local_problem = dataclasses.replace(PROBLEM, name="not_registered_anywhere", analyse=lambda e, i, p: None)
    inputs = PROBLEM.make_inputs(SMALL, "cpu")
    ctx = Context(local_problem, SMALL, inputs, PROBLEM.make_reference(SMALL, "cpu"), 0.0, "cpu")
    assert ctx.evaluated_where.startswith("in this process: problem 'not_registered_anywhere'")
    assert ctx.analysis() is None


_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["TRITON_INTERPRET"] = "1"
    from fusefuzz.harness import problems, refserver, runner, tamper
    from fusefuzz.harness.candidates import load
    from fusefuzz.harness.example import Example
    problem = problems.get("conv2d_gelu_gap")
    cand = load(sys.argv[1], problem=problem)
    ex = Example(sizes=dict(batch=2, in_channels=3, out_channels=4, height=6, width=5, kernel_size=3),
                 dtype="float32", distribution="randn", scale=4.0, seed=1)
    refserver.ENABLED = sys.argv[2] == "on"
    out = runner.run_example(problem, cand, ex, checks=(), precision="ieee")  # its dot is IEEE fp32
    print(json.dumps([f.kind for f in out.failures]))
""")


@pytest.mark.parametrize("enabled, expect", [("on", ["mismatch"]), ("off", [])])
def test_a_dispatcher_override_on_the_first_call_is_caught_by_the_reference_process_alone(enabled, expect):
    # tests/cheats/20: a kernel registered over aten::gelu inside forward, invisible to the tamper checks; in a
    # fresh interpreter (the override would outlive the test here). Off: the reference agrees with the cheat.
    cheat = os.path.join(REPO, "tests", "cheats", "20_aten_override_on_first_call.py")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, cheat, enabled], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == expect
