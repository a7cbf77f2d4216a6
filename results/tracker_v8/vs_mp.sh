# MediaPipe and pose-track video (fp32 video bundle, INT8) on the same clip, one after the other, twice.
. .venv/bin/activate
for round in 1 2; do
 for clip in runs/s8/clip640.mp4 runs/s8/sports2d640.mp4; do
  /tmp/mpvenv/bin/python runs/s8/mp_clip.py $clip 2>/dev/null | tail -1
  for eng in onnx int8; do
   s=$(date +%s.%N); pose-track video $clip --engine models/deeppose_lsp/$eng --csv runs/s8/out_${eng}_$(basename $clip .mp4)_$round.csv 2>&1 | tail -1 | sed "s/^/pose-track ($eng): /"; e=$(date +%s.%N)
   echo "  $(echo "$e - $s" | bc) s wall, process start to end"
  done
 done
done
