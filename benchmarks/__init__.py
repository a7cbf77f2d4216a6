"""Benchmarks: engine speed, tracking on synthetic clips, and side by side with MediaPipe Pose."""
