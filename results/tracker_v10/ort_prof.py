import onnxruntime as ort, numpy as np, json, sys, collections, glob, os
path = sys.argv[1]
so = ort.SessionOptions(); so.enable_profiling = True; so.profile_file_prefix = "runs/s10/ortprof"
so.intra_op_num_threads = 2
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = s.get_inputs()[0]; shape = [d if isinstance(d, int) else int(sys.argv[2]) for d in inp.shape]
x = np.random.rand(*shape).astype(np.float32) * 255
for _ in range(200): s.run(None, {inp.name: x})
f = s.end_profiling()
ev = json.load(open(f)); os.remove(f)
by_op = collections.Counter(); by_node = collections.Counter(); total = 0
runs = [e for e in ev if e.get("name") == "model_run"]
for e in ev:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        by_op[e["args"]["op_name"]] += e["dur"]; by_node[e["name"]] += e["dur"]
n = len(runs)
print("model_run us", np.median([e["dur"] for e in runs]), "sum kernels per run", sum(by_op.values()) / n)
for k, v in by_op.most_common(15): print(f"{k:30s} {v / n:8.1f} us")
print("--- nodes")
for k, v in by_node.most_common(25): print(f"{k[:70]:70s} {v / n:8.1f} us")
