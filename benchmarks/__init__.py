"""Benchmarks: engine speed, tracking on synthetic clips and on the hard clips, the person finder against OpenCV's
HOG detector, and side by side with MediaPipe Pose."""
