"""The model files in the repository belong together: both bundles were built from the shipped checkpoint."""
import os

import numpy as np
import pytest

from pose_track.engines.backends import DEFAULT_CHECKPOINT, DEFAULT_MODEL_DIR, load_cascade
from pose_track.engines.bundle import check_checkpoint, read_manifest

from conftest import STANDING, draw_person

BUNDLES = ("onnx", "int8", "onnx_mirror")


@pytest.mark.parametrize("name", BUNDLES)
def test_shipped_bundle_was_built_from_the_shipped_checkpoint(name):
    path = os.path.join(DEFAULT_MODEL_DIR, name)
    check_checkpoint(read_manifest(path), DEFAULT_CHECKPOINT, path)      # raises on a stale bundle


def test_shipped_fp32_and_int8_bundles_agree_on_a_drawn_person():
    image = draw_person(STANDING)
    h, w = image.shape[:2]
    box = np.array([[w / 2, h / 2, max(h, w)]], np.float32)
    fp32, int8 = (load_cascade(os.path.join(DEFAULT_MODEL_DIR, n)).predict(image, box).joints[0] for n in BUNDLES[:2])
    diam = np.linalg.norm(STANDING[8] - STANDING[3])
    assert np.median(np.linalg.norm(fp32 - int8, axis=-1)) < 0.1 * diam


def test_stills_commands_default_to_the_mirror_view_build_and_the_rest_to_the_plain_one():
    plain, stills = load_cascade(), load_cascade(stills=True)
    assert not plain.config.decoding.stage1_flip and stills.config.decoding.stage1_flip
    assert plain.config.decoding.decode_window == stills.config.decoding.decode_window > 0
    image = draw_person(STANDING)
    h, w = image.shape[:2]
    box = np.array([[w / 2, h / 2, max(h, w)]], np.float32)
    a, b = plain.predict(image, box).joints[0], stills.predict(image, box).joints[0]
    diam = np.linalg.norm(STANDING[8] - STANDING[3])
    # The same weights: close answers, but not the same graph.
    assert 0 < np.median(np.linalg.norm(a - b, axis=-1)) < 0.1 * diam
