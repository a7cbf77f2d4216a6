"""pose-track: DeepPose (Toshev & Szegedy, CVPR 2014) as a real-time video pose tracker.

    from pose_track import PoseEstimator, Tracker
    estimator = PoseEstimator()               # the shipped model on ONNX Runtime, CPU
    pose = estimator(image_bgr)               # Pose: joints, confidence, in_picture, presence, found
    tracker = Tracker()                       # the shipped video bundle
    result = tracker(frame_bgr, time_s)       # TrackResult: the Pose, the smoothed joints, the track state
"""

_PUBLIC = {"PoseEstimator": "engines.estimator", "Pose": "engines.estimator", "Tracker": "tracker.loop",
           "TrackResult": "tracker.loop"}


def __getattr__(name):
    # Imported on first use: `pose-track --help` and Ctrl-C handling start before numpy and OpenCV load.
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
