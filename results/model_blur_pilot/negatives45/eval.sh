P=.venv/bin/pose-track
R=runs/s14/blur40n_eval; mkdir -p $R
$P build-engine runs/s14/blur40n/model.pt --no-flip-average --scales none -o runs/s14/blur40n_onnx > $R/build_onnx.txt 2>&1
$P build-engine runs/s14/blur40n/model.pt --no-flip-average --scales none --precision int8 --calib runs/calib_lsp -o runs/s14/blur40n_int8 > $R/build_int8.txt 2>&1
.venv/bin/python results/model_blur_pilot/val_clips.py runs/s14/blur40n_onnx > $R/val_clips.txt 2>&1
$P eval-framing --engine runs/s14/blur40n_int8 --limit 100 --json $R/framing_int8.json > $R/framing_int8.txt 2>&1
$P eval-framing --engine runs/s14/blur40n_onnx --limit 100 --json $R/framing_onnx.json > $R/framing_onnx.txt 2>&1
echo EVAL_DONE
