import numpy as np, cv2, skimage, os, sys
p=os.path.join(os.path.dirname(skimage.__file__),"data","astronaut.png")
im=cv2.imread(p)
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.bundle import *
eng = sys.argv[1] if len(sys.argv)>1 else None
est=PoseEstimator(stills=False) if eng is None else PoseEstimator(eng, stills=False)
c=est.cascade
h,w=im.shape[:2]
def probe(img,label):
    for s in (1.0,1.4):
        box=np.array([[w/2,h/2,max(h,w)*s]],np.float32)
        j,pres,ins=c.stage1(img,box)
        print(f"{label:8s} {s} pres {pres[0]:.2f} inside:"," ".join(f"{v:.2f}" for v in ins[0]))
probe(im,"orig")
for f in (0.5,0.3,0.2):
    small=cv2.resize(im,None,fx=f,fy=f,interpolation=cv2.INTER_AREA)
    probe(cv2.resize(small,(w,h)),f"down{f}")
probe(cv2.GaussianBlur(im,(0,0),3),"blur3")
g=cv2.cvtColor(cv2.cvtColor(im,cv2.COLOR_BGR2GRAY),cv2.COLOR_GRAY2BGR); probe(g,"grey")
