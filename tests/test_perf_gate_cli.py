"""``fusefuzz perf compare`` and ``fusefuzz perf report`` on synthetic stored runs (CPU)."""

import json
import os

import pytest
from fusefuzz.harness.cli import main
from perf_runs import GPU_A, GPU_B, samples, write_run

pytest.importorskip("scipy", reason="the gate needs scipy (pip install 'fusefuzz[perf]')")


def _store(root, *medians, key=GPU_A, seed=0):
    for i, m in enumerate(medians, start=1):
        write_run(root, key, i, {"test_kernel[fused]": samples(m, seed=seed + 2 * i),
                                 "test_kernel[twopass]": samples(5.6, seed=seed + 2 * i + 1)})


def test_a_a_rerun_passes_the_gate(tmp_path, capsys):
    _store(tmp_path, 0.61, 0.61)
    assert main(["perf", "compare", "--storage", str(tmp_path), "--gpu-key", GPU_A]) == 0
    out = capsys.readouterr().out
    assert "no regression" in out and "REGRESSION" not in out


def test_a_ten_percent_slower_run_fails_the_gate(tmp_path, capsys):
    _store(tmp_path, 0.61, 0.61, 0.61 * 1.10)
    md, js = tmp_path / "v.md", tmp_path / "v.json"
    code = main(["perf", "compare", "--storage", str(tmp_path), "--gpu-key", GPU_A, "--markdown", str(md),
                 "--json", str(js)])
    assert code == 1
    out = capsys.readouterr().out
    assert "REGRESSION in 1 benchmark(s): test_kernel[fused]" in out
    verdicts = {v["name"].split("::")[-1]: v for v in json.loads(js.read_text())["verdicts"]}
    assert verdicts["test_kernel[fused]"]["status"] == "regression"
    assert verdicts["test_kernel[fused]"]["baseline_runs"] == 2
    assert verdicts["test_kernel[twopass]"]["status"] == "no change"
    assert "**REGRESSION**" in md.read_text()


def test_a_per_benchmark_threshold_silences_it(tmp_path):
    _store(tmp_path, 0.61, 0.61 * 1.10)
    assert main(["perf", "compare", "--storage", str(tmp_path), "--gpu-key", GPU_A,
                 "--threshold-for", "*fused*=1.2"]) == 0


def test_the_gate_never_compares_across_gpus(tmp_path, capsys):
    # the 4090 is 50 % slower than the H100; mixing them would flag everything
    _store(tmp_path, 0.61, 0.61)
    _store(tmp_path, 0.92, key=GPU_B)
    assert main(["perf", "compare", "--storage", str(tmp_path), "--gpu-key", GPU_B]) == 0
    assert "nothing to gate yet" in capsys.readouterr().out
    foreign = write_run(tmp_path / "elsewhere", GPU_B, 1, {"test_kernel[fused]": samples(0.92)})
    assert main(["perf", "compare", "--storage", str(tmp_path), "--gpu-key", GPU_A, "--current", foreign]) == 2
    assert "never compared" in capsys.readouterr().err


def test_first_run_has_nothing_to_compare(tmp_path, capsys):
    _store(tmp_path, 0.61)
    assert main(["perf", "compare", "--storage", str(tmp_path)]) == 0
    assert "nothing to gate yet" in capsys.readouterr().out


@pytest.mark.parametrize("argv, text", [
    (["--threshold", "0.9"], "--threshold=0.9"),
    (["--last", "0"], "--last=0"),
    (["--threshold-for", "x"], "PATTERN=FACTOR"),
])
def test_bad_gate_options_are_one_line_errors(tmp_path, capsys, argv, text):
    _store(tmp_path, 0.61, 0.61)
    assert main(["perf", "compare", "--storage", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert text in err and len(err.splitlines()) == 1


def test_missing_scipy_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    _store(tmp_path, 0.61, 0.61)
    assert main(["perf", "compare", "--storage", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs scipy" in err and "fusefuzz[perf]" in err


def test_report_renders_plots_and_tables_with_verdicts(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the report's plots need matplotlib (pip install 'fusefuzz[perf]')")
    _store(tmp_path, 0.61, 0.612, 0.61 * 1.10)
    out = tmp_path / "report"
    assert main(["perf", "report", "--storage", str(tmp_path), "--out", str(out)]) == 0
    for png in (f"{GPU_A}-history.png", f"{GPU_A}-latest.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    md = (out / "report.md").read_text()
    assert "### Newest run" in md and "**REGRESSION**" in md
    history_rows = [line for line in md.splitlines() if line.startswith("| 000")]
    assert len(history_rows) == 3
    # run 2 (the A/A rerun) flagged nothing; run 3 (10 % slower) flagged the fused kernel alone
    assert history_rows[1].split("|")[3].strip() == "0"
    assert history_rows[2].split("|")[3].strip() == "1" and "test_kernel[fused]" in history_rows[2]
    assert "<table>" in (out / "report.html").read_text()
    assert os.path.basename(str(out / "report.md")) in capsys.readouterr().out
