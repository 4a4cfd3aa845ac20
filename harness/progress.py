"""Campaign progress: a live display on a terminal, one summary line in CI logs, nothing with ``--quiet``.

A campaign (:func:`fusefuzz.harness.campaign.run_campaign`) calls ``on_start(example)`` before each example and
``on_example(result, outcome)`` after it; :class:`CampaignProgress` turns those into

* a rich live display on stderr (spinner, examples run, failing examples and their kinds, elapsed time,
  the current example) when stderr is a terminal, ``CI`` is not set and the user did not ask for quiet;
* otherwise no live output at all, and one line when the campaign ends (unless quiet)::

      fusefuzz: matmul_triton.py: 25 examples, 0 failing, 12.3 s

Examples Hypothesis runs while shrinking count as examples: the counter can pass ``--max-examples``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter


def ci() -> bool:
    """Whether ``CI`` says this is a CI run (any value but empty, 0, false, no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def live_by_default(quiet: bool = False, stream=None) -> bool:
    """A live display only on a terminal, outside CI, when not quiet."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return not quiet and not ci() and tty


class CampaignProgress:
    """Context manager; pass :meth:`on_start` and :meth:`on_example` to ``run_campaign``.

    ``live``: None = :func:`live_by_default`; ``console``: a rich Console for the live display (default:
    stderr); ``stream``: where the summary line goes (default: stderr); ``quiet``: nothing at all."""

    def __init__(self, label: str, *, total: int | None = None, live: bool | None = None, quiet: bool = False,
                 console=None, stream=None):
        self.label = label
        self.total = total
        self.quiet = quiet
        self.stream = stream
        self.live = live_by_default(quiet, stream) if live is None else (live and not quiet)
        self.console = console
        self.examples = 0
        self.failing = 0
        self.unsupported = 0
        self.kinds: Counter = Counter()
        self.current = ""
        self.start = time.perf_counter()
        self._progress = None
        self._task = None

    # -- display ------------------------------------------------------------------------------------
    def __enter__(self) -> CampaignProgress:
        self.start = time.perf_counter()
        if self.live:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            console = self.console or Console(stderr=True)
            self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                                      TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                      TextColumn("{task.fields[current]}", style="dim"),
                                      console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, counts=self._counts(), current="")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif not self.quiet:
            print(self.summary(), file=self.stream or sys.stderr, flush=True)

    def _counts(self) -> str:
        text = f"{self.examples} examples, {self.failing} failing"
        if self.kinds:
            text += " (" + ", ".join(k for k, _ in self.kinds.most_common(3)) + ")"
        if self.unsupported:
            text += f", {self.unsupported} unsupported"
        return text

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.examples, counts=self._counts(), current=self.current)

    # -- campaign callbacks -------------------------------------------------------------------------
    def on_start(self, example) -> None:
        text = example.describe()
        self.current = text if len(text) <= 100 else text[:97] + "..."
        self._refresh()

    def on_example(self, result, outcome) -> None:
        self.examples += 1
        if outcome is None or outcome.failures:
            self.failing += 1
            for f in getattr(outcome, "failures", None) or []:
                self.kinds[f.kind] += 1
        elif outcome.unsupported:
            self.unsupported += 1
        self._refresh()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def summary(self) -> str:
        return f"fusefuzz: {self.label}: {self._counts()}, {self.seconds:.1f} s"
