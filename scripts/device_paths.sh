#!/usr/bin/env bash
# The fused kernel's x paths on a GPU machine in one call (issue 17): raw-kernel timings of the natural, staged and
# channels-last paths at the headline shape (benchmarks/dev/fused_dev.py: fp32, deterministic, fp16, bf16), then
# the gpu fuzz profile over the two new paths on every autotune config (tests/test_fused_paths.py); variants: A5/I
# today's config 0 with and without GELU, S* staged, C5/N5cl a channels-last x, AL5m128/S5m96 register caps, K*/SK*
# the skewed loop (fused_dev.py VARIANTS says each), most telling first: dev.json is rewritten after each one. Logs stay in
# L; $OUT gets dev.json, dev.log, fuzz.log and summary.txt.
#   DEADLINE_S=540 bash scripts/device_paths.sh
#   SHAPE=16,64,128,56,56,3,3 VARIANTS=T5,T5s3,TA5,TC5,TC5k32,TC5k64,TC5k32s3,TS5k32,TS5k64 bash scripts/device_paths.sh
#     (the streamed long-K loop's variants at the sweep's 64-channel case)
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-paths}; L=${LOGS:-/tmp/ff-paths-logs}; mkdir -p "$L" "$OUT"
t0=$(date +%s)
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  python3 -c "import sys, torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'python', sys.version.split()[0])"
} > "$OUT/summary.txt" 2>&1
timeout -k 5 "${DEV_S:-360}" python3 benchmarks/dev/fused_dev.py --out "$L/dev" --rep 100 --dtype16 ${SHAPE:+--shape "$SHAPE"} \
    --variants "${VARIANTS:-A5,I,S5,SI,K5,SK5,SKLw,C5,N5cl,SL5,S5m96,AL5m128,KL5r,SKL5r}" > "$OUT/dev.log" 2>&1
echo "dev rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
cp "$L/dev/fused_dev.json" "$OUT/dev.json" 2>/dev/null
left=$(( ${DEADLINE_S:-540} - ($(date +%s) - t0) - 15 ))
if [ "$left" -gt 60 ]; then
    FUSEFUZZ_PATHS_PROFILE=gpu FUSEFUZZ_PATHS_EXAMPLES=${EXAMPLES:-150} timeout -k 5 "$left" \
        python3 -m pytest -q -p no:cacheprovider tests/test_fused_paths.py -x -k contract > "$OUT/fuzz.log" 2>&1
    echo "fuzz rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/summary.txt"
else
    echo "fuzz not run: ${left}s left" >> "$OUT/summary.txt"
fi
python3 - "$OUT/dev.json" >> "$OUT/summary.txt" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r.get("device"), "torch", r.get("torch"), "triton", r.get("triton"))
print(f"| variant | fp32 ms | det ms | fp16 ms | bf16 ms | stage only ms | err tf32 | error |")
print("|---|---|---|---|---|---|---|---|")
for name, v in r.get("variants", {}).items():
    f = lambda k: f"{v[k]:.3f}" if isinstance(v.get(k), float) else "-"
    e = v.get("errors", {}).get("headline/tf32")
    print(f"| {name} | {f('ms')} | {f('ms_det')} | {f('ms_fp16')} | {f('ms_bf16')} | {f('ms_stage_only')} | "
          f"{e:.1e} | {v.get('error', '')[:60]} |" if e is not None else f"| {name} | - | - | - | - | - | - | {v.get('error', '')[:80]} |")
PY
tail -n 3 "$OUT/fuzz.log" >> "$OUT/summary.txt" 2>/dev/null
cat "$OUT/summary.txt"
