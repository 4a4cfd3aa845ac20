"""``fusefuzz perf report``: the stored history as PNG plots and a Markdown / HTML table with verdicts.

For each GPU key: every run is judged against the runs before it with the same gate as
``fusefuzz perf compare`` (:func:`fusefuzz.harness.perf.stats.compare`), so the report shows *when* a regression
appeared, not only whether the newest run has one. Files written to ``OUT/``:

``<key>-history.png``  per-benchmark median over the runs, relative to the benchmark's first run; a red
                       triangle marks a run the gate flagged, a green one an improvement
``<key>-latest.png``   the newest run: median with its interquartile range per benchmark (log scale)
``report.md`` / ``report.html``  per key: the machine, the newest run's table (median, IQR, rounds,
                       TFLOP/s, GB/s, % of roofline, speedups over eager and torch.compile, ratio to
                       the baseline with its bootstrap interval, p-value, verdict) and the verdicts of
                       every run
"""

from __future__ import annotations

import html
import os

from . import require
from .stats import IMPROVEMENT, REGRESSION, compare

_VERDICT_MARK = {REGRESSION: "**REGRESSION**", IMPROVEMENT: "improvement"}


def _short(name: str) -> str:
    return name.split("::", 1)[-1]


def _fmt(x, spec: str = ".4g", dash: str = "-") -> str:
    if x is None:
        return dash
    try:
        return format(float(x), spec)
    except (TypeError, ValueError):
        return str(x)


def verdict_table(verdicts, *, title: str = "") -> str:
    """Markdown table of gate verdicts (also what ``perf compare`` prints)."""
    lines = [f"## {title}", ""] if title else []
    lines += ["| benchmark | baseline ms | current ms | ratio [95% CI] | p (slower) | threshold | verdict | why |",
              "|---|---|---|---|---|---|---|---|"]
    for v in verdicts:
        lines.append(f"| {_short(v.name)} | {_fmt(v.baseline_median)} | {_fmt(v.current_median)} | {v.ratio_text()} "
                     f"| {_fmt(v.p_slower, '.2g')} | {v.threshold:g} | {_VERDICT_MARK.get(v.status, v.status)} "
                     f"| {v.reason} |")
    return "\n".join(lines)


def judge_history(runs, *, last: int, overrides, default_threshold: float, alpha):
    """Verdicts of every run against the runs before it: list of (run, {benchmark: Verdict})."""
    out = []
    for i, run in enumerate(runs):
        verdicts = compare(run, runs[:i], last=last, overrides=overrides, default_threshold=default_threshold,
                           alpha=alpha) if i else []
        out.append((run, {v.name: v for v in verdicts}))
    return out


def _plot_history(judged, path: str, key: str) -> None:
    matplotlib = require("matplotlib", "fusefuzz perf report (PNG plots)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({n for run, _ in judged for n in run.benchmarks})
    fig, ax = plt.subplots(figsize=(11, 5.5 + 0.12 * len(names)))
    for name in names:
        xs, ys, first = [], [], None
        for i, (run, _) in enumerate(judged):
            rec = run.benchmarks.get(name)
            if rec is None or rec.median_ms is None:
                continue
            first = first or rec.median_ms
            xs.append(i)
            ys.append(rec.median_ms / first)
        if not xs:
            continue
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1, label=_short(name))
        for i, (_run, verdicts) in enumerate(judged):
            v = verdicts.get(name)
            if v is not None and v.status in (REGRESSION, IMPROVEMENT) and i in xs:
                y = ys[xs.index(i)]
                ax.plot([i], [y], marker="v" if v.status == REGRESSION else "^", markersize=11,
                        color="red" if v.status == REGRESSION else "green", zorder=5)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(judged)))
    ax.set_xticklabels([run.label for run, _ in judged], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("median time / first run's median")
    ax.set_title(f"{key}: benchmark history (red triangle: regression flagged by the gate)")
    if len(names) <= 40:
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.32), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _plot_latest(run, path: str, key: str) -> None:
    matplotlib = require("matplotlib", "fusefuzz perf report (PNG plots)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    recs = [r for _, r in sorted(run.benchmarks.items()) if r.median_ms]
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.28 * len(recs) + 1.2)))
    y = np.arange(len(recs))
    med = [r.median_ms for r in recs]
    lo = [r.median_ms - (np.percentile(r.samples_ms, 25) if r.samples_ms else r.median_ms) for r in recs]
    hi = [(np.percentile(r.samples_ms, 75) if r.samples_ms else r.median_ms) - r.median_ms for r in recs]
    ax.errorbar(med, y, xerr=[lo, hi], fmt="o", color="steelblue", ecolor="black", capsize=3, markersize=4)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_yticks(y)
    ax.set_yticklabels([r.label for r in recs], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("median ms (dot), interquartile range (whiskers)")
    ax.set_title(f"{key}: {run.label}")
    for yi, r in zip(y, recs, strict=True):
        sp = r.extra_info.get("speedup_vs_compile")
        pct = r.extra_info.get("pct_roofline_spec")
        note = " ".join(s for s in (f"{sp:.2f}x compile" if sp else "", f"{pct:.0f}% roofline" if pct else "") if s)
        if note:
            ax.text(r.median_ms, yi, "  " + note, va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


_LATEST_COLS = ("benchmark", "median ms", "IQR ms", "rounds", "TFLOP/s", "GB/s", "% roofline (spec)",
                "% roofline (measured)", "vs eager", "vs compile", "ratio [95% CI]", "p (slower)", "verdict")


def _latest_rows(run, verdicts):
    rows = []
    for name, rec in sorted(run.benchmarks.items()):
        e = rec.extra_info
        v = verdicts.get(name)
        rows.append((rec.label, _fmt(rec.median_ms), _fmt(e.get("iqr_ms"), ".3g"), str(e.get("rounds") or
                     len(rec.samples_ms) or "-"), _fmt(e.get("tflops"), ".1f"), _fmt(e.get("gbps"), ".0f"),
                     _fmt(e.get("pct_roofline_spec"), ".1f"), _fmt(e.get("pct_roofline_measured"), ".1f"),
                     _fmt(e.get("speedup_vs_eager"), ".2f"), _fmt(e.get("speedup_vs_compile"), ".2f"),
                     v.ratio_text() if v else "-", _fmt(v.p_slower, ".2g") if v else "-",
                     (_VERDICT_MARK.get(v.status, v.status) + (f" ({v.reason})" if v.status == REGRESSION else ""))
                     if v else "first run"))
    return rows


def _machine_line(run) -> str:
    m = run.machine_info.get("fusefuzz") or {}
    return (f"{m.get('gpu') or 'no GPU'}; driver {m.get('driver', '?')}; CUDA {m.get('cuda_runtime', '?')}; "
            f"torch {m.get('torch', '?')}; triton {m.get('triton', '?')}; TF32 flags {m.get('tf32', {})}")


def _history_rows(judged):
    rows = []
    for run, verdicts in judged:
        counts = {}
        for v in verdicts.values():
            counts[v.status] = counts.get(v.status, 0) + 1
        flagged = ", ".join(_short(n) for n, v in sorted(verdicts.items()) if v.status == REGRESSION) or "-"
        slowdown = sorted({str(r.extra_info.get("injected_slowdown")) for r in run.benchmarks.values()
                           if r.extra_info.get("injected_slowdown")})
        rows.append((run.label + (f" (injected slowdown {', '.join(slowdown)})" if slowdown else ""),
                     str(len(run.benchmarks)), str(counts.get(REGRESSION, 0)), str(counts.get(IMPROVEMENT, 0)),
                     str(counts.get("no change", 0)), flagged))
    return rows


_HISTORY_COLS = ("run", "benchmarks", "regressions", "improvements", "no change", "flagged")


def _md_table(cols, rows) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(out)


def _html_table(cols, rows) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c)).replace('**', '')}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(root: str, keys, out_dir: str, *, last: int = 3, overrides=(), default_threshold: float = 1.05,
           alpha=None) -> list[str]:
    """Write the plots and tables for ``keys``; return the paths written."""
    from .history import load_history

    require("matplotlib", "fusefuzz perf report (PNG plots)")
    require("scipy.stats", "fusefuzz perf report (the gate's Mann-Whitney U test)")
    os.makedirs(out_dir, exist_ok=True)
    md = ["# fusefuzz performance report", "",
          f"Gate: a benchmark regressed when its median is slower than the pooled rounds of the last {last} "
          "earlier run(s) by more than its threshold AND a one-sided Mann-Whitney U test says so "
          "(harness/perf/stats.py). Runs of different GPUs are never compared.", ""]
    html_parts = ["<html><head><meta charset='utf-8'><title>fusefuzz performance report</title><style>"
                  "body{font-family:sans-serif} table{border-collapse:collapse;font-size:12px} "
                  "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
                  "<h1>fusefuzz performance report</h1>"]
    written = []
    for key in keys:
        hist = load_history(root, key)
        if not hist.runs:
            md += [f"## {key}", "", "no usable runs", ""]
            continue
        judged = judge_history(hist.runs, last=last, overrides=overrides, default_threshold=default_threshold,
                               alpha=alpha)
        newest, verdicts = judged[-1]
        hist_png = os.path.join(out_dir, f"{key}-history.png")
        latest_png = os.path.join(out_dir, f"{key}-latest.png")
        _plot_history(judged, hist_png, key)
        _plot_latest(newest, latest_png, key)
        written += [hist_png, latest_png]
        latest_rows, history_rows = _latest_rows(newest, verdicts), _history_rows(judged)
        md += [f"## {key}", "", f"Measured on: {_machine_line(newest)}", "",
               f"![history]({os.path.basename(hist_png)})", "", f"![latest]({os.path.basename(latest_png)})", "",
               f"### Newest run: {newest.label}", "", _md_table(_LATEST_COLS, latest_rows), "",
               f"### Every run against the runs before it ({len(hist.runs)} runs)", "",
               _md_table(_HISTORY_COLS, history_rows), ""]
        if hist.refused:
            md += ["Refused files:", ""] + [f"- `{p}`: {why}" for p, why in hist.refused] + [""]
        html_parts += [f"<h2>{html.escape(key)}</h2><p>Measured on: {html.escape(_machine_line(newest))}</p>",
                       f"<img src='{os.path.basename(hist_png)}'><br><img src='{os.path.basename(latest_png)}'>",
                       f"<h3>Newest run: {html.escape(newest.label)}</h3>", _html_table(_LATEST_COLS, latest_rows),
                       f"<h3>Every run against the runs before it ({len(hist.runs)} runs)</h3>",
                       _html_table(_HISTORY_COLS, history_rows)]
    html_parts.append("</body></html>")
    md_path, html_path = os.path.join(out_dir, "report.md"), os.path.join(out_dir, "report.html")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write("\n".join(html_parts) + "\n")
    return written + [md_path, html_path]
