"""Joint order, names, left/right swap and limbs (LSP, person-centric left/right)."""

JOINT_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle",
    "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
    "neck", "head_top",
)
NUM_JOINTS = len(JOINT_NAMES)
J = {name: i for i, name in enumerate(JOINT_NAMES)}

# Index of the joint that takes this joint's place after a horizontal flip.
FLIP_PERMUTATION = (5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13)

# Limbs for PCP, grouped by the paper's classes.
LIMBS = {
    "upper_arm": ((J["r_shoulder"], J["r_elbow"]), (J["l_shoulder"], J["l_elbow"])),
    "lower_arm": ((J["r_elbow"], J["r_wrist"]), (J["l_elbow"], J["l_wrist"])),
    "upper_leg": ((J["r_hip"], J["r_knee"]), (J["l_hip"], J["l_knee"])),
    "lower_leg": ((J["r_knee"], J["r_ankle"]), (J["l_knee"], J["l_ankle"])),
    "torso": ((J["neck"], J["r_hip"]), (J["neck"], J["l_hip"])),
    "head": ((J["neck"], J["head_top"]),),
}
LIMB_CLASSES_FOR_AVERAGE = ("upper_arm", "lower_arm", "upper_leg", "lower_leg")

# Skeleton edges for drawing.
SKELETON = (
    (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (12, 9), (9, 10), (10, 11),
    (8, 2), (9, 3), (12, 13),
)

# Torso diameter: the distance between opposite shoulder and hip (both diagonals; the mean when both exist).
TORSO_DIAGONALS = ((J["l_shoulder"], J["r_hip"]), (J["r_shoulder"], J["l_hip"]))
