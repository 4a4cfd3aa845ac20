#!/usr/bin/env bash
# One device call (about 9 minutes): issue 7's GPU evidence and the zoo members the oracle table lacked on a GPU.
#   - scripts/device_new_kernels.sh (gpu profile of the Linear+GELU and LayerNorm kernels, then their benchmark)
#   - at the same time: scripts/device_kernelbench.sh (five references x good/broken candidates) and the oracle
#     rows of zoo 17 (OOB store) and 29 (hang, --timeout 20), then `check --sanitize` on 17
# Everything lands in $OUT/round1.tgz (the device tool returns few files); short tables are printed last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
W=${TMPDIR:-/tmp}/round1; rm -rf "$W"; mkdir -p "$W/new" "$W/kb" "$W/zoo"
t0=$(date +%s)
OUT=$W/new FUZZ_S=${FUZZ_S:-300} BENCH_S=${BENCH_S:-170} bash scripts/device_new_kernels.sh > "$W/new.txt" 2>&1 &
NEW=$!
OUT=$W/kb KB_LIMIT=${KB_LIMIT:-30} bash scripts/device_kernelbench.sh > "$W/kb.txt" 2>&1 &
KB=$!
{
  FUSEFUZZ_CHECKS=all FUSEFUZZ_DATABASE=$W/zoo/db python3 scripts/oracle_table.py fusefuzz --profile ci \
      --isolate-members 170 --timeout 20 --only 17_oob_store --only 29_timeout_zero_row_step \
      --out "$W/zoo/oracle-fusefuzz-gpu-17-29.json"
  echo "oracle rows exit $? after $(( $(date +%s) - t0 )) s"
  timeout -s TERM 150 python3 -m fusefuzz.harness.cli check tests/zoo/17_oob_store.py --profile gpu --max-examples 30 \
      --seed 0 --sanitize --json "$W/zoo/sanitize-17.json" --repro-dir "$W/zoo/repros"
  echo "sanitize 17 exit $? after $(( $(date +%s) - t0 )) s"
} > "$W/zoo.txt" 2>&1
wait $KB; echo "kernelbench done after $(( $(date +%s) - t0 )) s"
wait $NEW; echo "new kernels done after $(( $(date +%s) - t0 )) s"
tar -czf "$OUT/round1.tgz" -C "$W" . 2>/dev/null
echo "== zoo 17 / 29 on the GPU, sanitize =="; grep -v "Warning\|warn(" "$W/zoo.txt" | cut -c1-300 | tail -25
echo "== kernelbench references =="; tail -14 "$W/kb.txt"
echo "== new kernels =="; tail -22 "$W/new.txt"
echo "total $(( $(date +%s) - t0 )) s"
