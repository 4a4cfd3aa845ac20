"""The README's "Your own problem" API example, run as written; the pytest fixture with a reference file."""

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, smallest_failure
from fusefuzz.harness import candidates, problems
from fusefuzz.harness.campaign import run_campaign


def readme_example() -> str:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Your own problem"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section has one Python example"
    return blocks[0]


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    yield
    problems._REGISTRY.pop("matmul_tile_edges", None)


def test_readme_example_registers_a_problem_with_its_own_strategy_and_passes(in_repo):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 25
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # asserts the correct kernel passes
    problem, result = namespace["problem"], namespace["result"]
    assert problems.get("matmul_tile_edges") is problem and result.examples_run >= 8
    # the strategy is the user's: M and N only ever one off a 32-wide tile, K <= 64
    assert problem.ref.user_strategy is not None
    # and the same problem catches the K-tail bug
    broken = candidates.load("examples/candidates/matmul_triton_k_tail.py", problem=problem)
    failed = run_campaign(problem, broken, max_examples=8, seed=0, strategy_options={"dtypes": ("float32",)})
    failure = smallest_failure(failed.failures)
    assert failure.kind == "mismatch" and failure.example["M"] in (1, 31, 32, 33) and failure.example["K"] < 32


def test_pytest_fixture_fuzzes_against_the_reference_option(tmp_path):
    (tmp_path / "test_ref.py").write_text(
        "import os\n\n\n"
        "def test_broken(fusefuzz_check):\n"
        f"    result = fusefuzz_check({os.path.join(REPO, 'examples/candidates/matmul_triton_k_tail.py')!r},\n"
        "                            strategy_options={'dtypes': ('float32',)})\n"
        "    assert result.problem == 'ref:level1_matmul' and result.verdict == 'fail'\n"
        "    assert result.examples_run <= 40\n")
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fusefuzz-reference",
                           os.path.join(REPO, "examples/references/level1_matmul.py"), "--fusefuzz-seed", "0",
                           "--fusefuzz-max-examples", "5", str(tmp_path / "test_ref.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
