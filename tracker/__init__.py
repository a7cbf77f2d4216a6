"""The tracker: capture, the per-frame loop, crop seeding and re-acquisition, smoothing, rendering, sinks.

Modules: capture (sources -> Frame), loop (Tracker.step -> TrackResult), smoothing (Kalman / RTS),
sinks (CSV, NDJSON, UDP), render (skeleton drawing, annotated video, live window), clipmaker (synthetic
clips with exact ground truth), run (process_source), commands (the `video` and `webcam` click commands).
No module here imports torch or onnxruntime; the model comes from engines.backends.load_cascade.
"""
