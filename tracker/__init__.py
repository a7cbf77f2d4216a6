"""The tracker: capture, the per-frame loop, crop seeding and re-acquisition, smoothing, rendering, sinks.

Modules: capture (sources -> Frame), loop (Tracker.step -> TrackResult), proposer (each frame's box: seeded,
re-acquired, the drift check), person_finder (where a person is when there is no track), loss (when the track
is lost), appearance (the tracked person's look, shot changes), camera_motion (the camera's shift between
frames), smoothing and kalman (the batched Kalman filter, look-ahead and RTS), sinks (CSV, NDJSON, UDP), render
(skeleton drawing, annotated video, live window), run (process_source). The `video` and `webcam` commands are in
commands/; synthetic clips with exact ground truth in benchmarks.clipmaker.
No module here imports torch or onnxruntime; the model comes from engines.backends.load_cascade.
"""
