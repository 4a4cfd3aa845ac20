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
    for remark in getattr(result, "remarks", ()):
        out.print(f"  remark:    {remark}", markup=False)
    if result.contract:
        out.print(f"  contract:  {result.contract}{' (strict: notes fail)' if result.strict else ''}", markup=False)
    _render_matrix(result, out)
    if result.accuracy is not None:
        out.print(f"  {result.accuracy.describe()}", markup=False)
    grouped: dict = {}
    for note in result.notes:  # one line per kind and cause, with the cells it was seen in
        grouped.setdefault((note.kind, note.summary), []).append(f"{note.example.dtype}/{note.example.layout}")
    for (kind, summary), cells in grouped.items():
        out.print(f"  [cyan]note[/cyan] {kind} in {', '.join(cells)}: ", end="")
        out.print(summary, markup=False)
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


_CELL_STYLE = {"pass": "green", "fail": "red", "out_of_scope": "cyan", "unsupported_here": "yellow", "not_run": "dim"}


def _render_matrix(result: CampaignResult, out: Console) -> None:
    """dtype x layout: what each cell showed (pass, fail:<kinds>, out_of_scope, unsupported_here, not_run)."""
    if not result.matrix:
        return
    dtypes, layouts = [], []
    for cell in result.matrix:
        d, lay = cell.split("/", 1)
        dtypes += [d] if d not in dtypes else []
        layouts += [lay] if lay not in layouts else []
    table = Table(show_header=True, header_style="bold", title="matrix (dtype x layout)", title_justify="left")
    table.add_column("dtype")
    for lay in layouts:
        table.add_column(lay, overflow="fold")
    for d in dtypes:
        row = []
        for lay in layouts:
            value = result.matrix.get(f"{d}/{lay}", "")
            head, _, why = value.partition(":")
            style = _CELL_STYLE.get(head, "")
            text = value if head == "fail" else head + (f" ({why[:60]})" if why else "")
            row.append(f"[{style}]{_escape(text)}[/{style}]" if style else _escape(text))
        table.add_row(d, *row)
    out.print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def render_fuzz(results: list[CampaignResult], out: Console | None = None) -> None:
    out = out or console()
    table = Table(title="fusefuzz fuzz: bundled kernels", title_justify="left", header_style="bold")
    for col in ("kernel", "verdict", "examples", "unsupported", "configs", "worst err/bound", "failures", "notes", "s"):
        table.add_column(col)
    for r in results:
        style = _VERDICT_STYLE.get(r.verdict, "")
        ratio = "; ".join(f"{c} {v:.2g}" for c, v in sorted(r.ratios.items())) or "-"
        table.add_row(r.candidate, f"[{style}]{r.verdict}[/{style}]", str(r.examples_run),
                      str(sum(r.unsupported.values())), str(len(r.configs)), ratio,
                      ", ".join(sorted({f.kind for f in r.failures})) or "-",
                      ", ".join(sorted({n.kind for n in r.notes})) or "-", f"{r.seconds:.0f}")
    out.print(table)


def write_json(path: str, payload) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
