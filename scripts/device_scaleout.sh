#!/usr/bin/env bash
# Scale-out on a GPU machine (docs/scale-out.md), from the repository root; uses the machine's torch/triton and
# this checkout (nothing is installed). The registry fuzz tests (tests/fuzz/test_registry_kernels.py) under
# pytest-xdist with the gpu profile, nvidia-smi once a second, one shared example database, then the replay
# demonstration: a deliberately broken candidate (tests/zoo/07_batch1_only.py) whose failure, found by one
# worker, is replayed first by every worker of the next run (--dist each). Everything goes to $OUT; a table last.
#
#   OUT=/tmp/ff-scaleout bash scripts/device_scaleout.sh
#
# One GPU: two workers, both on GPU 0 (about 5 minutes). Several GPUs: one worker per GPU (-n GPUS), then the same
# with one worker (-n 1), each with a fresh Triton cache (both pay the same compiles) and its own database: wall
# clock and speedup (a lower bound when the serial run hits RUN_LIMIT; about 10 minutes on two GPUs).
# Knobs: GPUS (default: what nvidia-smi lists), MAX_EXAMPLES (per kernel; default 40 on one GPU, 60 on several;
# the profile's own is 400), RUN_LIMIT (s per timed run; default 150 on one GPU, 200 on several), ONLY (a pytest
# -k expression selecting kernels; default every registry kernel).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
# CUDA numbers GPUs like nvidia-smi does (by PCI bus), so that GPU N in the pinning is nvidia-smi's GPU N
export CUDA_DEVICE_ORDER=PCI_BUS_ID
OUT=${OUT:-/tmp/ff-scaleout}; mkdir -p "$OUT"
export FUSEFUZZ_REPRO_DIR=$OUT/repros
BROKEN=tests/zoo/07_batch1_only.py   # deliberately broken: wrong for batch >= 2 (mismatch)
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}
[ "$GPUS" -ge 1 ] 2>/dev/null || { echo "device_scaleout.sh: GPUS=$GPUS: no GPU listed by nvidia-smi; set GPUS=N"; exit 2; }
# the fusefuzz plugin: by -p where the package is not pip-installed (the GPU machines), else by its entry point
PLUGIN=(-p fusefuzz.harness.plugin)
python3 -c "import sys, importlib.metadata as m; sys.exit(all(e.value != 'fusefuzz.harness.plugin'
    for e in m.entry_points(group='pytest11')))" && PLUGIN=()
PYTEST=(python3 -m pytest "${PLUGIN[@]}" -p no:cacheprovider -m fuzz tests/fuzz/test_registry_kernels.py)
SEL=(); [ -n "${ONLY:-}" ] && SEL=(-k "$ONLY")
: > "$OUT/timings.txt"

start_monitors() {
    nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used --format=csv,nounits -l 1 \
        > "$OUT/nvidia-smi-gpu.csv" 2>&1 &
    SMI=$!
    ( while true; do echo "@$(date +%s)"; nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory \
        --format=csv,noheader,nounits 2>&1; sleep 1; done ) > "$OUT/nvidia-smi-apps.log" &
    APPS=$!
    trap 'kill $SMI $APPS 2>/dev/null' EXIT
}

stop_monitors() { kill "$SMI" "$APPS" 2>/dev/null; }

versions() {
    nvidia-smi --query-gpu=index,name,uuid,driver_version --format=csv,noheader
    python3 -c "import torch, triton, hypothesis, xdist; print('torch', torch.__version__, 'triton',
        triton.__version__, 'hypothesis', hypothesis.__version__, 'xdist', xdist.__version__,
        'gpus', torch.cuda.device_count())"
}

run() {  # run NAME WORKERS LIMIT ARGS...: one pytest run, its junit xml, its line in timings.txt
    local name=$1 workers=$2 limit=$3; shift 3
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout "$limit" "${PYTEST[@]}" -n "$workers" --junitxml="$OUT/$name.xml" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    echo "$name $t0 $t1 $rc $workers" >> "$OUT/timings.txt"
    echo "== $name: exit $rc in $(python3 -c "print(round($t1 - $t0))") s (log $OUT/$name.log)"
    grep -m2 "^fusefuzz:" "$OUT/$name.log"
}

replay_demo() {  # one worker finds the broken candidate's failure, then every worker replays it first
    local limit=$1 workers=$2; shift 2
    export FUSEFUZZ_DATABASE=$OUT/shared-db
    rm -rf "$FUSEFUZZ_DATABASE"
    run replay-find "$workers" "$limit" -k batch1_only --fusefuzz-candidate "$BROKEN" --fusefuzz-max-examples 200 "$@"
    run replay-each "$workers" "$limit" --dist each -k batch1_only --fusefuzz-candidate "$BROKEN" \
        --fusefuzz-max-examples 200 "$@"
    echo "shared database $FUSEFUZZ_DATABASE: $(find "$FUSEFUZZ_DATABASE" -type f | wc -l) files under" \
         "$(find "$FUSEFUZZ_DATABASE" -mindepth 1 -maxdepth 1 -type d | wc -l) keys"
}

start_monitors
{
versions
t0=$(date +%s)
if [ "$GPUS" -eq 1 ]; then
    # every registry kernel, two workers on the one GPU, one database
    export FUSEFUZZ_DATABASE=$OUT/db-fuzz
    run fuzz-n2 2 "${RUN_LIMIT:-150}" --fusefuzz-profile gpu --fusefuzz-max-examples "${MAX_EXAMPLES:-40}" "${SEL[@]}"
    replay_demo "${REPLAY_LIMIT:-90}" 2 --fusefuzz-profile gpu
    stop_monitors
    python3 scripts/scaleout_table.py "$OUT" --replay replay-find replay-each
else
    for n in "$GPUS" 1; do
        TRITON_CACHE_DIR=$(mktemp -d) FUSEFUZZ_DATABASE=$OUT/db-n$n run "fuzz-n$n" "$n" "${RUN_LIMIT:-200}" \
            --fusefuzz-profile gpu --fusefuzz-max-examples "${MAX_EXAMPLES:-60}" "${SEL[@]}"
        echo "database of fuzz-n$n: $(find "$OUT/db-n$n" -type f 2>/dev/null | wc -l) files"
    done
    replay_demo "${REPLAY_LIMIT:-90}" "$GPUS" --fusefuzz-profile gpu  # across the GPUs
    stop_monitors
    python3 scripts/scaleout_table.py "$OUT" --speedup fuzz-n1 "fuzz-n$GPUS" --replay replay-find replay-each
fi
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | tee "$OUT/scaleout.log"
