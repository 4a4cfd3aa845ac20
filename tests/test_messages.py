"""A candidate's exception as the candidate sees it: type and cause first (Triton's compilation errors put the
source excerpt first and the cause last), the excerpt after it and cut only there, "where" in the candidate's
code and never in fusefuzz's, and Triton's own error for an autotuned meta-parameter passed explicitly."""

import ast
import os
import subprocess
import sys

import pytest
import torch
import triton
import triton.language as tl
from conftest import REPO, candidate_path
from fusefuzz.harness import backend, candidates, configs, kinds, problems
from fusefuzz.harness.example import Example
from fusefuzz.harness.guards import Watch
from fusefuzz.harness.messages import exception_message, is_candidate_frame
from fusefuzz.harness.runner import run_example

PROBLEM = problems.get("conv2d_gelu_gap")
CAUSE = "Expected dtype ['fp32', 'fp64'] but got fp16"


def _old_exception_message(exc):
    """The runner's message before this module (for the failing twins): one line, cut at 500 characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:500]}"


def _compilation_error(lines: int = 40):
    """A real Triton CompilationError whose source excerpt (12 lines of long source) comes before the cause."""
    from triton.compiler.errors import CompilationError

    src = "\n".join(f"    value_{i} = tl.load(pointer_number_{i} + offsets_of_block_{i}, mask=mask_{i})  # {i}"
                    for i in range(lines))
    node = ast.parse("x = 1").body[0]
    node.lineno, node.col_offset = lines, 4
    return CompilationError("def kernel(...):\n" + src, node, CAUSE)


def test_compilation_error_cause_comes_first_and_is_never_cut():
    exc = _compilation_error()
    assert str(exc).splitlines()[-1] == CAUSE and len(str(exc)) > 1000  # Triton: excerpt first, cause last
    assert CAUSE not in _old_exception_message(exc)  # failing twin: the 500-character cut lost the cause
    msg = exception_message(exc, limit=200)
    first, *rest = msg.splitlines()
    assert first == f"CompilationError: {CAUSE}"
    assert rest[0].startswith("at 40:4:") and rest[-1] == "..." and len("\n".join(rest)) < 260
    assert exception_message(exc).count(CAUSE) == 1  # the cause once, not again at the end of the excerpt


def test_an_error_without_an_excerpt_is_one_line():
    assert exception_message(ValueError("batch   3\nnot supported")) == "ValueError: batch 3\nnot supported"
    assert exception_message(RuntimeError()) == "RuntimeError"


# ----------------------------------------------------------------------------------------------------
# the interpreter and the compiler, on real kernels

@triton.jit
def _erf_helper(v):
    return tl.erf(v)


@triton.jit
def _erf_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    i = tl.arange(0, BLOCK)
    v = tl.load(x_ptr + i, mask=i < n)
    tl.store(y_ptr + i, _erf_helper(v), mask=i < n)


def _launch_erf_fp16():
    x = torch.randn(8, dtype=torch.float16)
    _erf_kernel[(1,)](x, torch.empty_like(x), 8, BLOCK=16)


@pytest.mark.skipif(backend.name() != "interpreter", reason="the interpreter's own error wrapping")
def test_interpreter_errors_name_the_original_exception_and_the_kernel_line():
    with pytest.raises(Exception) as info:
        _launch_erf_fp16()
    msg = exception_message(info.value)
    first = msg.splitlines()[0]
    assert first.startswith(f"InterpreterError: ValueError: {CAUSE} (at test_messages.py:"), msg
    assert first.endswith("in _erf_helper)")  # the helper's line: the deepest frame of candidate code


_COMPILED = '''
import triton
import triton.language as tl


@triton.jit
def helper(v):
    return tl.erf(v)


@triton.jit
def kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    i = tl.arange(0, BLOCK)
    v = tl.load(x_ptr + i, mask=i < n)
    tl.store(y_ptr + i, helper(v), mask=i < n)
'''


_COMPILE_AND_REPORT = """
import importlib.util, sys
import triton
from triton.compiler import ASTSource
from triton.runtime.jit import JITFunction
try:
    from triton.backends.compiler import GPUTarget
except ImportError:
    print("SKIP: this triton has no GPUTarget to compile for without a GPU"); sys.exit(0)
from fusefuzz.harness.messages import exception_message
spec = importlib.util.spec_from_file_location("fusefuzz_test_compiled_kernels", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
if not isinstance(module.kernel, JITFunction):
    print("SKIP: this triton decides interpretation at import, not per decorator"); sys.exit(0)
source = ASTSource(module.kernel, signature={"x_ptr": "*fp16", "y_ptr": "*fp16", "n": "i32", "BLOCK": "constexpr"},
                   constexprs={"BLOCK": 16})
try:
    triton.compile(source, target=GPUTarget("cuda", 90, 32))
except Exception as e:
    if type(e).__name__ != "CompilationError":
        print(f"SKIP: this triton's ASTSource differs: {type(e).__name__}: {e}"); sys.exit(0)
    print("RAW " + str(e).splitlines()[0])
    print(exception_message(e))
"""


def test_compiler_errors_of_a_helper_give_the_helper_cause_and_both_excerpts(tmp_path):
    # compiled in a fresh process: a process that ran the interpreter keeps its patched triton.language
    path = tmp_path / "compiled_kernels.py"
    path.write_text(_COMPILED)
    script = tmp_path / "compile_and_report.py"
    script.write_text(_COMPILE_AND_REPORT)
    env = {**os.environ, "TRITON_INTERPRET": "0", "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, env=env,
                          timeout=300)
    out = proc.stdout
    if out.startswith("SKIP: "):
        pytest.skip(out[6:].strip())
    assert proc.returncode == 0 and out.startswith("RAW at "), proc.stdout + proc.stderr  # Triton: excerpt first
    msg = out.split("\n", 1)[1]
    lines = msg.splitlines()
    # the cause first; "where" is the deepest frame outside fusefuzz and triton (here the script that compiled)
    assert lines[0].startswith(f"CompilationError: {CAUSE} (at compile_and_report.py:"), msg
    assert "return tl.erf(v)" in lines[3] and "called from:" in lines and "helper(v)" in msg


def test_where_never_names_fusefuzz_code():
    with pytest.raises(AttributeError) as info:
        configs.sweep([object()])  # fails inside fusefuzz.harness.configs, no candidate frame on the way
    tb_files = [os.path.basename(f.filename) for f in __import__("traceback").extract_tb(info.value.__traceback__)]
    assert "configs.py" in tb_files  # failing twin: the last frame is fusefuzz's
    assert "(at configs.py" not in exception_message(info.value)
    assert "(at test_messages.py:" in exception_message(info.value)  # the caller here plays the candidate
    assert not is_candidate_frame(configs.__file__) and not is_candidate_frame(torch.__file__)
    assert is_candidate_frame(candidate_path("direct_exact.py"))


def _example(dtype="float32"):
    return Example(sizes=dict(batch=1, in_channels=2, out_channels=2, height=4, width=4, kernel_size=2), dtype=dtype)


def test_a_kernel_triton_refuses_reads_cause_first_on_either_backend():
    """On a GPU a CompilationError, in the interpreter an InterpreterError: the cause on the first line."""
    cand = candidates.load(candidate_path("erf_in_input_dtype.py"))
    (failure,) = run_example(PROBLEM, cand, _example("float16"), checks=()).failures
    first = failure.message.splitlines()[0]
    assert failure.kind == kinds.EXCEPTION and CAUSE in first, failure.message
    assert "(at erf_in_input_dtype.py:" in first and "fusefuzz" not in failure.message
    assert run_example(PROBLEM, cand, _example("float32"), checks=()).ok  # fp32: tl.erf is fine


# ----------------------------------------------------------------------------------------------------
# an autotuned meta-parameter passed explicitly


def test_conflicting_meta_parameters_read_as_triton_raises_them(tmp_path):
    cand = candidates.load(candidate_path("autotune_conflict.py"))
    outcome = run_example(PROBLEM, cand, _example(), checks=())
    (failure,) = outcome.failures
    first = failure.message.splitlines()[0]
    assert failure.kind == kinds.EXCEPTION
    assert "ValueError: Conflicting meta-parameters: BLOCK_P. Make sure that you don't re-define auto-tuned " \
           "symbols. (at autotune_conflict.py:" in first and first.endswith("in forward)"), failure.message
    assert "fusefuzz" not in failure.message and "_patch_launch_counters" not in failure.message
    twin = tmp_path / "autotune_no_conflict.py"
    with open(candidate_path("autotune_conflict.py"), encoding="utf-8") as f:
        twin.write_text(f.read().replace("PASS_BLOCK = True", "PASS_BLOCK = False"))
    outcome = run_example(PROBLEM, candidates.load(str(twin)), _example(), checks=())
    assert outcome.ok and outcome.configs_run == 2, [f.message for f in outcome.failures]


def test_one_config_duplicate_keyword_names_triton_not_the_launch_counter():
    """With one config Triton itself raises a TypeError; it must name Triton's run, as without fusefuzz."""
    @triton.autotune(configs=[triton.Config({"BLOCK": 16})], key=["n"])
    @triton.jit
    def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        i = tl.arange(0, BLOCK)
        tl.store(y_ptr + i, tl.load(x_ptr + i, mask=i < n), mask=i < n)

    x = torch.randn(8)
    with Watch(), pytest.raises(TypeError) as info:
        copy_kernel[(1,)](x, torch.empty_like(x), 8, BLOCK=16)
    assert "got multiple values for keyword argument 'BLOCK'" in str(info.value)
    assert "fusefuzz" not in str(info.value) and ".run()" in str(info.value), str(info.value)
