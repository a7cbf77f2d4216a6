"""results/model_sharpness_pilot/validate.py (the held-out split) with engines.geometry.CHEST_UP_BOX_SCALE set to
argv[1]. Usage: validate_chest_scale.py SCALE BUNDLE"""
import sys
import pose_track.engines.geometry as G
G.CHEST_UP_BOX_SCALE = float(sys.argv[1])
sys.argv = ["validate.py", sys.argv[2]]
exec(open("results/model_sharpness_pilot/validate.py").read())
