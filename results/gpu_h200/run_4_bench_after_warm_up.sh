#!/usr/bin/env bash
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/pose_track
export PYTHONPATH=/tmp/pp:/tmp/site
PT() { python3 -W ignore -c "from pose_track.cli import main; main()" "$@"; }
CK=models/deeppose_lsp/checkpoint.pt
timeout 100 python3 -W ignore -m pytest -p no:cacheprovider -q tests/test_engines_torch_cuda.py 2>&1 | tail -2 | tee $OUT/pytest_cuda.txt
PT bench --engine $CK --backend torch --device cuda --half --cuda-graphs --data .gpu --images 0 --json $OUT/bench_cuda_fp16_graphs.json 2>&1 | tee $OUT/bench_cuda_fp16_graphs.txt
PT bench --engine $CK --backend torch --device cuda --cuda-graphs --data .gpu --images 0 --json $OUT/bench_cuda_fp32_graphs.json 2>&1 | tee $OUT/bench_cuda_fp32_graphs.txt
