"""LSP and LSP-extended loaders. Both joints.mat layouts are read into (N, 14, 2) joints + (N, 14) validity.

- lsp/joints.mat:   `joints` 3 x 14 x 2000, third row 1 = occluded (every joint is annotated: all valid).
- lspet/joints.mat: `joints` 14 x 3 x 10000, third column 1 = visible (0 may carry junk: masked out).
  Its labels come from Mechanical Turk (`crowd`), LSP's from the dataset's authors.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np


class DatasetError(Exception):
    """A data folder or annotation file that cannot be used; the message is one line for the user."""


@dataclasses.dataclass
class PoseSet:
    paths: list
    joints: np.ndarray     # (N, 14, 2) float32 pixels
    valid: np.ndarray      # (N, 14) bool: counted in the loss / metrics
    crowd: np.ndarray = None   # (N,) bool: labelled by crowd workers (LSP-extended), not by the dataset's authors

    def __post_init__(self):
        if self.crowd is None:
            self.crowd = np.zeros(len(self.paths), bool)

    def __len__(self):
        return len(self.paths)

    def subset(self, index) -> "PoseSet":
        index = np.asarray(list(index), dtype=int)
        return PoseSet([self.paths[i] for i in index], self.joints[index], self.valid[index], self.crowd[index])

    @staticmethod
    def concat(sets) -> "PoseSet":
        return PoseSet(sum((s.paths for s in sets), []), np.concatenate([s.joints for s in sets]),
                       np.concatenate([s.valid for s in sets]), np.concatenate([s.crowd for s in sets]))


def _load_mat(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise DatasetError(f"no joints.mat at {path}")
    try:
        import scipy.io
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several kinds for a damaged file
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if "joints" not in mat:
        raise DatasetError(f"{path} has no 'joints' array")
    return np.asarray(mat["joints"], np.float64)


def _lsp_layout(joints: np.ndarray, path: str):
    if joints.ndim == 3 and joints.shape[:2] == (3, 14):
        arr = joints.transpose(2, 1, 0)          # N x 14 x 3, flag 1 = occluded
        return arr[..., :2], np.ones(arr.shape[:2], bool), False
    if joints.ndim == 3 and joints.shape[:2] == (14, 3):
        arr = joints.transpose(2, 0, 1)          # N x 14 x 3, flag 1 = visible
        valid = (arr[..., 2] > 0.5) & (arr[..., 0] >= 0) & (arr[..., 1] >= 0)
        return arr[..., :2], valid, True
    raise DatasetError(f"{path}: joints array of shape {joints.shape}, expected 3x14xN (LSP) or 14x3xN (LSP-extended)")


def load_folder(root: str, first: int = 1, last: int | None = None) -> PoseSet:
    """Images im<k>.jpg for k in [first, last] of an LSP-style folder (images/ + joints.mat)."""
    if not os.path.isdir(root):
        raise DatasetError(f"data folder not found: {root}")
    joints, valid, crowd = _lsp_layout(_load_mat(os.path.join(root, "joints.mat")), os.path.join(root, "joints.mat"))
    n = len(joints)
    last = n if last is None else min(last, n)
    digits = 4 if n <= 9999 else 5
    first = min(first, last + 1)
    paths = [os.path.join(root, "images", f"im{k:0{digits}d}.jpg") for k in range(first, last + 1)]
    sl = slice(first - 1, last)
    return PoseSet(paths, joints[sl].astype(np.float32), valid[sl], np.full(len(paths), crowd))


def resolve_data_root(data: str) -> tuple[str | None, str | None]:
    """Accept the folder holding lsp/ and lspet/, or an lsp (or lspet) folder itself."""
    if os.path.isfile(os.path.join(data, "joints.mat")):
        return data, None
    lsp, lspet = os.path.join(data, "lsp"), os.path.join(data, "lspet")
    if not os.path.isdir(data):
        raise DatasetError(f"data folder not found: {data}")
    if not os.path.isdir(lsp):
        raise DatasetError(f"{data} holds neither joints.mat nor an lsp/ folder")
    return lsp, (lspet if os.path.isdir(lspet) else None)


def dataset_folders(data: str) -> list:
    """The LSP and LSP-extended folders `data` names (resolve_data_root), read whole by training and the
    benchmarks: no output may go inside them. None found: []."""
    try:
        return [p for p in resolve_data_root(data) if p]
    except DatasetError:
        return []


def lsp_train(lsp_root: str) -> PoseSet:
    return load_folder(lsp_root, 1, 1000)


def lsp_test(lsp_root: str) -> PoseSet:
    """LSP's test images (im1001-im2000). Refuses an LSP-extended folder, whose im1001-im2000 are training
    images."""
    test = load_folder(lsp_root, 1001, 2000)
    if test.crowd.any():
        raise DatasetError(f"{lsp_root} is LSP-extended (its joints.mat is 14x3xN), not LSP: LSP test is in the lsp "
                           "folder beside it")
    return test


def training_set(data: str, max_images: int | None = None, holdout: int = 0):
    """(LSP train (im0001-im1000) + LSP-extended when present, minus its last `holdout` images; those held out).

    The held-out LSP-extended images are the validation split: LSP test is for reporting shipped models only."""
    lsp, lspet = resolve_data_root(data)
    sets = [lsp_train(lsp)]
    held_out = PoseSet([], np.zeros((0, 14, 2), np.float32), np.zeros((0, 14), bool))
    if lspet:
        extended = load_folder(lspet)
        keep = max(0, len(extended) - holdout)
        sets.append(extended.subset(np.arange(keep)))
        held_out = extended.subset(np.arange(keep, len(extended)))
    out = PoseSet.concat(sets)
    if max_images is not None and max_images < len(out):
        out = out.subset(np.linspace(0, len(out) - 1, max_images).astype(int))
    return out, held_out
