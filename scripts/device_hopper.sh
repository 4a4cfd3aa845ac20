#!/usr/bin/env bash
# The warp-specialized Gluon kernel (kernels/conv2d_gelu_gap_hopper.py) on a Hopper GPU in one call: correctness
# screen against float64 and the portable kernel (benchmarks/dev/hopper_dev.py, odd shapes, every dtype, both
# modes), then headline timings of its launch variants beside the portable kernel; then, if time is left, the
# streamed long-K loop's variants (scripts/device_paths.sh with SHAPE). $OUT gets the JSON files and logs.
#   DEADLINE_S=560 bash scripts/device_hopper.sh
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-hopper}; mkdir -p "$OUT"
t0=$(date +%s)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$OUT/summary.txt" 2>&1
timeout -k 5 "${CHECK_S:-150}" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --no-timings > "$OUT/check.log" 2>&1
echo "check rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
timeout -k 5 "${TIME_S:-220}" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --skip-check --rep "${REP:-100}" \
    ${VARIANTS:+--variants "$VARIANTS"} > "$OUT/time.log" 2>&1
echo "time rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
left=$(( ${DEADLINE_S:-560} - ($(date +%s) - t0) - 10 ))
if [ -n "${STREAMED:-1}" ] && [ "$left" -gt 90 ]; then
    OUT="$OUT/paths" DEV_S=$(( left - 10 )) DEADLINE_S=$(( left - 5 )) SHAPE=16,64,128,56,56,3,3 \
        VARIANTS=${PATH_VARIANTS:-T5,TA5,TC5,TC5k32,TC5k64,TS5k32} bash scripts/device_paths.sh > "$OUT/paths.log" 2>&1
    echo "paths rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
fi
grep -c '"ok": false' "$OUT/check.log" | sed 's/^/check failures: /' >> "$OUT/summary.txt"
grep '"ok": false' "$OUT/check.log" | head -5 >> "$OUT/summary.txt"
tail -n 14 "$OUT/time.log" >> "$OUT/summary.txt"
tail -n 12 "$OUT/paths/summary.txt" >> "$OUT/summary.txt" 2>/dev/null
cat "$OUT/summary.txt"
