#!/usr/bin/env bash
# The GPU check: torch backend on CUDA (tests, bench fp32 / fp16 / fp16 + CUDA graphs). Run from the repo root.
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/pose_track
export PYTHONPATH=/tmp/pp:/tmp/site
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee $OUT/gpu.txt
python3 -c "import torch,onnxruntime,cv2,numpy,scipy,click;print('torch',torch.__version__,torch.version.cuda,torch.cuda.is_available(),'cudnn',torch.backends.cudnn.version(),'ort',onnxruntime.__version__,onnxruntime.get_available_providers(),'cv2',cv2.__version__,'numpy',numpy.__version__)" 2>&1 | tee -a $OUT/gpu.txt
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a $OUT/gpu.txt
timeout 150 python3 -m pytest -p no:cacheprovider -q -rs tests/test_engines_torch_cuda.py tests/test_engines_tensorrt.py 2>&1 | tee $OUT/pytest_cuda.txt
PT() { python3 -c "from pose_track.cli import main; main()" "$@"; }
CK=models/deeppose_lsp/checkpoint.pt
timeout 120 bash -c "$(declare -f PT); PT bench --engine $CK --backend torch --device cuda --data .gpu --images 1000 --json $OUT/bench_cuda_fp32.json" 2>&1 | tee $OUT/bench_cuda_fp32.txt
timeout 120 bash -c "$(declare -f PT); PT bench --engine $CK --backend torch --device cuda --half --data .gpu --images 1000 --json $OUT/bench_cuda_fp16.json" 2>&1 | tee $OUT/bench_cuda_fp16.txt
timeout 120 bash -c "$(declare -f PT); PT bench --engine $CK --backend torch --device cuda --half --cuda-graphs --data .gpu --images 200 --json $OUT/bench_cuda_fp16_graphs.json" 2>&1 | tee $OUT/bench_cuda_fp16_graphs.txt
