#!/usr/bin/env bash
# The row-ring Gluon kernel (kernels/conv2d_gelu_gap_hopper.py, design "rows") on a Hopper GPU in one call: its
# correctness screen against float64 and the portable kernel (benchmarks/dev/hopper_dev.py: every case, every dtype;
# the first of CHECK_VARIANTS in both modes), then headline timings of VARIANTS beside the portable kernel.
# $OUT gets the JSON files and logs; a short summary is printed last.
# PROOF_S=N then runs the gpu tests of tests/test_hopper_kernel.py for at most N seconds (the fuzz proof over
# PROOF_PROFILE, default gpu, PROOF_EXAMPLES examples per launch and mode; PROOF_K selects tests, e.g. "contract":
# the variants test alone compiles 10 launches x 3 dtypes x 2 modes).
#   DEADLINE_S=560 [PROOF_S=200] bash scripts/device_rows.sh
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-rows}; mkdir -p "$OUT"
t0=$(date +%s)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$OUT/summary.txt" 2>&1
timeout -k 5 "${CHECK_S:-240}" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --no-timings \
    --check-variants "${CHECK_VARIANTS:-rowsm,rowsm3}" > "$OUT/check.log" 2>&1
echo "check rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
if [ "${PROOF_S:-0}" -gt 0 ]; then  # the gpu tests of the Hopper kernel: every launch against float64, the fuzz proof
  FUSEFUZZ_HOPPER_PROFILE=${PROOF_PROFILE:-gpu} FUSEFUZZ_HOPPER_EXAMPLES=${PROOF_EXAMPLES:-60} timeout -k 5 "$PROOF_S" \
      python3 -m pytest -q -m gpu -p no:cacheprovider ${PROOF_K:+-k "$PROOF_K"} tests/test_hopper_kernel.py \
      > "$OUT/proof.log" 2>&1
  echo "proof rc=$? $(( $(date +%s) - t0 ))s: $(tail -n 1 "$OUT/proof.log")" >> "$OUT/summary.txt"
fi
left=$(( ${DEADLINE_S:-560} - ($(date +%s) - t0) - 15 ))
timeout -k 5 "$left" python3 benchmarks/dev/hopper_dev.py --out "$OUT" --skip-check --rep "${REP:-100}" \
    --variants "${VARIANTS:-rows,rowsm,rowsm3,rowsl,rowsmn,rowsm3n}" > "$OUT/time.log" 2>&1
echo "time rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
grep -c '"ok": true' "$OUT/check.log" | sed 's/^/check rows ok: /' >> "$OUT/summary.txt"
grep -c '"ok": false' "$OUT/check.log" | sed 's/^/check failures: /' >> "$OUT/summary.txt"
grep '"ok": false' "$OUT/check.log" | head -6 | cut -c1-400 >> "$OUT/summary.txt"
tail -n 3 "$OUT/check.log" | cut -c1-300 >> "$OUT/summary.txt"
tail -n 10 "$OUT/time.log" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
