import onnxruntime as ort, numpy as np, json, sys, collections, os
path = sys.argv[1]; batch = int(sys.argv[2]); size = int(sys.argv[3])
so = ort.SessionOptions(); so.enable_profiling = True; so.intra_op_num_threads = 2
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = (np.random.rand(batch, 3, size, size) * 255).astype(np.float32)
name = s.get_inputs()[0].name
for _ in range(200): s.run(None, {name: x})
prof = s.end_profiling(); ev = json.load(open(prof)); os.remove(prof)
tot = collections.Counter(); shape = {}
for e in ev:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        tot[e["name"][:-12]] += e["dur"]; shape[e["name"][:-12]] = (e["args"].get("op_name"), e["args"].get("output_type_shape"))
all_ = sum(tot.values())
for n, d in tot.most_common(25): print(f"{d/200/1000:6.3f} {100*d/all_:5.1f}% {n[:60]:60s} {shape[n]}")
