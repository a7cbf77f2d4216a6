set -x
M=runs/s15/teach_run; R=results/model_teacher; mkdir -p $R
.venv/bin/python results/model_sharpness_pilot/validate.py $M/model.pt > $R/validation_heldout.json 2>$R/validation_heldout.err
.venv/bin/python results/model_fewer_negatives_pilot/ensemble_probe.py models/deeppose_lsp/checkpoint.pt recipes/deeppose_lsp_v1.pt $M/model.pt > $R/stage1_probe.txt 2>&1
.venv/bin/pose-track build-engine $M/model.pt --no-flip-average --scales none -o runs/s15/cand_onnx > $R/build_onnx.txt 2>&1
.venv/bin/python results/model_blur_pilot/val_clips.py runs/s15/cand_onnx > $R/val_clips.txt 2>&1
echo VALIDATION_DONE
