#!/usr/bin/env bash
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/pose_track
export PYTHONPATH=/tmp/pp:/tmp/site
PT() { python3 -W ignore -c "from pose_track.cli import main; main()" "$@"; }
CK=models/deeppose_lsp/checkpoint.pt
timeout 80 python3 -W ignore -m pytest -p no:cacheprovider -q tests/test_engines_torch_cuda.py 2>&1 | tail -3 | tee $OUT/pytest_cuda.txt
for clip in .gpu/sports2d_demo.mp4 .gpu/clip640.mp4; do
  s=$(date +%s.%N); timeout 60 bash -c "$(declare -f PT); PT video $clip --engine $CK --cuda --half --cuda-graphs --csv $OUT/$(basename $clip).csv" 2>&1 | tail -1; e=$(date +%s.%N)
  echo "  $(python3 -c "print(round($e - $s, 2))") s wall, process start to end"
done 2>&1 | tee $OUT/video_cuda.txt
