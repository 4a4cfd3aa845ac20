"""harness/lowering.py: the interpreter-invisible rewrite of a broadcast multiply + sum into a TF32 dot is named."""

import os
import textwrap

from fusefuzz.harness import campaign, candidates, lowering, problems

SOURCE = textwrap.dedent('''
    import triton
    import triton.language as tl

    @triton.jit
    def direct(a_ptr, b_ptr, o_ptr, BLOCK: tl.constexpr):
        a = tl.load(a_ptr + tl.arange(0, BLOCK)[:, None] * BLOCK + tl.arange(0, BLOCK)[None, :])
        b = tl.load(b_ptr + tl.arange(0, BLOCK)[:, None] * BLOCK + tl.arange(0, BLOCK)[None, :])
        acc = tl.sum(a.to(tl.float32)[:, :, None] * b[None, :, :], axis=1)

    @triton.jit
    def through_a_name(a, b):
        prod = a[:, :, None] * b[None, :, :]
        return tl.sum(prod, 1)

    @triton.jit
    def other_axis(a, b):
        return tl.sum(a[:, :, None] * b[None, :, :], axis=2)   # not the pattern

    @triton.jit
    def explicit(a, b):
        return tl.dot(a, b, input_precision="ieee")

    def host_code(a, b):
        return (a[:, :, None] * b[None, :, :]).sum(1)           # not a jit function
''')


def test_the_sites_are_the_rewritten_ones_only():
    sites = lowering.broadcast_mul_reduce_sites(SOURCE)
    assert [(fn, text.split("=")[0].strip()) for fn, _, text in sites] == [("direct", "acc"),
                                                                          ("through_a_name", "return tl.sum(prod, 1)")]


def test_a_campaign_in_the_interpreter_remarks_on_them_for_an_ieee_claim(tmp_path):
    # the correct twin: the same kernel with an explicit IEEE dot has no remark (tests/cheats/00_control.py)
    problem = problems.get("conv2d_gelu_gap")
    cheats = os.path.join(os.path.dirname(__file__), "cheats")
    path = tmp_path / "mul_sum.py"
    src = open(f"{cheats}/00_control_side_stream.py", encoding="utf-8").read()
    src = src.replace('acc += tl.dot(patch.to(tl.float32), taps.to(tl.float32), input_precision="ieee")',
                      "acc += tl.sum(patch.to(tl.float32)[:, :, None] * taps.to(tl.float32)[None, :, :], axis=1)")
    path.write_text(src)
    for file, expect in ((str(path), 1), (f"{cheats}/00_control_side_stream.py", 0)):
        cand = candidates.load(file, problem=problem)
        result = campaign.run_campaign(problem, cand, profile="dev", max_examples=1, seed=0, shrink=False,
                                       strategy_options=dict(dtypes=("float32",)))
        found = [r for r in result.remarks if "combine pass" in r]
        assert len(found) == expect, result.remarks
        assert all("mul_sum.py:" in r and "ieee" in r for r in found)
        assert result.verdict == "pass"  # a remark, not a failure: the interpreter's run was right
    assert lowering.remarks(candidates.load(str(path), problem=problem), "tf32") == []
