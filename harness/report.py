"""Readable campaign reports (rich on a terminal, plain text in CI logs) and the JSON report."""

from __future__ import annotations

import json
import os

from rich.console import Console
from rich.table import Table

from .campaign import CampaignResult

_VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold yellow", "unsupported": "bold yellow"}


def console() -> Console:
    # In CI logs: no colour codes, a fixed width so lines stay intact.
    plain = bool(os.environ.get("CI")) or not os.isatty(1)
    return Console(highlight=False, no_color=plain, width=140 if plain else None, soft_wrap=False)


def render(result: CampaignResult, out: Console | None = None) -> None:
    out = out or console()
    style = _VERDICT_STYLE.get(result.verdict, "bold")
    out.print(f"[bold]fusefuzz check[/bold] {result.candidate}  (problem {result.problem})")
    out.print(f"  backend:   {result.backend}")
    out.print(f"  profile:   {result.profile}; policy {result.policy}; {result.examples_run} examples run "
              f"in {result.seconds:.1f} s")
    out.print(f"  configs:   {len(result.configs)} swept per example")
    for i, c in enumerate(result.configs):
        out.print(f"             [{i}] {c}", markup=False)
    if result.ratios:
        parts = [f"{c}: {r:.3g}" for c, r in sorted(result.ratios.items())]
        consistent = ", ".join(result.consistent_with) or "none of " + "/".join(sorted(result.ratios))
        out.print(f"  precision: declared {result.precision}; worst error/bound {'; '.join(parts)}; "
                  f"consistent with {consistent}")
    for reason, n in result.unsupported.items():
        out.print(f"  [yellow]unsupported here[/yellow] ({n} examples, no verdict): {reason}")
    for note in getattr(result, "notes", ()):
        out.print(f"  note:      {note}", markup=False)
    if result.error:
        out.print(f"  [yellow]error:[/yellow] {result.error}", markup=True)
    n = len(result.failures)
    summary = {"pass": "no counterexample", "fail": f"{n} counterexample{'s' * (n != 1)}",
               "error": "could not complete", "unsupported": "every example was unsupported here"}[result.verdict]
    out.print(f"  verdict:   [{style}]{result.verdict.upper()}[/{style}] - {summary}")
    if not result.failures:
        return
    table = Table(show_header=True, header_style="bold", title="minimal failing examples", title_justify="left")
    for col in ("kind", "minimal example", "summary"):
        table.add_column(col, overflow="fold")
    for f in result.failures:
        table.add_row(f.kind, f.example.describe(), f.summary)
    out.print(table)
    for f in result.failures:
        out.print(f"\n[bold]{f.kind}[/bold]", markup=True)
        out.print(f.message, markup=False)
        if f.repro:
            out.print(f"repro: python {f.repro}", markup=False)


def render_fuzz(results: list[CampaignResult], out: Console | None = None) -> None:
    out = out or console()
    table = Table(title="fusefuzz fuzz: bundled kernels", title_justify="left", header_style="bold")
    for col in ("kernel", "verdict", "examples", "unsupported", "configs", "worst err/bound", "failures", "s"):
        table.add_column(col)
    for r in results:
        style = _VERDICT_STYLE.get(r.verdict, "")
        ratio = "; ".join(f"{c} {v:.2g}" for c, v in sorted(r.ratios.items())) or "-"
        table.add_row(r.candidate, f"[{style}]{r.verdict}[/{style}]", str(r.examples_run),
                      str(sum(r.unsupported.values())), str(len(r.configs)), ratio,
                      ", ".join(sorted({f.kind for f in r.failures})) or "-", f"{r.seconds:.0f}")
    out.print(table)


def write_json(path: str, payload) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
