"""Stage-1 fine-tune pilot from model v3 with the shipped recipe; stops after stage 1.
Usage: pilot.py OUT EPOCHS UNUSED [key=value ...]"""
import json, sys
from pose_track.training.settings import TrainConfig
from pose_track.training.train import train
out, epochs, freeze = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
s = json.load(open("recipes/deeppose_lsp.json")); s.pop("command", None)
s.update(out=out, epochs=epochs, init_from=["models/deeppose_lsp/checkpoint.pt"], refiner_epochs=0)
for kv in sys.argv[4:]:
    k, v = kv.split("="); s[k] = json.loads(v)
print(train(TrainConfig.from_settings(s), stop_after="stage1"))
