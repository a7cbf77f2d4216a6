"""Person head alone on mean B's frozen stage 1, the v3 recipe otherwise; stops after stage 1.
Usage: pilot_head.py OUT EPOCHS [key=value ...]"""
import json, sys
from pose_track.training.settings import TrainConfig
from pose_track.training.train import train
out, epochs = sys.argv[1], float(sys.argv[2])
s = json.load(open("recipes/deeppose_lsp.json")); s.pop("command", None)
s.update(out=out, epochs=epochs, init_from=["recipes/deeppose_lsp_v1.pt"], refiner_epochs=0, person_head_only=True, lr=1e-3)
stop = "stage1"
for kv in sys.argv[3:]:
    k, v = kv.split("=")
    if k == "stop":
        stop = None if v == "none" else v; continue
    s[k] = json.loads(v)
print(train(TrainConfig.from_settings(s), stop_after=stop))
