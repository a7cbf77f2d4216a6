"""The first frame of a track on a 1280x720 grass frame with scikit-image's astronaut pasted small (side px at x, y):
joints found with and without the first-sight search. Run from the repository."""
import sys; sys.path.insert(0, "tests")
import numpy as np, cv2
from test_person_finder import grass_frame, paste, photo_point, FACE, CHEST
from pose_track.commands.demo import sample_photo_path
from pose_track.tracker.loop import Tracker
photo = cv2.imread(sample_photo_path()); grass = grass_frame()
for side, x, y in ((100, 1100, 560), (120, 600, 300), (130, 60, 500), (160, 1050, 60), (200, 100, 80), (240, 900, 400), (300, 500, 300)):
    frame = paste(grass, photo, side, x, y)
    for first in (True, False):
        t = Tracker()
        if not first:
            t._first_sight = False
            t.reset = lambda: None
        t._first_sight = first
        r = t(frame, 0.0)
        ok = np.isfinite(r.raw).all(1)
        print(side, x, y, "search" if first else "no search", ok.sum(), r.lost)
