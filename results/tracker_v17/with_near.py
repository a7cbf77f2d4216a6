"""python results/tracker_v17/with_near.py FLOOR pose-track-args...: the CLI with proposer.NEAR_PRESENCE set (1.0: off)."""
import sys
import pose_track.tracker.proposer as p
p.NEAR_PRESENCE = float(sys.argv[1])
sys.argv = ["pose-track"] + sys.argv[2:]
from pose_track.cli import main
main()
