import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))

# A standing pose (pixels in a 120 x 160 image), LSP joint order.
STANDING = np.array([
    [50, 150], [52, 120], [53, 90], [67, 90], [68, 120], [70, 150],
    [40, 95], [42, 70], [48, 45], [72, 45], [78, 70], [80, 95],
    [60, 40], [60, 15]], np.float32)


def draw_person(joints, size=(160, 120), seed=0):
    import cv2
    from pose_track.engines.joints import SKELETON

    rng = np.random.default_rng(seed)
    image = rng.integers(60, 120, (size[0], size[1], 3), dtype=np.uint8)
    for a, b in SKELETON:
        cv2.line(image, tuple(int(v) for v in joints[a]), tuple(int(v) for v in joints[b]), (230, 200, 40), 4)
    for k, p in enumerate(joints):
        cv2.circle(image, tuple(int(v) for v in p), 4, (20 * k % 255, 40, 255 - 15 * k), -1)
    return image

def refused_in_one_line(result, exit_code=None) -> str:
    """A command's refusal (a click CliRunner result): one `Error:` line, the output's last, no traceback, and a
    non-zero exit (`exit_code` where given). Before it may come the progress line naming the input, or click's
    usage lines for a usage error (exit 2). Returns the line."""
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert isinstance(result.exception, SystemExit) and result.exit_code != 0, result.output
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert result.output.strip().splitlines()[-1] == errors[0], result.output
    assert exit_code is None or result.exit_code == exit_code, result.output
    return errors[0]


def make_fake_lsp(root, n=12, seed=0):
    """An LSP-layout folder (images/imNNNN.jpg + joints.mat 3x14xN) of drawn stick figures."""
    import cv2
    import scipy.io

    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    joints = np.zeros((3, 14, n))
    for i in range(n):
        pose = STANDING + rng.normal(0, 3, STANDING.shape).astype(np.float32)
        if i % 2:
            pose[:, 0] = 119 - pose[:, 0]
        cv2.imwrite(os.path.join(root, "images", f"im{i + 1:04d}.jpg"), draw_person(pose, seed=i))
        joints[:2, :, i] = pose.T
    scipy.io.savemat(os.path.join(root, "joints.mat"), {"joints": joints})
    return root


@pytest.fixture(scope="session")
def fake_lsp(tmp_path_factory):
    return make_fake_lsp(str(tmp_path_factory.mktemp("fake_lsp")))


@pytest.fixture(scope="session")
def lsp_data():
    root = os.path.join(SHARED_DATA, "lsp")
    if not os.path.isfile(os.path.join(root, "joints.mat")):
        pytest.skip(f"LSP data not present at {root}")
    return root
