import sys, time, cv2, mediapipe as mp
cap = cv2.VideoCapture(sys.argv[1]); frames = found = 0; t0 = time.perf_counter()
with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
    while True:
        ok, frame = cap.read()
        if not ok: break
        r = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)); frames += 1; found += r.pose_landmarks is not None
print(f"mediapipe {sys.argv[1]}: {frames} frames, pose on {found}, {time.perf_counter() - t0:.2f} s end to end")
