"""Untrusted candidates in worker processes: crashes, hangs, exceptions and bad outputs become failures of
their own kind, the campaign goes on, and what was found is on disk even when the parent is killed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, candidate_path, smallest_failure
from fusefuzz.harness import backend, campaign, candidates, isolation, kinds, policies, problems
from fusefuzz.harness.cli import main
from fusefuzz.harness.example import Example
from fusefuzz.harness.runner import Failure, Outcome

PROBLEM = problems.get("conv2d_gelu_gap")
#: small examples: the direct-convolution kernel pays per program and per block in the interpreter
FP32 = dict(dtypes=("float32",), layouts=("contiguous",), max_outputs=8)


def run(name, **kw):
    kw.setdefault("profile", "dev")
    kw.setdefault("seed", 0)
    kw.setdefault("strategy_options", FP32)
    kw.setdefault("max_macs", 20_000)
    return campaign.run_campaign(PROBLEM, candidates.load(candidate_path(name)), isolate=True, **kw)


def minimal(**sizes):
    base = dict(batch=1, in_channels=1, out_channels=1, height=1, width=1, kernel_size=1)
    base.update(sizes)
    return base


# ----------------------------------------------------------------------------------------------------
# what crosses the pipe

def test_refs_policies_and_outcomes_are_plain_data():
    cand = candidates.load(candidate_path("direct_exact.py"))
    ref = isolation.candidate_ref(cand)
    assert ref["kind"] == "file" and ref["target"] == os.path.abspath(candidate_path("direct_exact.py"))
    assert ref["overrides"]["precision"] == "ieee"
    assert isolation.load_ref(ref).precision == "ieee"
    reg = isolation.candidate_ref(candidates.load("conv2d_gelu_gap.twopass"))
    assert reg["kind"] == "module" and reg["overrides"]["kwargs"] == {"input_precision": "tf32"}
    for spec in ("bound", "peer", "peer:3.0", "allclose", "allclose:0.001", "allclose:kernelbench-v0"):
        assert policies.parse(isolation.policy_spec(policies.parse(spec))) == policies.parse(spec)
    ex = Example(sizes=minimal(out_channels=3), dtype="float16", seed=7)
    assert Example.from_dict(ex.to_dict(), PROBLEM.size_names) == ex
    out = Outcome(ex, failures=[Failure(kinds.MISMATCH, ex, "m", "cfg", details={"expected": [1.0], "x": {1, 2}})],
                  configs_run=2, ratios={"ieee": 3.0})
    back = isolation.outcome_from_dict(json.loads(json.dumps(isolation.outcome_to_dict(out))), ex)
    assert back.failures[0].kind == kinds.MISMATCH and back.failures[0].details["expected"] == [1.0]
    assert back.configs_run == 2 and back.ratios == {"ieee": 3.0}


# ----------------------------------------------------------------------------------------------------
# crashes

@pytest.mark.parametrize("name, said, shrunk", [
    ("crash_abort.py", "signal 6 (SIGABRT)", minimal(in_channels=3)),
    ("crash_segv.py", "signal 11 (SIGSEGV)", minimal(out_channels=2)),
    # dependent size ranges once made the shrinker overrun here (kept 4x35x6x6); fixed-range draws fixed it
    ("crash_exit.py", "exited with code 7", minimal(kernel_size=2, height=2, width=2)),
])
def test_a_dying_worker_is_a_crash_shrunk_like_any_failure(name, said, shrunk, tmp_path):
    journal = tmp_path / "r.json.partial"
    result = run(name, max_examples=15, journal=str(journal), repro_dir=str(tmp_path))
    assert result.verdict == "fail", result.error
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.CRASH and said in failure.summary
    assert failure.example.sizes == shrunk
    if "signal" in said:  # faulthandler: the candidate's line is in the message
        assert f"{name}\", line" in failure.message
    assert result.isolation["crashes"] >= 1 and result.examples_run > result.isolation["crashes"]
    assert json.loads(journal.read_text())["failures"][0]["kind"] == kinds.CRASH
    assert failure.repro and os.path.exists(failure.repro)


def test_a_wild_store_is_a_crash_on_every_backend():
    # GPU: "an illegal memory access" poisons the CUDA context (reported as a crash, the worker is replaced);
    # interpreter: a segfault
    result = run("illegal_address.py", max_examples=15)
    assert result.verdict == "fail", result.error
    failure = smallest_failure(result.failures)
    assert failure.kind == kinds.CRASH and failure.example.sizes == minimal(out_channels=2)
    if backend.name() == "cuda":
        assert "illegal memory access" in failure.message
    else:
        assert "SIGSEGV" in failure.summary
    assert result.isolation["workers_started"] >= 2 and result.examples_run > result.isolation["crashes"]
    print(f"wild store on {backend.name()}: {failure.summary}; {result.isolation}")


def test_out_of_bounds_store_crashes_the_worker_not_the_campaign():
    # tests/zoo/17: the interpreter's unmasked store lands in the Python heap (glibc aborts, or SIGSEGV)
    result = run("oob_store.py", max_examples=5)
    assert result.verdict == "fail"
    assert [f.kind for f in result.failures] == [kinds.CRASH]
    assert "signal" in result.failures[0].summary


def test_a_crash_caused_by_an_earlier_example_is_not_pinned_on_this_one():
    result = run("crash_stateful.py", max_examples=8)
    assert result.verdict == "pass", [f.message for f in result.failures]
    assert result.isolation["unattributed_crashes"] == 1
    assert "fresh worker" in result.isolation["notes"][0]


# ----------------------------------------------------------------------------------------------------
# hangs

def test_a_hanging_kernel_ends_in_a_few_timeouts(tmp_path):
    limit = 4.0
    start = time.monotonic()
    result = run("hang_nonsquare.py", max_examples=25, timeout=limit, max_macs=5000,
                 strategy_options=dict(FP32, max_outputs=4), repro_dir=str(tmp_path))
    wall = time.monotonic() - start
    assert result.verdict == "fail"
    assert {f.kind for f in result.failures} == {kinds.TIMEOUT}
    failure = smallest_failure(result.failures)
    assert failure.example["width"] != failure.example["height"]  # a real hang, not a slow example
    n = result.isolation["timeouts"]
    assert 1 <= n <= isolation.MAX_TIMEOUTS
    assert result.isolation["timeout_seconds"] <= n * limit + 1e-6
    # without the budget every hanging shrink step would cost `limit`; here the total is bounded
    assert wall < isolation.MAX_TIMEOUTS * limit + 90, wall
    print(f"hang campaign: {n} timeouts, {wall:.1f} s, {result.isolation}")


# ----------------------------------------------------------------------------------------------------
# exceptions, bad outputs and structural errors through the worker

@pytest.mark.parametrize("name, kind, text", [
    ("raise_batch.py", kinds.EXCEPTION, "is not supported by this kernel (at raise_batch.py:"),
    ("returns_tuple.py", kinds.BAD_OUTPUT, "returned tuple, not a torch.Tensor"),
    ("wrong_shape.py", kinds.BAD_OUTPUT, "output shape"),
])
def test_exceptions_and_bad_outputs_come_back_from_the_worker(name, kind, text):
    result = run(name, max_examples=6)
    assert result.verdict == "fail"
    failure = smallest_failure(result.failures)
    assert failure.kind == kind and text in failure.message, failure.message
    assert result.isolation["crashes"] == 0 and result.isolation["workers_started"] == 1


def test_a_candidate_error_in_the_worker_is_a_candidate_error_in_the_parent():
    cand = candidates.load(candidate_path("ambiguous_params.py"))
    with isolation.IsolatedRunner(PROBLEM, cand) as runner:
        with pytest.raises(candidates.CandidateError, match="ambiguous parameter copy"):
            runner.run(Example(sizes=minimal()))
    with pytest.raises(candidates.CandidateError, match="ambiguous parameter copy"):
        isolation.preflight(PROBLEM, candidate_path("ambiguous_params.py"))
    with pytest.raises(candidates.CandidateError, match=r"SIGABRT.*crash_at_import.py, line"):
        isolation.preflight(PROBLEM, candidate_path("crash_at_import.py"))


@pytest.mark.parametrize("name", ["no_modelnew.py", "syntax_error.py", "import_error.py", "wrong_signature.py",
                                  "ambiguous_params.py", "does_not_exist.py", "crash_at_import.py"])
def test_unloadable_files_exit_2_with_one_line_when_isolated(name, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["check", candidate_path(name), "--isolate", "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusefuzz: error: ") and "\n" not in err
    assert json.loads(out.read_text())["verdict"] == "error"


@pytest.mark.parametrize("argv", [["--timeout", "0"], ["--timeout", "5", "--no-isolate"]])
def test_bad_timeout_options_exit_2(argv):
    assert main(["check", candidate_path("direct_exact.py"), *argv]) == 2


# ----------------------------------------------------------------------------------------------------
# nothing lost: the parent killed mid-campaign

def test_sigterm_leaves_the_failures_found_so_far_on_disk(tmp_path):
    report = tmp_path / "r.json"
    partial = tmp_path / "r.json.partial"
    env = {**os.environ, "FUSEFUZZ_DATABASE": str(tmp_path / "db"), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "fusefuzz.harness.cli", "check", candidate_path("crash_abort.py"),
                             "--max-examples", "500", "--seed", "1", "--dtypes", "float32", "--json", str(report),
                             "--repro-dir", str(tmp_path)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert partial.exists() and proc.poll() is None, "no failure was journaled while the campaign ran"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, out + err
    assert "terminated" in err
    journal = json.loads(partial.read_text())
    assert journal["status"] == "interrupted"
    assert [f["kind"] for f in journal["failures"]] == [kinds.CRASH]
    assert journal["failures"][0]["example"]["in_channels"] >= 3


# ----------------------------------------------------------------------------------------------------
# a directory of candidates

def test_check_a_directory_mixing_good_crashing_hanging_and_malformed(tmp_path, capsys):
    d = tmp_path / "cands"
    d.mkdir()
    for name in ("direct_exact.py", "crash_abort.py", "hang_nonsquare.py", "syntax_error.py"):
        shutil.copy(candidate_path(name), d / name)
    (d / "_helper.py").write_text("raise SystemExit('not a candidate')\n")
    report = tmp_path / "r.json"
    code = main(["check", str(d), "--timeout", "15", "--max-examples", "12", "--seed", "0", "--dtypes", "float32",
                 "--layouts", "contiguous", "--max-macs", "5000", "--json", str(report),
                 "--repro-dir", str(tmp_path / "repros")])
    assert code == 2  # the worst: one file cannot be loaded
    verdicts = {c["candidate"]: (c["verdict"], sorted({f["kind"] for f in c["failures"]}))
                for c in json.loads(report.read_text())["candidates"]}
    assert verdicts == {"crash_abort.py": ("fail", ["crash"]), "direct_exact.py": ("pass", []),
                        "hang_nonsquare.py": ("fail", ["timeout"]), "syntax_error.py": ("error", [])}
    out = capsys.readouterr().out
    assert "fusefuzz check: 4 candidates" in out and "_helper" not in out
    for name in verdicts:  # every campaign left its own journal
        if name != "syntax_error.py":
            assert json.loads((tmp_path / f"r.json.{name[:-3]}.partial").read_text())["status"] == "done"


# ----------------------------------------------------------------------------------------------------
# pytest plugin

def test_pytest_option_reaches_the_fixture(tmp_path):
    (tmp_path / "test_opt.py").write_text(
        "def test_opt(fusefuzz_options):\n"
        "    assert fusefuzz_options['isolate'] is True\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fusefuzz-isolate",
                           str(tmp_path / "test_opt.py")], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr



def test_workers_see_the_parents_environment_of_now(tmp_path, monkeypatch):
    # the forkserver may have started long ago; FUSEFUZZ_CHECKS and the like are read when an example runs
    path = tmp_path / "env_probe.py"
    path.write_text("import os\n\nimport torch.nn as nn\n\n\n"
                    "class ModelNew(nn.Module):\n"
                    "    def __init__(self, in_channels, out_channels, kernel_size):\n"
                    "        super().__init__()\n"
                    "        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)\n\n"
                    "    def forward(self, x):\n"
                    "        raise RuntimeError('probe=' + os.environ.get('FUSEFUZZ_PROBE', '-'))\n")
    cand = candidates.load(str(path))
    seen = []
    for value in ("one", "two"):
        monkeypatch.setenv("FUSEFUZZ_PROBE", value)
        with isolation.IsolatedRunner(PROBLEM, cand) as runner:
            failure = smallest_failure(runner.run(Example(sizes=minimal())).failures)
        seen.append(failure.message.split("probe=")[1].split()[0])
    assert seen == ["one", "two"]


# ----------------------------------------------------------------------------------------------------
# compute-sanitizer

def test_sanitize_skips_with_a_reason_without_a_gpu(tmp_path, capsys):
    if isolation.sanitizer_unavailable() is None:
        pytest.skip("compute-sanitizer is available here: see the gpu test")
    report = tmp_path / "r.json"
    code = main(["check", candidate_path("direct_exact.py"), "--max-examples", "2", "--seed", "0", "--sanitize",
                 "--max-macs", "2000", "--json", str(report)])
    assert code == 0
    assert "sanitize:  skipped: " in capsys.readouterr().out
    assert "skipped" in json.loads(report.read_text())["sanitizer"]


@pytest.mark.gpu
def test_memcheck_finds_the_out_of_bounds_store(tmp_path):
    if isolation.sanitizer_unavailable():
        pytest.skip(isolation.sanitizer_unavailable())
    report = tmp_path / "r.json"
    # zoo 17 on a GPU: the unmasked store may land in allocated memory (no crash, no mismatch), memcheck sees it
    code = main(["check", candidate_path("oob_store.py"), "--max-examples", "3", "--seed", "0", "--sanitize",
                 "--dtypes", "float32", "--json", str(report), "--repro-dir", str(tmp_path)])
    data = json.loads(report.read_text())
    assert code == 1, data
    assert data["sanitizer"]["errors"] > 0, data["sanitizer"]
    print(json.dumps(data["sanitizer"], indent=1)[:3000])
