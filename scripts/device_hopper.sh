#!/usr/bin/env bash
# The warp-specialized Gluon kernel (kernels/conv2d_gelu_gap_hopper.py) and the streamed tap loop on a Hopper GPU in
# one call: a correctness screen of the Gluon kernel against float64 and the portable kernel (benchmarks/dev/
# hopper_dev.py: odd shapes, every dtype, both modes; CHECK_VARIANTS / CASES), headline timings of its launch
# variants beside the portable kernel plus the long-K case through the production wrapper against the koff table,
# eager and torch.compile (--streamed), then the tap loop's own gpu fuzz (tests/test_fused_paths.py, in_channels
# in steps of 16, every config). $OUT gets the JSON files and logs; a short summary is printed last.
#   DEADLINE_S=560 bash scripts/device_hopper.sh
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-hopper}; mkdir -p "$OUT"
t0=$(date +%s)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$OUT/summary.txt" 2>&1
timeout -k 5 "${CHECK_S:-120}" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --no-timings \
    --check-variants "${CHECK_VARIANTS:-2pa,2p}" --cases "${CASES:-4}" > "$OUT/check.log" 2>&1
echo "check rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
timeout -k 5 "${TIME_S:-200}" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --skip-check --rep "${REP:-100}" \
    --variants "${VARIANTS:-2p,2pa,2pa4,2pan}" --streamed > "$OUT/time.log" 2>&1
echo "time rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
left=$(( ${DEADLINE_S:-560} - ($(date +%s) - t0) - 10 ))
if [ "$left" -gt 60 ]; then
    FUSEFUZZ_PATHS_PROFILE=gpu FUSEFUZZ_PATHS_EXAMPLES=${EXAMPLES:-100} timeout -k 5 "$left" \
        python3 -m pytest -q -p no:cacheprovider tests/test_fused_paths.py -k default_tap_loop > "$OUT/tap.log" 2>&1
    echo "tap loop fuzz rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
fi
grep -c '"ok": false' "$OUT/check.log" | sed 's/^/check failures: /' >> "$OUT/summary.txt"
grep '"ok": false' "$OUT/check.log" | head -5 >> "$OUT/summary.txt"
grep '^streamed' "$OUT/time.log" >> "$OUT/summary.txt"
tail -n 8 "$OUT/time.log" >> "$OUT/summary.txt"
tail -n 2 "$OUT/tap.log" >> "$OUT/summary.txt" 2>/dev/null
cat "$OUT/summary.txt"
