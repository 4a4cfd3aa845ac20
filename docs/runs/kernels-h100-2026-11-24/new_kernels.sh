#!/usr/bin/env bash
# Issue 7 part 2 on a GPU machine: the gpu fuzz profile of the Linear+GELU and LayerNorm kernels (all configs,
# all checks), then their benchmark against eager PyTorch and torch.compile. At most FUZZ_S + BENCH_S + ~60 s
# (about 6.5 minutes with the defaults).
#
#   OUT=/some/dir bash scripts/device_new_kernels.sh        (from the repository root; PYTHONPATH is set here)
#
# Fuzzing runs as three processes at once (Triton compiles on the CPU, one core each): linear_gelu.fused,
# linear_gelu.fused-ieee, and both LayerNorm kernels; each is stopped after FUZZ_S seconds (SIGTERM: the
# failures found so far stay in its .json.partial). The benchmark then runs alone, within BENCH_S seconds.
# Everything is written under $OUT as it happens; a short table is printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
FUZZ_S=${FUZZ_S:-190}
BENCH_S=${BENCH_S:-170}
DB=${TMPDIR:-/tmp}/ff-db-new-kernels
t0=$(date +%s)
{
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

fuzz() {  # fuzz NAME PROBLEM KERNEL...
  local name=$1 problem=$2; shift 2
  local ks=(); for k in "$@"; do ks+=(--kernel "$k"); done
  FUSEFUZZ_DATABASE="$DB-$name" timeout -s TERM -k 10 "$FUZZ_S" python3 -m fusefuzz.harness.cli fuzz --problem "$problem" \
      "${ks[@]}" --profile gpu --checks all --seed 0 --json "$OUT/fuzz-$name.json" --repro-dir "$OUT/repros-$name" \
      > "$OUT/fuzz-$name.log" 2>&1
  echo "fuzz $name exit $?" >> "$OUT/exits.txt"
}
: > "$OUT/exits.txt"
fuzz linear_gelu_tf32 linear_gelu linear_gelu.fused &
fuzz linear_gelu_ieee linear_gelu linear_gelu.fused-ieee &
fuzz layernorm layernorm layernorm.fused layernorm.looped &
wait
echo "fuzz done after $(( $(date +%s) - t0 )) s"; cat "$OUT/exits.txt"

timeout -s TERM -k 10 $(( BENCH_S + 30 )) python3 benchmarks/bench_new_kernels.py --out "$OUT/bench" \
    --budget-s "$BENCH_S" --max-autotune > "$OUT/bench.log" 2>&1
echo "bench exit $? after $(( $(date +%s) - t0 )) s"

python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
print("\n== fuzz (gpu profile, all checks) ==")
for name in ("linear_gelu_tf32", "linear_gelu_ieee", "layernorm"):
    path = os.path.join(out, f"fuzz-{name}.json")
    if not os.path.exists(path):
        partial = path + ".partial"
        state = json.load(open(partial)) if os.path.exists(partial) else {}
        print(f"{name:18} no final report (stopped?); partial: status={state.get('status')} "
              f"failures={[f['kind'] for f in state.get('failures', [])]}")
        continue
    for k in json.load(open(path))["kernels"]:
        fails = "; ".join(f"{f['kind']}: {f['message'].splitlines()[0][:90]}" for f in k["failures"]) or "-"
        print(f"{k['candidate']:26} {k['verdict']:5} examples={k['examples_run']:4} "
              f"worst={ {c: round(r, 3) for c, r in k['worst_error_over_bound'].items()} } {k['seconds']:.0f}s  {fails}")
print("\n== benchmark: ours vs the fastest baseline of the same precision ==")
path = os.path.join(out, "bench", "bench.json")
if os.path.exists(path):
    data = json.load(open(path))
    rows = data["rows"]
    for r in rows:
        if not r["path"].startswith("ours"):
            continue
        tag = r["path"].split(" ", 1)[1] if " " in r["path"] else None
        base = [b for b in rows if b["kernel"] == r["kernel"] and b["dtype"] == r["dtype"] and b["shape"] == r["shape"]
                and "ms" in b and not b["path"].startswith("ours") and (tag is None or b["path"].endswith(tag))]
        comp = [b for b in base if b["path"].startswith("compile")]
        if "ms" not in r:
            print(f"{r['kernel']:11} {r['dtype']} {r['shape']:15} {r['path']:9} ERROR {r.get('error', '')[:80]}")
            continue
        best = min(comp, key=lambda b: b["ms"]) if comp else None
        eager = [b for b in base if b["path"].startswith("eager")]
        print(f"{r['kernel']:11} {r['dtype']} {r['shape']:15} {r['path']:9} {r['ms']:.4f} ms "
              f"(err/bound {r['err_over_bound']:.3g})  eager {eager[0]['ms'] if eager else '-'}  "
              f"best compile {best['ms'] if best else '-'} [{best['path'] if best else ''}]  "
              f"x{(best['ms'] / r['ms']) if best else float('nan'):.2f} vs compile")
    if data.get("skipped"):
        print(f"({len(data['skipped'])} benchmark rows skipped: time budget)")
else:
    print("no bench.json (see bench.log)")
EOF
echo "total $(( $(date +%s) - t0 )) s"
