import os

import numpy as np
import pytest
import scipy.io

from pose_track.training.datasets import DatasetError, load_folder, resolve_data_root, training_set


def _write(root, joints):
    os.makedirs(root, exist_ok=True)
    scipy.io.savemat(os.path.join(root, "joints.mat"), {"joints": joints})


def test_lsp_layout_marks_every_joint_valid(tmp_path):
    arr = np.zeros((3, 14, 5)); arr[0] = 10; arr[1] = 20; arr[2, 3, 0] = 1   # flag 1 = occluded in LSP
    _write(tmp_path, arr)
    data = load_folder(str(tmp_path))
    assert data.joints.shape == (5, 14, 2) and data.valid.all()
    assert data.paths[0].endswith("im0001.jpg")
    assert not data.crowd.any()


def test_lspet_layout_masks_invisible_and_junk_joints(tmp_path):
    arr = np.ones((14, 3, 3)) * 5
    arr[2, 2, 0] = 0            # flagged invisible
    arr[4, 0, 1] = -3           # junk negative coordinate, flagged visible
    _write(tmp_path, arr)
    data = load_folder(str(tmp_path))
    assert not data.valid[0, 2] and not data.valid[1, 4] and data.valid.sum() == 14 * 3 - 2
    assert data.crowd.all()       # LSP-extended's labels come from Mechanical Turk


def test_unexpected_shape_is_a_clear_error(tmp_path):
    _write(tmp_path, np.zeros((2, 14, 4)))
    with pytest.raises(DatasetError, match="expected 3x14xN"):
        load_folder(str(tmp_path))


def test_missing_folder_and_corrupt_mat(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        resolve_data_root(str(tmp_path / "nope"))
    (tmp_path / "joints.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DatasetError, match="cannot read"):
        load_folder(str(tmp_path))


def test_real_lsp_and_lspet_layouts(lsp_data):
    data, _ = training_set(os.path.dirname(lsp_data))
    assert len(data) == 11000
    assert data.valid[:1000].all() and 0.7 < data.valid[1000:].mean() < 1.0
    assert not data.crowd[:1000].any() and data.crowd[1000:].all()
    assert list(data.subset([5, 2000]).crowd) == [False, True]
