"""Tables for the scale-out device script (scripts/device_scaleout.sh).

Reads what that script leaves in one directory and prints markdown (also written to summary.md there):

* ``timings.txt``: one line per run, ``NAME START_EPOCH END_EPOCH EXIT_CODE WORKERS``;
* ``NAME.xml``: pytest ``--junitxml`` of that run (the fuzz tests' properties: worker, pid, GPU, examples,
  first example, failures; see fusefuzz.harness.fuzzsuite);
* ``nvidia-smi-gpu.csv``: ``nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used
  --format=csv,nounits -l 1``;
* ``nvidia-smi-apps.log``: lines ``@EPOCH`` followed by ``nvidia-smi --query-compute-apps=pid,gpu_uuid,
  used_memory --format=csv,noheader,nounits`` output, once a second.

Usage: ``python3 scripts/scaleout_table.py OUT_DIR [--speedup SERIAL PARALLEL] [--replay FIND EACH]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fusefuzz.harness.fuzzsuite import read_junit  # noqa: E402


def read_timings(out: str) -> dict:
    runs = {}
    path = os.path.join(out, "timings.txt")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            parts = line.split()
            if len(parts) >= 5:
                runs[parts[0]] = {"start": float(parts[1]), "end": float(parts[2]), "rc": int(parts[3]),
                                  "workers": parts[4]}
    return runs


def read_gpu_samples(out: str) -> list[dict]:
    path = os.path.join(out, "nvidia-smi-gpu.csv")
    if not os.path.exists(path):
        return []
    samples = []
    with open(path, encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 5 or row[0].strip().startswith("timestamp"):
                continue
            stamp, index, uuid, util, mem = (c.strip() for c in row[:5])
            try:
                t = time.mktime(time.strptime(stamp.split(".")[0], "%Y/%m/%d %H:%M:%S"))
                samples.append({"t": t, "index": index, "uuid": uuid, "util": float(util), "mem": float(mem)})
            except ValueError:
                continue
    return samples


def read_apps(out: str) -> list[tuple[float, str, str, float]]:
    """(epoch, pid, gpu_uuid, MiB) for every compute process seen."""
    path = os.path.join(out, "nvidia-smi-apps.log")
    if not os.path.exists(path):
        return []
    seen, now = [], None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("@"):
            now = float(line[1:])
            continue
        parts = [p.strip() for p in line.split(",")]
        if now is None or len(parts) < 3 or not parts[0].isdigit():
            continue
        try:
            mem = float(parts[2])
        except ValueError:
            mem = float("nan")
        seen.append((now, parts[0], parts[1], mem))
    return seen


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tests_table(name: str, rows: list[dict]) -> str:
    body = []
    for r in sorted(rows, key=lambda r: (r.get("fusefuzz_worker", ""), r["name"])):
        body.append([r["name"].split("[", 1)[-1].rstrip("]"), r["outcome"], r.get("fusefuzz_worker", "-"),
                     r.get("fusefuzz_pid", "-"), r.get("fusefuzz_gpu", "-"), r.get("fusefuzz_device", "-"),
                     r.get("fusefuzz_examples", "-"), r.get("fusefuzz_unsupported", "-"), f"{r['time']:.1f}",
                     "; ".join(r.get("fusefuzz_failure", [])) or "-"])
    return f"### run `{name}`: one row per test\n\n" + md_table(
        ["test", "outcome", "worker", "pid", "gpu", "device", "examples", "unsupported", "s", "failures"], body)


def gpu_table(name: str, run: dict, samples: list[dict], apps, worker_pids: dict) -> str:
    window = [s for s in samples if run["start"] - 1 <= s["t"] <= run["end"] + 1]
    by_gpu = defaultdict(list)
    for s in window:
        by_gpu[(s["index"], s["uuid"])].append(s)
    pids_on = defaultdict(set)
    for t, pid, uuid, _ in apps:
        if run["start"] - 1 <= t <= run["end"] + 1:
            pids_on[uuid].add(pid)
    body = []
    for (index, uuid), ss in sorted(by_gpu.items()):
        busy = sum(1 for s in ss if s["util"] >= 10)
        workers = sorted(f"{worker_pids.get(p, '?')}({p})" for p in pids_on.get(uuid, ()))
        body.append([index, uuid[-12:], len(ss), busy, f"{max(s['util'] for s in ss):.0f}",
                     f"{sum(s['util'] for s in ss) / len(ss):.0f}", f"{max(s['mem'] for s in ss):.0f}",
                     ", ".join(workers) or "(none listed)"])
    if not body:
        return f"### run `{name}`: no nvidia-smi samples in its window"
    return (f"### run `{name}`: GPUs during the run (nvidia-smi once a second; busy = utilization >= 10%)\n\n"
            + md_table(["gpu", "uuid", "samples", "busy samples", "max util %", "mean util %", "max MiB",
                        "processes: worker(pid)"], body))


def replay_table(find: list[dict], each: list[dict]) -> str:
    finder = [r for r in find if r.get("fusefuzz_failure")]
    body = []
    for r in finder:
        body.append(["find", r.get("fusefuzz_worker"), r.get("fusefuzz_gpu", "-"), r["outcome"],
                     r.get("fusefuzz_examples"), r.get("fusefuzz_first_failed"), "; ".join(r["fusefuzz_failure"])])
    for r in each:
        body.append(["replay (--dist each)", r.get("fusefuzz_worker"), r.get("fusefuzz_gpu", "-"), r["outcome"],
                     r.get("fusefuzz_examples"), r.get("fusefuzz_first_failed"),
                     r.get("fusefuzz_first_example", "-")])
    verdict = "NOT SHOWN"
    if finder and each:
        minimal = finder[0]["fusefuzz_failure"][0].split(": ", 1)[1]
        found_by = finder[0].get("fusefuzz_worker")
        others = [r for r in each if r.get("fusefuzz_worker") != found_by]
        if others and all(r.get("fusefuzz_first_failed") == "yes" and r.get("fusefuzz_first_example") == minimal
                          for r in each):
            verdict = (f"SHOWN: found by {found_by}; replayed as the first example by "
                       + ", ".join(sorted(r.get("fusefuzz_worker") for r in each)))
    return ("### cross-worker replay through the shared database\n\n"
            + md_table(["run", "worker", "gpu", "outcome", "examples", "first example failed",
                        "failure (find) / first example (replay)"], body)
            + f"\n\nreplay: {verdict}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--speedup", nargs=2, metavar=("SERIAL", "PARALLEL"), help="run names to compare")
    p.add_argument("--replay", nargs=2, metavar=("FIND", "EACH"), help="run names of the replay demo")
    args = p.parse_args(argv)
    runs = read_timings(args.out)
    samples, apps = read_gpu_samples(args.out), read_apps(args.out)
    parts = []
    junit = {}
    for name in runs:
        xml = os.path.join(args.out, f"{name}.xml")
        junit[name] = read_junit(xml) if os.path.exists(xml) else []
    worker_pids = {r["fusefuzz_pid"]: r["fusefuzz_worker"] for rows in junit.values() for r in rows
                   if "fusefuzz_pid" in r}
    summary = []
    for name, run in runs.items():
        rows = junit[name]
        outcomes = defaultdict(int)
        for r in rows:
            outcomes[r["outcome"]] += 1
        summary.append([name, run["workers"], f"{run['end'] - run['start']:.0f}", run["rc"],
                        ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "(no junit)",
                        len({r.get("fusefuzz_worker") for r in rows}),
                        ",".join(sorted({r.get("fusefuzz_gpu", "-") for r in rows})) or "-"])
        if rows:
            parts.append(tests_table(name, rows))
        if samples:
            parts.append(gpu_table(name, run, samples, apps, worker_pids))
    if args.replay and all(n in junit for n in args.replay):
        parts.append(replay_table(junit[args.replay[0]], junit[args.replay[1]]))
    head = md_table(["run", "-n", "wall s", "exit", "tests", "workers used", "gpus used"], summary)
    if args.speedup and all(n in runs for n in args.speedup):
        serial, parallel = (runs[n] for n in args.speedup)
        t1, t2 = serial["end"] - serial["start"], parallel["end"] - parallel["start"]
        bound = " (at least: the serial run hit its time limit)" if serial["rc"] in (124, 137) else ""
        head += f"\n\nspeedup {args.speedup[1]} over {args.speedup[0]}: {t1:.0f} s / {t2:.0f} s = {t1 / t2:.2f}x{bound}"
    text = "\n\n".join(parts + ["## summary\n\n" + head]) + "\n"
    with open(os.path.join(args.out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
