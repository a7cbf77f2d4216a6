import time, numpy as np, onnxruntime as ort, sys
path = "models/deeppose_lsp/onnx/stage1.onnx"
x = (np.random.default_rng(0).random((1, 3, 192, 192)) * 255).astype(np.float32)
def sess(**cfg):
    so = ort.SessionOptions(); so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for k, v in cfg.items():
        if k == "arena": so.enable_cpu_mem_arena = v
        elif k == "seq": so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        else: so.add_session_config_entry(k, v)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
variants = {"base": {}, "denormal0": {"session.set_denormal_as_zero": "1"}, "no_arena": {"arena": False},
            "fast_gelu_etc": {"optimization.enable_gelu_approximation": "1"},
            "dynamic_block": {"session.dynamic_block_base": "4"}}
ss = {k: sess(**v) for k, v in variants.items()}
for rnd in range(3):
    for k, s in ss.items():
        for _ in range(10): s.run(None, {"image": x})
        t = time.perf_counter()
        for _ in range(60): s.run(None, {"image": x})
        print(rnd, k, f"{(time.perf_counter() - t) / 60 * 1000:.2f} ms", flush=True)
