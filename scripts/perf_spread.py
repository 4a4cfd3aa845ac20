"""Repeat spread of one benchmark's median over several runs (separate processes).

    python scripts/perf_spread.py --name 'test_kernel[fused-headline-float32]' --limit 0.01 run1.json run2.json ...

Spread = (max - min) / median of the runs' medians. Exit 0 when it is at most ``--limit``, 1 otherwise,
2 when a file lacks the benchmark. Reads pytest-benchmark JSON (``--benchmark-json``) through
fusefuzz.harness.perf.history, so medians are the fusefuzz GPU timer's (per-round device time).
"""

import argparse
import json
import statistics
import sys

from fusefuzz.harness.perf.history import HistoryError, load_run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--name", required=True, help="benchmark name (the part after '::', or the full name)")
    ap.add_argument("--limit", type=float, default=0.01, help="largest allowed spread (default: %(default)s)")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args(argv)
    medians = []
    for path in args.files:
        try:
            run = load_run(path)
        except HistoryError as e:
            print(f"perf_spread: error: {e}", file=sys.stderr)
            return 2
        recs = [r for n, r in run.benchmarks.items() if n == args.name or n.split("::", 1)[-1] == args.name]
        if not recs or recs[0].median_ms is None:
            print(f"perf_spread: error: {path!r} has no benchmark --name={args.name!r}", file=sys.stderr)
            return 2
        medians.append(recs[0].median_ms)
    mid = statistics.median(medians)
    spread = (max(medians) - min(medians)) / mid
    ok = spread <= args.limit
    print(f"{args.name}: medians {', '.join(f'{m:.4f}' for m in medians)} ms over {len(medians)} runs; "
          f"spread {100 * spread:.2f} % ({'<=' if ok else '>'} {100 * args.limit:g} %)")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"name": args.name, "medians_ms": medians, "spread": spread, "limit": args.limit, "ok": ok}, f,
                      indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
