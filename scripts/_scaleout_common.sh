# Shared by scripts/device_scaleout.sh and scripts/device_multigpu.sh (sourced, not run): environment,
# nvidia-smi loggers, and run(), which runs the registry fuzz tests under pytest-xdist and records the
# run's wall clock and exit code in $OUT/timings.txt (read by scripts/scaleout_table.py).
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
# CUDA numbers GPUs like nvidia-smi does (by PCI bus), so that GPU N in the pinning is nvidia-smi's GPU N
export CUDA_DEVICE_ORDER=PCI_BUS_ID
OUT=${OUT:-/tmp/ff-scaleout}; mkdir -p "$OUT"
export FUSEFUZZ_REPRO_DIR=$OUT/repros
BROKEN=tests/zoo/07_batch1_only.py   # deliberately broken: wrong for batch >= 2 (mismatch)
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
    local limit=$1; shift
    export FUSEFUZZ_DATABASE=$OUT/shared-db
    rm -rf "$FUSEFUZZ_DATABASE"
    run replay-find 2 "$limit" -k batch1_only --fusefuzz-candidate "$BROKEN" --fusefuzz-max-examples 200 "$@"
    run replay-each 2 "$limit" --dist each -k batch1_only --fusefuzz-candidate "$BROKEN" \
        --fusefuzz-max-examples 200 "$@"
    echo "shared database $FUSEFUZZ_DATABASE: $(find "$FUSEFUZZ_DATABASE" -type f | wc -l) files under" \
         "$(find "$FUSEFUZZ_DATABASE" -mindepth 1 -maxdepth 1 -type d | wc -l) keys"
}
