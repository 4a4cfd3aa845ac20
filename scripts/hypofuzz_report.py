"""What a HypoFuzz run left in a fusefuzz example database: per test, the latest progress report of each
HypoFuzz worker (inputs run, valid, failing, behaviours seen) and the failing inputs it saved.

HypoFuzz (the ``scale`` extra) prints nothing while it runs without its dashboard; it writes JSON
reports and observations into the example database (HypoFuzz 25.11 layout: every entry is one file).
This reads them back without importing HypoFuzz.

Usage: ``python scripts/hypofuzz_report.py DATABASE_DIR`` (default: ``$FUSEFUZZ_DATABASE``, else
``.hypothesis/fusefuzz``).
"""

from __future__ import annotations

import json
import os
import sys

#: hypothesis.internal.conjecture.data.Status values, as HypoFuzz stores them in status_counts
STATUS = {"0": "overrun", "1": "invalid", "2": "valid", "3": "interesting"}


def _entries(root: str):
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                with open(os.path.join(folder, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if data[:1] == b"{":
                try:
                    yield json.loads(data)
                except ValueError:
                    continue


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0] if argv else os.environ.get("FUSEFUZZ_DATABASE") or os.path.join(".hypothesis", "fusefuzz")
    if not os.path.isdir(root):
        print(f"hypofuzz_report: database={root!r} is not a directory; give the FUSEFUZZ_DATABASE of the run",
              file=sys.stderr)
        return 2
    latest, failures = {}, {}
    for entry in _entries(root):
        if "nodeid" in entry and "status_counts" in entry:
            key = (entry["nodeid"], entry.get("worker_uuid", "?"))
            if key not in latest or entry.get("elapsed_time", 0) >= latest[key].get("elapsed_time", 0):
                latest[key] = entry
        elif entry.get("type") == "test_case" and entry.get("status") == "failed":
            text = entry.get("representation", "").replace("\n", " ")
            failures.setdefault(entry.get("status_reason", "?"), set()).add(" ".join(text.split())[:300])
    if not latest:
        print(f"no HypoFuzz reports in {root}")
        return 1
    print("| test | worker | seconds | inputs | " + " | ".join(STATUS.values()) + " | behaviours |")
    print("|---|---|---|---|" + "---|" * len(STATUS) + "---|")
    for (nodeid, worker), r in sorted(latest.items()):
        counts = {STATUS.get(k, k): v for k, v in r["status_counts"].items()}
        print(f"| {nodeid.split('::')[-1]} | {worker[:8]} | {r.get('elapsed_time', 0):.0f} | "
              f"{sum(counts.values())} | " + " | ".join(str(counts.get(s, 0)) for s in STATUS.values())
              + f" | {r.get('behaviors', '-')} |")
    for reason, reprs in failures.items():
        print(f"\nfailing inputs saved ({reason}): {len(reprs)}")
        for text in sorted(reprs, key=len)[:3]:
            print(f"  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
