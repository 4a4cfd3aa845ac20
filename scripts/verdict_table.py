"""The tables of scripts/device_verdicts.sh, from the logs folder it wrote: every cheat's expected and reported
kinds (check) and bench verdict, the PyTorch-eager control per dtype, the partially fused candidate's matrix.

    python3 scripts/verdict_table.py LOGS_DIR > table.md
"""

import glob
import json
import os
import re
import sys

CHEATS = os.path.join(os.path.dirname(__file__), "..", "tests", "cheats")


def _load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"verdict": f"missing ({type(e).__name__})"}


def _header(path):
    with open(path, encoding="utf-8") as f:
        return dict(re.findall(r"^# ([\w-]+): (.*)$", f.read(), flags=re.M))


def _kinds(entry):
    return sorted({f["kind"] for f in entry.get("failures", [])})


def cheats(logs):
    check = {}
    for part in sorted(glob.glob(os.path.join(logs, "cheats*.json"))):
        check.update({os.path.basename(c.get("candidate") or ""): c for c in _load(part).get("candidates", [])})
    rows = ["| file | expect (check) | check verdict | kinds | expect (bench) | bench verdict | bench median ms | ok |",
            "|---|---|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(CHEATS, "*.py"))):
        name = os.path.basename(path)
        head = _header(path)
        entry = check.get(name) or next((v for k, v in check.items() if k.endswith(name)), {})
        expect = head.get("expect", "-")
        kinds = _kinds(entry)
        verdict = entry.get("verdict", "missing")
        ok = ((expect == "pass" and verdict == "pass")
              or (expect not in ("pass", "-") and verdict == "fail" and bool(set(kinds) & set(expect.split("|"))))
              or (expect == "-" and verdict in ("pass", "fail")))
        bench_want = head.get("expect-bench")
        bench = _load(os.path.join(logs, f"bench-{name[:-3]}.json")) if bench_want else {}
        bv = bench.get("verdict", "-") if bench_want else "-"
        if bench_want:
            ok = ok and bv.lower() == bench_want.lower()
        med = bench.get("median_ms")
        rows.append(f"| {name} | {expect} | {verdict} | {', '.join(kinds) or '-'} | {bench_want or '-'} | {bv} | "
                    f"{'-' if med is None else f'{med:.3f}'} | {'yes' if ok else '**NO**'} |")
    fused = _load(os.path.join(logs, "bench-conv2d_gelu_gap.fused.json"))
    med = fused.get("median_ms")
    ok = str(fused.get("verdict")).lower() == "valid"
    rows.append(f"| conv2d_gelu_gap.fused (ours) | - | - | - | VALID | {fused.get('verdict')} | "
                f"{'-' if med is None else f'{med:.3f}'} | {'yes' if ok else '**NO**'} |")
    return rows


def eager(logs):
    rows = ["| dtype | verdict | examples | worst error/bound | kinds |", "|---|---|---|---|---|"]
    for dt in ("float32", "float16", "bfloat16"):
        r = _load(os.path.join(logs, f"eager-{dt}.json"))
        ratios = r.get("worst_error_over_bound") or {}
        worst = max(ratios.values()) if ratios else None
        rows.append(f"| {dt} | {r.get('verdict')} | {r.get('examples_run', '-')} | "
                    f"{'-' if worst is None else f'{worst:.3f}'} | {', '.join(_kinds(r)) or '-'} |")
    return rows


def partial(logs):
    r = _load(os.path.join(logs, "partial.json"))
    notes = sorted({n["kind"] for n in r.get("notes", [])})
    rows = [f"verdict {r.get('verdict')}, {r.get('examples_run', '-')} examples, failures "
            f"{', '.join(_kinds(r)) or 'none'}, notes {', '.join(notes) or 'none'}", "",
            "| dtype | contiguous | channels_last | strided |", "|---|---|---|---|"]
    matrix = r.get("matrix") or {}
    for dt in ("float32", "float16", "bfloat16"):
        cells = []
        for lay in ("contiguous", "channels_last", "strided"):
            v = matrix.get(f"{dt}/{lay}", "not_run")
            cells.append(str(v))
        rows.append(f"| {dt} | " + " | ".join(cells) + " |")
    return rows


def main(logs):
    print("## cheats: `fusefuzz check --profile ci` and `fusefuzz bench`\n")
    print("\n".join(cheats(logs)))
    print("\n## PyTorch-eager control (conv -> gelu -> mean at the input dtype), default policy\n")
    print("\n".join(eager(logs)))
    print("\n## partially fused candidate (tests/corpus/conv_gelu_gap_01: cuDNN conv, Triton GELU + mean)\n")
    print("\n".join(partial(logs)))


if __name__ == "__main__":
    main(sys.argv[1])
