import onnxruntime as ort, numpy as np, json, sys, collections, glob, os
path = sys.argv[1]; batch = int(sys.argv[2]); size = int(sys.argv[3])
so = ort.SessionOptions(); so.enable_profiling = True; so.intra_op_num_threads = 2
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = (np.random.rand(batch, 3, size, size) * 255).astype(np.float32)
name = s.get_inputs()[0].name
for _ in range(200): s.run(None, {name: x})
prof = s.end_profiling()
ev = json.load(open(prof)); os.remove(prof)
tot = collections.Counter(); cnt = collections.Counter()
for e in ev:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        op = e["args"].get("op_name"); tot[op] += e["dur"]; cnt[op] += 1
runs = 200
all_ = sum(tot.values())
for op, d in tot.most_common(15): print(f"{op:28s} {d/runs/1000:7.3f} ms/run {100*d/all_:5.1f}%  n/run={cnt[op]//runs}")
print("total", all_/runs/1000)
