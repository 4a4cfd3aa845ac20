#!/usr/bin/env bash
# `fusefuzz check CANDIDATE --reference REF` on a GPU for the five example references (issue 7, part 1):
# every correct Triton candidate must pass, every deliberately broken one must fail with its bug's kind.
# Run from the repo root on the device machine: bash scripts/device_kernelbench.sh
# KB_PARALLEL=1 runs the ten campaigns at once. Uses the machine's torch/triton; the package is used from the checkout (nothing is installed).
# Writes $OUT/kernelbench.log, one JSON report per campaign and repro scripts; prints a table last.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 FUSEFUZZ_DATABASE=${TMPDIR:-/tmp}/ff-kb-db CI=true
OUT=${OUT:-/tmp/ff-kb-out}; mkdir -p "$OUT"
EXAMPLES=${KB_EXAMPLES:-30}   # per campaign; the gpu profile draws sizes up to the declared values
LIMIT=${KB_LIMIT:-35}         # seconds per campaign (SIGTERM: the .partial report keeps what was found)
R=examples/references; C=examples/candidates
# reference  candidate  expected
CASES="
level1_matmul matmul_triton pass
level1_matmul matmul_triton_k_tail fail
level1_softmax softmax_triton pass
level1_softmax softmax_triton_no_max fail
level1_sum_reduction sum_reduction_triton pass
level1_sum_reduction sum_reduction_square_only fail
level2_gemm_relu_divide gemm_relu_divide_triton pass
level2_gemm_relu_divide gemm_relu_divide_rows_grid fail
level2_conv2d_relu_biasadd conv2d_relu_biasadd_triton pass
level2_conv2d_relu_biasadd conv2d_relu_biasadd_contiguous_only fail
"
{
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch, triton, hypothesis; print('torch', torch.__version__, 'triton', triton.__version__, 'hypothesis', hypothesis.__version__)"
t0=$(date +%s)
one() {  # one REF CAND WANT: a campaign, then its CASE line
  local ref=$1 cand=$2 want=$3 s code
  s=$(date +%s)
  FUSEFUZZ_DATABASE=$FUSEFUZZ_DATABASE-$cand timeout -s TERM "$LIMIT" python3 -m fusefuzz.harness.cli check "$C/$cand.py" \
    --reference "$R/$ref.py" --profile gpu --max-examples "$EXAMPLES" --seed 0 --json "$OUT/$cand.json" \
    --repro-dir "$OUT/repros"
  code=$?
  echo "CASE $ref $cand want=$want exit=$code seconds=$(( $(date +%s) - s ))"
}
if [ -n "${KB_PARALLEL:-}" ]; then  # every case at once (each its own process and log), logs joined in order
  while read -r ref cand want; do
    [ -z "$ref" ] && continue
    one "$ref" "$cand" "$want" > "$OUT/$cand.log" 2>&1 &
  done <<< "$CASES"
  wait
  while read -r ref cand want; do [ -n "$ref" ] && cat "$OUT/$cand.log"; done <<< "$CASES"
else
  while read -r ref cand want; do
    [ -z "$ref" ] && continue
    one "$ref" "$cand" "$want"
  done <<< "$CASES"
fi
echo "total $(( $(date +%s) - t0 )) s"
} 2>&1 | grep -v "Warning\|warn(" > "$OUT/kernelbench.log"

# the table (from the JSON reports; a campaign cut by the time limit reads its .partial file)
python3 - "$OUT" <<'EOF'
import json, os, re, sys
out = sys.argv[1]
log = open(os.path.join(out, "kernelbench.log")).read()
print(log.splitlines()[0] if log else "no log")
print(f"{'candidate':38} {'want':5} {'exit':4} {'verdict':11} {'ex':>4} {'s':>4}  kinds / minimal example / notes")
ok = True
for m in re.finditer(r"CASE (\S+) (\S+) want=(\S+) exit=(\d+) seconds=(\d+)", log):
    ref, cand, want, code, secs = m.groups()
    path = os.path.join(out, cand + ".json")
    rep = {}
    for p in (path, path + ".partial"):
        if os.path.exists(p):
            rep = json.load(open(p)); break
    fails = rep.get("failures", [])
    verdict = rep.get("verdict") or rep.get("status", "?")
    # a broken candidate is caught when a failure was recorded, also when the time limit stopped its shrinking
    good = (want == "pass" and code == "0") or (want == "fail" and (code == "1" or bool(fails)))
    ok &= good
    detail = "; ".join(f"{f['kind']}: " + " ".join(f"{k}={v}" for k, v in f["example"].items()
                                                     if k not in ("distribution", "seed")) for f in fails[:2])
    notes = " | ".join(rep.get("notes", []) + ([rep["error"]] if rep.get("error") else []))
    unsup = sum(u["examples"] for u in rep.get("unsupported", []))
    print(f"{cand:38} {want:5} {code:4} {verdict:11} {rep.get('examples_run', '?'):>4} {secs:>4}  "
          f"{'OK ' if good else 'BAD'}{' (shrink cut by the limit)' if good and code == '124' else ''} {detail}{' unsupported=' + str(unsup) if unsup else ''} {notes}"[:400])
print("ALL AS EXPECTED" if ok else "SOME CASES NOT AS EXPECTED (see kernelbench.log and the JSON reports)")
EOF
