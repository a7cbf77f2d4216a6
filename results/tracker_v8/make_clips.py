import cv2
def make(src, dst, n, crop43):
    cap = cv2.VideoCapture(src); fps = cap.get(cv2.CAP_PROP_FPS)
    out = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480)); k = 0
    while k < n:
        ok, f = cap.read()
        if not ok: break
        if crop43:
            h, w = f.shape[:2]; cw = int(h * 4 / 3); x0 = (w - cw) // 2; f = f[:, x0:x0 + cw]
        out.write(cv2.resize(f, (640, 480), interpolation=cv2.INTER_AREA)); k += 1
    out.release(); print(dst, k)
make("../shared/data/real/vtest.avi", "clip640.mp4", 300, False)
make("../shared/data/real/sports2d_demo.mp4", "sports2d640.mp4", 300, True)
