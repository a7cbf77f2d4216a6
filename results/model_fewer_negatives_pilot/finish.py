"""Runs the phases left in a pilot's run folder (error bank, refiner with 0 passes, fits) with the pilot's settings.
Usage: finish.py OUT EPOCHS [key=value ...] (as pilot.py was given)"""
import json, sys
from pose_track.training.settings import TrainConfig
from pose_track.training.train import train
out, epochs = sys.argv[1], float(sys.argv[2])
s = json.load(open("recipes/deeppose_lsp.json")); s.pop("command", None)
s.update(out=out, epochs=epochs, init_from=["models/deeppose_lsp/checkpoint.pt"], refiner_epochs=0)
for kv in sys.argv[3:]:
    k, v = kv.split("="); s[k] = json.loads(v)
print(train(TrainConfig.from_settings(s)))
