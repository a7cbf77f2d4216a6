set -x
M=runs/s15/teach_run; R=results/model_teacher; P=.venv/bin/pose-track
$P build-engine $M/model.pt -o runs/s15/cand_mirror > $R/build_mirror.txt 2>&1
$P build-engine $M/model.pt --no-flip-average --scales none --precision int8 --calib runs/calib_lsp -o runs/s15/cand_int8 > $R/build_int8.txt 2>&1
for b in mirror onnx int8; do
  $P eval --engine runs/s15/cand_$b > $R/eval_$b.txt 2>&1
  $P eval-framing --engine runs/s15/cand_$b --json $R/framing_$b.json > $R/framing_$b.txt 2>&1
done
echo SHIP_EVAL_DONE
