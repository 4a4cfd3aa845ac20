#!/usr/bin/env python3
"""Generate docs/oracle.md: each zoo member under a KernelBench-style check and under fusefuzz.

    python scripts/oracle_table.py fusefuzz --out docs/runs/oracle-fusefuzz-cpu.json      # CPU (interpreter)
    python scripts/oracle_table.py fusefuzz --out docs/runs/oracle-fusefuzz-gpu.json      # on a GPU machine
    python scripts/oracle_table.py kernelbench --out docs/runs/oracle-kernelbench-gpu.json  # GPU: headline shape
    python scripts/oracle_table.py render docs/runs/oracle-*.json > docs/oracle.md

The KernelBench-style check does what KernelBench does: seed, build Model and ModelNew, five trials of
fresh ``torch.rand`` inputs at the one headline shape (128x8x256x256, k=3), ``torch.allclose`` at
atol=rtol=1e-2 and 1e-4 against the reference at the same dtype with PyTorch's default flags.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env() -> dict:
    import torch
    import triton

    from fusefuzz.harness import backend

    return {"backend": backend.describe(), "torch": torch.__version__, "triton": triton.__version__,
            "host": platform.node(), "date": time.strftime("%Y-%m-%d")}


def kernelbench(args) -> dict:
    import torch

    from fusefuzz.harness import backend, candidates, zoo
    from fusefuzz.harness.problems.conv2d_gelu_gap import Model

    device = backend.device()
    rows = {}
    for m in zoo.members():
        if args.only and m.name not in args.only:
            continue
        if m.problem != "conv2d_gelu_gap":  # the KernelBench-style check below is the conv problem's headline shape
            continue
        row = {"expect": m.expect_text}
        try:
            cand = candidates.load(m.path)
            torch.manual_seed(42)
            ref = Model(8, 64, 3).to(device)
            torch.manual_seed(42)
            new = cand.build((8, 64, 3)).to(device)
            verdicts = {"1e-2": True, "1e-4": True}
            start = time.perf_counter()
            for trial in range(5):
                torch.manual_seed(trial)
                x = torch.rand(128, 8, 256, 256, device=device)
                with torch.no_grad():
                    want = ref(x)
                    got = new(x)
                if device == "cuda":
                    torch.cuda.synchronize()
                for tol in verdicts:
                    t = float(tol)
                    ok = isinstance(got, torch.Tensor) and got.shape == want.shape and \
                        torch.allclose(got.float(), want.float(), atol=t, rtol=t)
                    verdicts[tol] = verdicts[tol] and bool(ok)
            row.update({f"allclose_{k}": "pass" if v else "REJECT" for k, v in verdicts.items()})
            row["seconds"] = round(time.perf_counter() - start, 2)
        except Exception as e:  # noqa: BLE001 - a crash is a rejection, recorded with its reason
            row.update({"allclose_1e-2": "REJECT (error)", "allclose_1e-4": "REJECT (error)",
                        "error": f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"})
        rows[m.name] = row
        print(m.name, row, flush=True)
    return {"kind": "kernelbench", "env": _env(), "rows": rows}


def fusefuzz(args) -> dict:
    from fusefuzz.harness import zoo

    rows = {}
    for m in zoo.members():
        if args.only and m.name not in args.only:
            continue
        isolate = m.needs_isolation
        extra = {"timeout": args.timeout} if isolate and args.timeout else {}
        try:
            v = zoo.judge_member(m, profile=args.profile, max_examples=args.max_examples, seed=args.seed,
                                 isolate=isolate, **extra)
        except TypeError:  # no isolated runner in this checkout
            rows[m.name] = {"expect": m.expect_text, "verdict": "pending (needs the isolated runner)"}
            continue
        rows[m.name] = {"expect": m.expect_text, "expected_here": m.expected, "verdict": v.verdict, "kinds": v.kinds,
                        "correct": v.correct,
                        "minimal_example": v.first_failure_example, "examples": v.examples_run,
                        "examples_to_first_failure": v.examples_to_first_failure,
                        "seconds_to_first_failure": None if v.seconds_to_first_failure is None
                        else round(v.seconds_to_first_failure, 1),
                        "seconds": round(v.seconds, 1)}
        print(m.name, rows[m.name], flush=True)
    return {"kind": "fusefuzz", "profile": args.profile, "env": _env(), "rows": rows}


def render(paths) -> str:
    runs = [json.load(open(p, encoding="utf-8")) for p in paths]
    kb = [r for r in runs if r["kind"] == "kernelbench"]
    ff = [r for r in runs if r["kind"] == "fusefuzz"]
    names = sorted({n for r in runs for n in r["rows"]})
    lines = ["# Oracle strength: the bug zoo under a KernelBench-style check and under fusefuzz", "",
             "Generated by `scripts/oracle_table.py` (see its docstring for the commands). Runs:", ""]
    for r in runs:
        e = r["env"]
        lines.append(f"- {r['kind']}{' (' + r['profile'] + ' profile)' if 'profile' in r else ''}: {e['backend']}; "
                     f"{e['date']}")
    lines += ["", "KernelBench-style: 5 trials at the headline shape, `allclose` at 1e-2 / 1e-4. fusefuzz: kinds "
              "reported, the minimal example, examples run and seconds to the first failure.", ""]
    header = ["member", "expect"]
    for r in kb:
        header += ["KB 1e-2", "KB 1e-4"]
    for r in ff:
        tag = "GPU" if "cuda" in r["env"]["backend"] else "CPU"
        header += [f"fusefuzz {tag}: verdict (kinds)", f"{tag} minimal example", f"{tag} to 1st failure"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for n in names:
        # the fullest form ("crash (cuda: mismatch)") where runs of different checkouts disagree on the text
        row = [n, max((r["rows"][n]["expect"] for r in runs if n in r["rows"]), key=len)]
        for r in kb:
            x = r["rows"].get(n, {})
            row += [x.get("allclose_1e-2", "-"), x.get("allclose_1e-4", "-")]
        for i, r in enumerate(ff):
            x = r["rows"].get(n)
            if not x:
                row += ["-", "-", "-"]
                continue
            ok = x.get("correct")
            mark = "✔" if ok else ("pending" if ok is None else "✘")
            kinds = ", ".join(x.get("kinds") or []) or "-"
            row += [f"{mark} {x.get('verdict')} ({kinds})", x.get("minimal_example") or "-",
                    "-" if x.get("examples_to_first_failure") is None
                    else f"{x['examples_to_first_failure']} ex / {x['seconds_to_first_failure']} s"]
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    lines.append("")
    for r in ff:
        rows = r["rows"].values()
        bugs = [x for x in rows if x.get("expect") != "pass"]
        controls = [x for x in rows if x.get("expect") == "pass"]
        pending = [x for x in rows if x.get("correct") is None]
        rejected = [x for x in bugs if x.get("verdict") == "fail"]
        right_kind = [x for x in bugs if x.get("correct")]
        alarms = [x for x in controls if x.get("correct") is False]
        lines.append(f"- fusefuzz ({r['env']['backend']}, {r.get('profile')} profile): rejects {len(rejected)}/"
                     f"{len(bugs)} bugs, {len(right_kind)} with the expected kind; {len(alarms)} false alarms on "
                     f"{len(controls)} controls; {len(pending)} not measured (pending).")
    for r in kb:
        rej = {t: sum(1 for x in r["rows"].values() if x.get("expect") != "pass"
                      and str(x.get(f"allclose_{t}", "")).startswith("REJECT")) for t in ("1e-2", "1e-4")}
        bugs = sum(1 for x in r["rows"].values() if x.get("expect") != "pass")
        fa = {t: sum(1 for x in r["rows"].values() if x.get("expect") == "pass"
                     and str(x.get(f"allclose_{t}", "")).startswith("REJECT")) for t in ("1e-2", "1e-4")}
        lines.append(f"- KernelBench-style ({r['env']['backend']}): rejects {rej['1e-2']}/{bugs} bugs at 1e-2 and "
                     f"{rej['1e-4']}/{bugs} at 1e-4; false alarms on controls: {fa['1e-2']} at 1e-2, {fa['1e-4']} at 1e-4.")
    return "\n".join(lines) + "\n"


def _per_member_processes(args) -> dict:
    import subprocess
    import tempfile

    from fusefuzz.harness import zoo

    rows, env = {}, None
    order = {n: i for i, n in enumerate(args.only or [])}
    for m in sorted(zoo.members(), key=lambda m: order.get(m.name, 0)):
        if args.only and m.name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "row.json")
            cmd = [sys.executable, os.path.abspath(__file__), args.mode, "--only", m.name, "--out", out,
                   "--profile", args.profile, "--seed", str(args.seed)]
            if args.max_examples:
                cmd += ["--max-examples", str(args.max_examples)]
            if args.timeout:
                cmd += ["--timeout", str(args.timeout)]
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.isolate_members)
                rc, tail = proc.returncode, (proc.stderr or "").strip().splitlines()[-1:] or [""]
            except subprocess.TimeoutExpired:
                rc, tail = "timeout", [f"killed after {args.isolate_members:g} s"]
            seconds = round(time.perf_counter() - start, 1)
            if rc == 0 and os.path.exists(out):
                data = json.load(open(out, encoding="utf-8"))
                env = data["env"]
                rows.update(data["rows"])
            else:
                what = (f"did not finish within the driver's {args.isolate_members:g} s limit" if rc == "timeout"
                        else f"died (exit {rc})")
                if args.mode == "kernelbench":
                    rows[m.name] = {"expect": m.expect_text, "allclose_1e-2": f"REJECT ({what})",
                                    "allclose_1e-4": f"REJECT ({what})", "error": tail[0][:160]}
                else:
                    rows[m.name] = {"expect": m.expect_text, "verdict": f"no verdict: the harness process {what}",
                                    "kinds": [], "correct": None, "seconds": seconds, "error": tail[0][:160]}
            print(m.name, rows[m.name], flush=True)
            if args.out:  # after every member: a run cut short keeps what it measured
                with open(args.out, "w", encoding="utf-8") as f:
                    json.dump({"kind": args.mode, "env": env or {}, "rows": rows,
                               **({"profile": args.profile} if args.mode == "fusefuzz" else {})}, f, indent=1)
    if env is None:
        from fusefuzz.harness import backend

        backend.select()
        env = _env()
    out = {"kind": args.mode, "env": env, "rows": rows}
    if args.mode == "fusefuzz":
        out["profile"] = args.profile
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("kernelbench", "fusefuzz", "render"))
    p.add_argument("paths", nargs="*")
    p.add_argument("--out", default=None)
    p.add_argument("--profile", default="ci")
    p.add_argument("--max-examples", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", action="append", default=None)
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-example limit for members run isolated (crash/timeout kinds); default: the "
                        "harness's per-backend default")
    p.add_argument("--isolate-members", type=float, default=None, metavar="SECONDS",
                   help="run each member in its own process with this time limit (crashes and hangs of the "
                        "member then cost one row, not the run)")
    args = p.parse_args()
    if args.mode == "render":
        sys.stdout.write(render(args.paths))
        return
    if args.isolate_members:
        data = _per_member_processes(args)
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
        return
    from fusefuzz.harness import backend

    backend.select()
    data = kernelbench(args) if args.mode == "kernelbench" else fusefuzz(args)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)


if __name__ == "__main__":
    main()
