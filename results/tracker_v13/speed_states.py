import time, numpy as np, onnxruntime as ort, sys
from pose_track.engines import onnxruntime_backend as ob
threads = int(sys.argv[1]) if len(sys.argv) > 1 else None
so = ob.session_options(threads)
s1 = ort.InferenceSession("models/deeppose_lsp/onnx/stage1.onnx", sess_options=so, providers=["CPUExecutionProvider"])
x1 = np.random.default_rng(0).integers(0, 256, (1, 3, 192, 192)).astype(np.float32)
n1 = s1.get_inputs()[0].name
for _ in range(10): s1.run(None, {n1: x1})
t0 = time.perf_counter(); c0 = time.process_time()
line = []
for chunk in range(12):
    ts = []
    for i in range(50):
        a = time.perf_counter(); s1.run(None, {n1: x1}); ts.append(time.perf_counter() - a)
    line.append(f"{np.median(ts)*1e3:.1f}")
print("threads", threads, "medians per 50:", " ".join(line), f"cpu/wall {(time.process_time()-c0)/(time.perf_counter()-t0):.2f}")
