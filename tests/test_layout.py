"""The tree shows the design: every file in scripts/ is a tool that README or docs/ names, and nothing outside
docs/runs/ (the device-run records) speaks of numbered sessions or rounds of the work."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HISTORY = re.compile(r"session ?[0-9]|session-[0-9]|round ?[0-9] of|_s[0-9]_round", re.IGNORECASE)
CHECKED = ("README.md", "docs", "benchmarks", "scripts", "harness", "kernels", "properties")


def _docs(root):
    paths = [os.path.join(root, "README.md")]
    for dirpath, dirnames, files in os.walk(os.path.join(root, "docs")):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) != os.path.join(root, "docs", "runs")]
        paths += [os.path.join(dirpath, f) for f in files if f.endswith(".md")]
    return "\n".join(open(p, encoding="utf-8").read() for p in paths if os.path.isfile(p))


def unnamed_scripts(root):
    """Files in scripts/ that neither README.md nor docs/ (outside docs/runs/) names as scripts/NAME or `NAME`."""
    text = _docs(root)
    return sorted(name for name in os.listdir(os.path.join(root, "scripts"))
                  if f"scripts/{name}" not in text and f"`{name}`" not in text)


def history_lines(root):
    """``path:line: text`` of every line under CHECKED (outside docs/runs/) that speaks of sessions or rounds."""
    found, runs = [], os.path.join(root, "docs", "runs")
    for top in CHECKED:
        start = os.path.join(root, top)
        files = [start] if os.path.isfile(start) else [
            os.path.join(d, f) for d, dirnames, fs in os.walk(start)
            for f in fs if "__pycache__" not in d and not d.startswith(runs)]
        for path in files:
            try:
                lines = open(path, encoding="utf-8").read().splitlines()
            except (UnicodeDecodeError, OSError):
                continue  # binary results (plots)
            found += [f"{os.path.relpath(path, root)}:{i}: {line.strip()}" for i, line in enumerate(lines, 1)
                      if HISTORY.search(line)]
    return found


def test_every_script_is_a_tool_named_in_readme_or_docs():
    assert unnamed_scripts(ROOT) == []


def test_nothing_outside_docs_runs_speaks_of_sessions_or_rounds():
    assert history_lines(ROOT) == []


def test_the_checks_find_an_unnamed_script_and_a_history_line(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "docs" / "runs").mkdir(parents=True)
    (tmp_path / "README.md").write_text("Run `scripts/fuzz`; on a GPU `device_fuzz.sh`.\n")
    for name in ("fuzz", "device_fuzz.sh", "device_round1.sh"):
        (tmp_path / "scripts" / name).write_text("#!/bin/sh\n")
    (tmp_path / "docs" / "runs" / "README.md").write_text("Session 3, device_round1.sh\n")
    assert unnamed_scripts(str(tmp_path)) == ["device_round1.sh"]  # a record named only in docs/runs
    assert history_lines(str(tmp_path)) == []  # docs/runs may keep its history
    (tmp_path / "docs" / "notes.md").write_text("intro\nmeasured in session 4 on the H100\n")
    assert history_lines(str(tmp_path)) == ["docs/notes.md:2: measured in session 4 on the H100"]
