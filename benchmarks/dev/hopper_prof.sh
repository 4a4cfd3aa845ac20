export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
echo "ncu: $NCU"
for v in rows rows2pn; do
  timeout 150 $NCU --clock-control none -k regex:rows_kernel --launch-skip 2 --launch-count 1 --set full --import-source no \
    -o $OUT/$v python3 benchmarks/dev/hopper_dev.py --out $OUT --profile-run $v > $OUT/ncu_$v.log 2>&1
  echo "$v rc=$?"; tail -3 $OUT/ncu_$v.log
  $NCU -i $OUT/$v.ncu-rep --page details > $OUT/details_$v.txt 2>&1
  $NCU -i $OUT/$v.ncu-rep --page source --print-source sass --csv > $OUT/sass_$v.csv 2>&1
  grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Warp Cycles Per Issued|No Eligible|Shared Memory|L1/TEX Hit|Tensor|Executed Ipc|Registers Per|Achieved Occ|Stall" $OUT/details_$v.txt | head -40
done
ls -la $OUT
