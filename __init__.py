"""pose-track: DeepPose (Toshev & Szegedy, CVPR 2014) as a real-time video pose tracker.

    from pose_track.engines.backends import load_cascade
    from pose_track.tracker.loop import Tracker
"""
