#!/usr/bin/env bash
# The gpu fuzz profile over registered kernels on a GPU machine, from the repository root; uses the machine's
# torch/triton and this checkout (nothing is installed). Every check, every autotune config on every example.
#
#   OUT=DIR bash scripts/device_fuzz.sh
#   OUT=DIR KERNELS="conv2d_gelu_gap.fused:400:300 layernorm.fused" PARALLEL=2 bash scripts/device_fuzz.sh
#
# KERNELS: "name[:examples[:seconds]] ..." (default: every registered kernel, `fusefuzz list`); examples default
# to EXAMPLES (default 400, the gpu profile's), seconds to LIMIT (default 300): a campaign still running then is
# stopped (SIGTERM: the failures found so far stay in its .json.partial). PARALLEL campaigns at a time (default 1;
# Triton compiles on the CPU, one core each). SEED (default 0). GPU_TESTS=1 also runs the GPU-marked tests
# (pytest -m gpu) afterwards. Writes $OUT/env.txt, $OUT/fuzz-NAME.{json,log}, $OUT/repros; prints a table last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTHONFAULTHANDLER=1
OUT=${OUT:-/tmp/ff-fuzz}; mkdir -p "$OUT"
export FUSEFUZZ_DATABASE=${FUSEFUZZ_DATABASE:-$OUT/db}
t0=$(date +%s)
{
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
python3 -c "import torch, triton, hypothesis; print('torch', torch.__version__, 'triton', triton.__version__,
    'hypothesis', hypothesis.__version__)"
date -u +%Y-%m-%dT%H:%M:%SZ
} 2>&1 | tee "$OUT/env.txt"
specs=${KERNELS:-$(python3 -m fusefuzz.harness.cli list | awk '$1 == "kernel" {print $2}')}
[ -n "$specs" ] || { echo "device_fuzz.sh: no kernel to fuzz (KERNELS=${KERNELS:-} and fusefuzz list printed none)"; exit 2; }

fuzz() {  # fuzz NAME EXAMPLES SECONDS
    timeout -s TERM -k 10 "$3" python3 -m fusefuzz.harness.cli fuzz --kernel "$1" --profile gpu --max-examples "$2" \
        --seed "${SEED:-0}" --checks all --json "$OUT/fuzz-$1.json" --repro-dir "$OUT/repros" \
        > "$OUT/fuzz-$1.log" 2>&1
    echo "EXIT fuzz $1=$? ($(( $(date +%s) - t0 )) s)"
}
for spec in $specs; do
    IFS=: read -r name n lim <<< "$spec"
    while [ "$(jobs -rp | wc -l)" -ge "${PARALLEL:-1}" ]; do wait -n; done
    fuzz "$name" "${n:-${EXAMPLES:-400}}" "${lim:-${LIMIT:-300}}" &
done
wait
if [ -n "${GPU_TESTS:-}" ]; then
    python3 -m pytest -p fusefuzz.harness.plugin -p no:cacheprovider -m gpu tests -q --fusefuzz-profile gpu \
        > "$OUT/gpu-tests.log" 2>&1
    echo "EXIT gpu tests=$? ($(( $(date +%s) - t0 )) s)"; tail -3 "$OUT/gpu-tests.log"
fi
python3 - "$OUT" $specs <<'PY'
import json, os, sys
out = sys.argv[1]
print("\n| kernel | verdict | examples | configs | failure kinds | worst error/bound | s |\n|---|---|---|---|---|---|---|")
for spec in sys.argv[2:]:
    name = spec.split(":")[0]
    path = os.path.join(out, f"fuzz-{name}.json")
    if not os.path.exists(path):
        partial = path + ".partial"
        if os.path.exists(partial):
            state = json.load(open(partial))
            kinds = [f["kind"] for f in state.get("failures", [])]
            print(f"| {name} | stopped (partial report: {state.get('status')}) | | | {kinds} | | |")
        else:
            log = open(os.path.join(out, f"fuzz-{name}.log")).read().strip().splitlines() or ["(empty log)"]
            print(f"| {name} | no report: {log[-1][:150]} | | | | | |")
        continue
    r = json.load(open(path))
    if "error" in r:
        print(f"| {name} | error: {r['error']} | | | | | |")
        continue
    for k in r["kernels"]:
        worst = {c: round(v, 3) for c, v in (k.get("worst_error_over_bound") or {}).items()}
        print(f"| {k['candidate']} | {k['verdict']} | {k['examples_run']} | {len(k.get('configs', []))} | "
              f"{[f['kind'] for f in k['failures']]} | {worst} | {k['seconds']:.0f} |")
PY
echo "total $(( $(date +%s) - t0 )) s"
