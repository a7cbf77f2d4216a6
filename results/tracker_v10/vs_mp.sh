# MediaPipe Pose (model_complexity 1, video mode) and pose-track video (fp32 video bundle, INT8) on the same
# 640x480 clips, one after the other, twice; every time is the whole process, start to end (/usr/bin/time).
. .venv/bin/activate
for round in 1 2; do
 for clip in runs/s8/clip640.mp4 runs/s8/sports2d640.mp4; do
  /usr/bin/time -f "  %e s wall, whole process (MediaPipe)" /tmp/mpvenv/bin/python runs/s8/mp_clip.py $clip 2>&1 | grep -v "^W0000\|^I0000\|INFO\|WARNING\|^$" | tail -2
  for eng in onnx int8; do
   /usr/bin/time -f "  %e s wall, whole process (pose-track $eng)" pose-track video $clip --engine models/deeppose_lsp/$eng --csv runs/s10/out_${eng}_$(basename $clip .mp4)_$round.csv 2>&1 | tail -2
  done
 done
done
