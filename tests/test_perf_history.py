"""Per-GPU benchmark storage: runs of different GPUs are never compared (harness/perf/history.py, the plugin)."""

import json
import os

import pytest
from fusefuzz.harness.perf import history, machine
from perf_runs import GPU_A, GPU_B, samples, write_run

pytest_plugins = ["pytester"]

# pytester runs pytest in this process, where the plugin modules are already imported (not re-rewritten)
_in_process = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def test_gpu_keys_name_the_model_and_cuda_runtime():
    assert machine.slug("NVIDIA H100 80GB HBM3") == "H100-80GB-HBM3"
    assert machine.slug("NVIDIA GeForce RTX 4090") == "RTX-4090"
    assert machine.gpu_key().startswith("cpu-")  # this machine has no GPU


def test_history_of_one_gpu_holds_only_its_runs(tmp_path):
    write_run(tmp_path, GPU_A, 1, {"test_k": samples(0.61, seed=1)})
    write_run(tmp_path, GPU_A, 2, {"test_k": samples(0.61, seed=2)})
    write_run(tmp_path, GPU_B, 1, {"test_k": samples(0.92, seed=3)})
    assert history.keys(str(tmp_path)) == sorted([GPU_A, GPU_B])
    a = history.load_history(str(tmp_path), GPU_A)
    assert len(a.runs) == 2 and {r.gpu_key for r in a.runs} == {GPU_A} and not a.refused
    assert a.runs[0].datetime < a.runs[1].datetime
    assert a.runs[0].benchmarks["benchmarks/test_bench_x.py::test_k"].median_ms == pytest.approx(0.61, rel=0.01)


def test_a_run_of_another_gpu_in_the_wrong_folder_is_refused(tmp_path):
    write_run(tmp_path, GPU_A, 1, {"test_k": samples(0.61)})
    stray = write_run(tmp_path, GPU_A, 2, {"test_k": samples(0.92)}, doc_key=GPU_B)  # a 4090 run copied in
    h = history.load_history(str(tmp_path), GPU_A)
    assert len(h.runs) == 1
    assert h.refused and h.refused[0][0] == stray and "never compared" in h.refused[0][1]


def test_samples_fall_back_to_pytest_benchmark_data(tmp_path):
    doc = {"machine_info": {"fusefuzz": {"gpu_key": GPU_A}}, "commit_info": {}, "datetime": "2026-12-01",
           "benchmarks": [{"name": "t", "fullname": "b.py::t", "extra_info": {},
                           "stats": {"data": [0.001, 0.002, 0.003], "median": 0.002}}]}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    rec = history.load_run(str(path)).benchmarks["b.py::t"]
    assert rec.samples_ms == pytest.approx([1.0, 2.0, 3.0]) and rec.median_ms == pytest.approx(2.0)


def test_unreadable_and_ambiguous_storage_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(history.HistoryError, match="cannot read benchmark run"):
        history.load_run(str(bad))
    write_run(tmp_path, GPU_A, 1, {"t": samples(1.0)})
    write_run(tmp_path, GPU_B, 1, {"t": samples(1.0)})
    with pytest.raises(history.HistoryError, match="several GPUs.*--gpu-key"):
        history.resolve_key(str(tmp_path), None)
    with pytest.raises(history.HistoryError, match="no stored runs"):
        history.resolve_key(str(tmp_path), "A100_cu121")


BENCH_TEST = """
def test_tiny(host_benchmark):
    host_benchmark(lambda: sum(range(100)), rounds=3)
"""


@_in_process
def test_plugin_stores_runs_under_the_gpu_key_with_machine_info(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # pytest-benchmark disables itself in xdist workers
    pytester.makepyfile(test_tiny=BENCH_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "--benchmark-autosave", "--fusefuzz-bench-storage",
                                "store", "-q")
    result.assert_outcomes(passed=1)
    key = machine.gpu_key()
    files = [os.path.join(d, f) for d, _, fs in os.walk(pytester.path / "store") for f in fs]
    assert len(files) == 1 and os.sep + key + os.sep in files[0], files
    run = history.load_run(files[0])
    assert run.gpu_key == key and run.machine_info["fusefuzz"]["torch"]
    (rec,) = run.benchmarks.values()
    assert len(rec.samples_ms) == 3 and rec.extra_info["gpu_key"] == key


@_in_process
def test_gpu_benchmarks_skip_with_a_reason_on_cpu(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_fusefuzz_cpu_skip_probe="def test_k(gpu_benchmark):\n    gpu_benchmark(lambda: None)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a CUDA GPU*"])


@_in_process
def test_bad_bench_options_are_one_line_usage_errors(pytester):
    pytester.makepyfile(test_none="def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--fusefuzz-bench-baselines", "eagr")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--fusefuzz-bench-baselines='eagr'*use eager, compile, both or none*"])


@_in_process
@pytest.mark.filterwarnings("ignore:Benchmark machine_info is different")  # pytest-benchmark's own, milder hook
def test_benchmark_compare_refuses_a_stored_run_of_another_gpu(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_tiny=BENCH_TEST)
    import platform

    machine_id = f"{platform.system()}-{platform.python_implementation()}-" \
                 f"{'.'.join(platform.python_version_tuple()[:2])}-{platform.architecture()[0]}"
    folder = pytester.path / "store" / machine.gpu_key() / machine_id
    folder.mkdir(parents=True)
    path = write_run(pytester.path / "elsewhere", GPU_A, 1, {"test_tiny": samples(1.0)})
    (folder / "0001_copied.json").write_text(open(path).read())  # an H100 run dropped into this machine's folder
    result = pytester.runpytest("-p", "no:cacheprovider", "--benchmark-compare", "--fusefuzz-bench-storage", "store")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*measured on GPU key 'H100-80GB-HBM3_cu130'*never compared*"])
