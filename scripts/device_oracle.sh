#!/usr/bin/env bash
# Oracle-strength columns on a GPU machine: KernelBench-style check at the headline shape and fusefuzz's
# ci profile, each zoo member in its own process (crashes and hangs cost one row).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_DATABASE=${TMPDIR:-/tmp}/ff-db FUSEFUZZ_CHECKS=all
OUT=${OUT:-/tmp/ff-out}; mkdir -p "$OUT"
{
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
only=(); for m in ${ONLY:-}; do only+=(--only "$m"); done
case "${COLUMN:-kernelbench}" in
  kernelbench)
    python3 scripts/oracle_table.py kernelbench --isolate-members 60 "${only[@]}" \
        --out "$OUT/oracle-kernelbench-gpu${PART:-}.json" ;;
  fusefuzz)
    python3 scripts/oracle_table.py fusefuzz --profile ci --isolate-members "${MEMBER_LIMIT:-120}" "${only[@]}" \
        --out "$OUT/oracle-fusefuzz-gpu${PART:-}.json" ;;
esac
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | grep -v "Warning\|warn(" | tee "$OUT/oracle.log"
