"""The chest-up set of `pose-track eval-framing` (LSP test people framed from above the head to mid-torso, 4:3) with
the closer box of a chest-up body as it was before CHEST_UP_BOX_SCALE (1.85, the waist-up box), per bundle.
Usage: chest_up_lsp_before.py [BUNDLE] [SCALE]   (default: the stills bundle, 1.85)"""
import sys
import pose_track.engines.geometry as G
from pose_track.commands.model import load_estimator
from pose_track.training.datasets import lsp_test, resolve_data_root
from pose_track.training.framing_eval import chest_up, evaluate_framing
G.CHEST_UP_BOX_SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.85
bundle = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "-" else None
est = load_estimator(bundle, stills=True)
r = evaluate_framing(est, [], [], [], chest_up_set=chest_up(lsp_test(resolve_data_root("../shared/data")[0])))
print(f"{bundle or 'stills bundle'}, chest-up box {G.CHEST_UP_BOX_SCALE}: {r['chest_up_images']} people, found "
      f"{r['chest_up_person_found']}, PCK@0.2 {r['chest_up_pck']:.3f}, hips reported inside {r['chest_up_hips_reported_inside']:.1%}")
