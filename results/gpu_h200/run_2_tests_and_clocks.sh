#!/usr/bin/env bash
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/pose_track
export PYTHONPATH=/tmp/pp:/tmp/site
timeout 150 python3 -m pytest -p no:cacheprovider -q -rs tests/test_engines_torch_cuda.py 2>&1 | tee $OUT/pytest_cuda.txt | tail -30
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,utilization.gpu --format=csv -lms 250 > $OUT/clocks.txt 2>&1 &
timeout 150 python3 .gpu/clock_probe.py 2>&1 | tee $OUT/clock_probe.txt
kill %1 2>/dev/null; true
