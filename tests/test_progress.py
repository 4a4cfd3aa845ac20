"""Progress of long campaigns: live on a terminal, one summary line in CI logs, nothing when quiet."""

import io
import os
import re

from conftest import REPO
from fusefuzz.harness.cli import main
from fusefuzz.harness.example import Example
from fusefuzz.harness.progress import CampaignProgress, live_by_default
from fusefuzz.harness.runner import Failure, Outcome
from rich.console import Console

CAND = os.path.join(REPO, "examples", "candidates", "matmul_triton.py")
REF = os.path.join(REPO, "examples", "references", "level1_matmul.py")
ARGV = ["check", CAND, "--reference", REF, "--max-examples", "3", "--seed", "0", "--no-isolate", "--dtypes", "float32"]
SUMMARY = re.compile(r"^fusefuzz: matmul_triton\.py: \d+ examples, 0 failing, \d+\.\d s$")


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_live_display_only_on_a_terminal_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert live_by_default(stream=_Stream(True))
    assert not live_by_default(stream=_Stream(False))
    assert not live_by_default(quiet=True, stream=_Stream(True))
    monkeypatch.setenv("CI", "true")
    assert not live_by_default(stream=_Stream(True))
    monkeypatch.setenv("CI", "false")
    assert live_by_default(stream=_Stream(True))


def test_ci_logs_get_one_summary_line_and_no_escape_codes(monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert main(ARGV) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("fusefuzz: matmul_triton.py:")]
    assert len(lines) == 1 and SUMMARY.match(lines[0]), err
    assert "\x1b" not in err


def test_quiet_prints_no_progress_at_all(monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert main([*ARGV, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "examples," not in err and "\x1b" not in err


def test_the_live_display_shows_examples_failures_and_the_current_example():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=200)
    summary = _Stream(False)
    ex = Example(sizes={"M": 3, "K": 5, "N": 7})
    with CampaignProgress("cand.py", total=10, live=True, console=console, stream=summary) as progress:
        progress.on_start(ex)
        progress.on_example(None, Outcome(ex))
        progress.on_start(ex.replace(M=4))
        progress.on_example(None, Outcome(ex, failures=[Failure("mismatch", ex, "boom")]))
        progress._progress.refresh()
        assert progress.summary().startswith("fusefuzz: cand.py: 2 examples, 1 failing (mismatch)")
    shown = buf.getvalue()
    assert "2 examples, 1 failing (mismatch)" in shown and "M=4 K=5 N=7" in shown
    assert summary.getvalue() == ""  # the live display replaces the summary line
