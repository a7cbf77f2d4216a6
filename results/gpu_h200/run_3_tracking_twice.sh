#!/usr/bin/env bash
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 1
mkdir -p /tmp/pp && ln -sfn "$PWD" /tmp/pp/pose_track
export PYTHONPATH=/tmp/pp:/tmp/site
timeout 120 python3 .gpu/track_probe.py 1 1 cuda 2>&1 | grep -v Warn | tee $OUT/track_probe_fp16_graphs.txt
timeout 120 python3 .gpu/track_probe.py 1 0 cuda 2>&1 | grep -v Warn | tee $OUT/track_probe_fp16.txt
