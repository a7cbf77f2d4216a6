import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pose_track.training.augment import refiner_samples, stage1_sample
from pose_track.training.train import TINY, Trainer, TrainConfig

from conftest import STANDING, draw_person


def test_stage1_sample_flip_swaps_labels_and_keeps_geometry():
    image = draw_person(STANDING)
    valid = np.ones(14, bool)
    rng = np.random.default_rng(3)
    for _ in range(20):
        crop, target, mask, _, _ = stage1_sample(image, STANDING, valid, 64, rng)
        assert crop.shape == (64, 64, 3) and target.shape == (14, 2)
        # Mirrored or not, the person's right ankle stays below its right knee and the head on top.
        if mask[0] and mask[1]:
            assert target[13, 1] < target[12, 1] + 0.05 or abs(target[13, 1]) > 0.3
    crop, target, mask, _, _ = stage1_sample(image, STANDING, valid, 64, rng, augment=False)
    assert np.all(np.abs(target) <= 0.5) and mask.all()


def test_refiner_samples_target_is_the_truth_in_crop_coordinates():
    image = draw_person(STANDING)
    bank = [np.array([[0.1, -0.05]], np.float32)] * 14
    crops, targets, channels, masks = refiner_samples(image, STANDING, np.ones(14, bool), 32, 2.0, bank,
                                                      np.random.default_rng(0), augment=False)
    assert crops.shape == (14, 32, 32, 3) and list(channels) == list(range(14))
    # Estimate = truth + (0.1, -0.05) torso diameters; crop side = 2 torso diameters -> target = -(0.05, -0.025).
    np.testing.assert_allclose(targets, np.tile([[-0.05, 0.025]], (14, 1)), atol=2e-3)


def test_tiny_training_run_loss_falls_and_resumes(fake_lsp, tmp_path):
    cfg = TrainConfig(**{**TINY, "data": fake_lsp, "out": str(tmp_path / "run"), "cache_dir": str(tmp_path / "c"),
                         "epochs": 25, "refiner_epochs": 2, "batch_size": 8, "max_images": 8, "val_images": 4,
                         "lr": 3e-3, "num_stages": 2, "negative_share": 0.0, "truncate_share": 0.0,
                         "real_video": False})
    Trainer(cfg, log=lambda m: None).run()
    history = json.load(open(tmp_path / "run" / "history.json"))
    losses = [h["loss"] for h in history if h["stage"] == 1]
    assert len(losses) == 25
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])
    assert any(h["stage"] == 2 for h in history)
    assert os.path.getsize(tmp_path / "run" / "curves.png") > 1000
    # A finished run resumes to nothing more to do, and keeps its history.
    Trainer(cfg, log=lambda m: None).run()
    assert len(json.load(open(tmp_path / "run" / "history.json"))) == len(history)


def test_confidence_fit_recovers_a_known_logistic_model():
    from pose_track.engines.cascade import confidence_features, joint_confidence
    from pose_track.training.confidence import fit_logistic

    rng = np.random.default_rng(0)
    spread = np.exp(rng.uniform(-4, 0, 20000)); moved = np.exp(rng.uniform(-5, 0, 20000))
    truth = np.array([-2.0, -1.5, -0.5])
    p = joint_confidence(truth, spread, moved)
    labels = (rng.random(20000) < p).astype(float)
    w = fit_logistic(confidence_features(spread, moved), labels)
    np.testing.assert_allclose(w, truth, atol=0.15)


def test_heatmap_kl_is_zero_at_the_target_gaussian_and_pulls_towards_it():
    from pose_track.engines.model import cell_centres
    from pose_track.training.losses import heatmap_kl

    size, stride = 64, 8
    target = torch.tensor([[[0.1, -0.2], [0.0, 0.3]]])          # (1, 2 joints, 2)
    mask = torch.ones(1, 2)
    xs = cell_centres(8, size, stride, target)
    var = 2.0 * (stride / size) ** 2
    exact = -((xs[None, None, None, :] - target[..., 0, None, None]) ** 2
              + (xs[None, None, :, None] - target[..., 1, None, None]) ** 2) / var
    assert heatmap_kl(exact, target, mask, size, stride).item() == pytest.approx(0.0, abs=1e-5)
    flat = torch.zeros(1, 2, 8, 8, requires_grad=True)
    loss = heatmap_kl(flat, target, mask, size, stride)
    assert loss.item() > 1.0
    loss.backward()
    # Gradient descent raises the logit of the cell nearest the target, lowers a far one.
    near = (int(torch.argmin((xs - 0.1).abs())), int(torch.argmin((xs + 0.2).abs())))
    assert flat.grad[0, 0, near[1], near[0]] < 0 < flat.grad[0, 0, 7, 0]
    # A masked joint contributes nothing.
    assert heatmap_kl(flat, target, torch.tensor([[0.0, 0.0]]), size, stride).item() == 0.0


def test_init_from_starts_a_new_run_from_another_runs_weights(fake_lsp, tmp_path):
    base = {**TINY, "data": fake_lsp, "cache_dir": None, "max_images": 8, "val_images": 2, "num_stages": 2,
            "epochs": 0.01, "refiner_epochs": 0.01, "bank_images": 4}
    first = Trainer(TrainConfig(**base, out=str(tmp_path / "a")), log=lambda m: None)
    first_path = first.run()
    # A larger input size keeps every tensor (the heads are convolutional).
    logs = []
    second = Trainer(TrainConfig(**{**base, "stage1_input": 96}, out=str(tmp_path / "b"), init_from=first_path,
                                 heatmap_weight=0.1), log=logs.append)
    for a, b in zip(first.model.state_dict().items(), second.model.state_dict().items()):
        assert a[0] == b[0] and torch.equal(a[1], b[1])
    assert any("of" in m and "tensors from" in m for m in logs)
    second.run()
    from pose_track.engines.checkpoint import CheckpointError
    with pytest.raises(CheckpointError):
        Trainer(TrainConfig(**base, out=str(tmp_path / "c"), init_from=str(tmp_path / "missing.pt")),
                log=lambda m: None)


def test_zero_epochs_keep_the_weights_and_inference_settings_may_change_on_resume(fake_lsp, tmp_path):
    base = {**TINY, "data": fake_lsp, "cache_dir": None, "max_images": 8, "val_images": 2, "num_stages": 2,
            "epochs": 0.01, "refiner_epochs": 0.01, "bank_images": 4}
    first_path = Trainer(TrainConfig(**base, out=str(tmp_path / "a")), log=lambda m: None).run()
    logs = []
    refit = Trainer(TrainConfig(**{**base, "epochs": 0, "refiner_epochs": 0, "decode_window": 2, "stage1_flip": True},
                                out=str(tmp_path / "b"), init_from=first_path), log=logs.append)
    path = refit.run()
    assert sum("0 epochs, weights kept" in m for m in logs) == 2
    from pose_track.engines.checkpoint import load_checkpoint
    before, after = load_checkpoint(first_path), load_checkpoint(path)
    for a, b in zip(before["stages"], after["stages"]):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert after["config"].stage1_flip and after["config"].decode_window == 2
    # Resuming the finished run with other inference settings is allowed (a changed input size is not).
    again = Trainer(TrainConfig(**{**base, "epochs": 0, "refiner_epochs": 0, "decode_window": 3},
                                out=str(tmp_path / "b")), log=lambda m: None)
    assert again.model[0].head.window == 3 and not again.model[0].flip_average
    from pose_track.engines.checkpoint import CheckpointError
    with pytest.raises(CheckpointError):
        Trainer(TrainConfig(**{**base, "stage1_input": 96}, out=str(tmp_path / "b")), log=lambda m: None)


def test_init_from_several_checkpoints_starts_from_the_mean_of_their_weights(fake_lsp, tmp_path):
    base = {**TINY, "data": fake_lsp, "cache_dir": None, "max_images": 8, "val_images": 2, "num_stages": 2,
            "epochs": 0.01, "refiner_epochs": 0.01, "bank_images": 4}
    paths = [Trainer(TrainConfig(**{**base, "seed": seed}, out=str(tmp_path / f"r{seed}")), log=lambda m: None).run()
             for seed in (0, 1)]
    soup = Trainer(TrainConfig(**{**base, "epochs": 0, "refiner_epochs": 0}, out=str(tmp_path / "soup"),
                               init_from=paths), log=lambda m: None)
    from pose_track.engines.checkpoint import load_checkpoint
    a, b = (load_checkpoint(p)["stages"][0] for p in paths)
    mine = soup.model[0].state_dict()
    key = "head.heatmap.weight"
    assert not torch.equal(a[key], b[key])
    assert torch.allclose(mine[key], (a[key] + b[key]) / 2)


def _fake_lsp_and_lspet(root, n=6):
    """root/lsp (authors' layout, LSP train) and root/lspet (crowd layout) of one drawn pose; the crowd labels of
    odd images have left and right exchanged."""
    import cv2
    import scipy.io
    from pose_track.engines.joints import FLIP_PERMUTATION
    from conftest import draw_person, make_fake_lsp

    make_fake_lsp(os.path.join(root, "lsp"), n=n)
    os.makedirs(os.path.join(root, "lspet", "images"))
    joints = np.zeros((14, 3, n))
    for i in range(n):
        cv2.imwrite(os.path.join(root, "lspet", "images", f"im{i + 1:04d}.jpg"), draw_person(STANDING, seed=i))
        labels = STANDING[list(FLIP_PERMUTATION)] if i % 2 else STANDING
        joints[:, :2, i], joints[:, 2, i] = labels, 1
    scipy.io.savemat(os.path.join(root, "lspet", "joints.mat"), {"joints": joints})
    return root


class _AnswersStanding:
    """A cascade that always answers the drawn pose, placed in the box it is given."""

    def predict(self, image, boxes, rgb=False):
        from pose_track.engines.cascade import CascadeResult
        from pose_track.engines.geometry import box_from_joints

        cx, cy, side = box_from_joints(STANDING, 1.32)
        box = np.asarray(boxes, np.float32).reshape(3)
        joints = ((STANDING - [cx, cy]) / side * box[2] + box[:2])[None]
        return CascadeResult(joints=joints, confidence=np.ones((1, 14)), stages=[joints])


def test_clean_labels_swaps_crowd_labels_back_once_and_resumes_with_the_same_fixes(tmp_path, monkeypatch):
    import pose_track.engines.backends as engine_backends

    data = _fake_lsp_and_lspet(str(tmp_path / "data"))
    monkeypatch.setattr(engine_backends, "load_cascade", lambda path: _AnswersStanding())
    cfg = TrainConfig(**{**TINY, "data": data, "out": str(tmp_path / "run"), "clean_labels": "reference",
                         "max_images": None, "val_images": 2, "holdout": 0})
    trainer = Trainer(cfg, log=lambda m: None)
    trainer._load_cache()
    crowd = np.flatnonzero(trainer.train_set.crowd)
    assert len(crowd) == 6 and trainer.state["label_fixes"]["swapped"] == crowd[1::2].tolist()
    assert trainer.state["label_fixes"]["dropped"] == []
    # After the repair every crowd image carries the same labels, as the drawings are all the same person.
    np.testing.assert_allclose(trainer.joints[crowd], np.repeat(trainer.joints[crowd[:1]], 6, 0), atol=1e-3)
    trainer._save()

    def no_second_check(path):
        raise AssertionError("the labels were checked again on resume")

    monkeypatch.setattr(engine_backends, "load_cascade", no_second_check)
    resumed = Trainer(cfg, log=lambda m: None)
    resumed._load_cache()
    np.testing.assert_array_equal(resumed.joints, trainer.joints)


def test_tiny_run_with_negatives_learns_presence(fake_lsp, tmp_path):
    """Drawn figures against crops of their empty surroundings: on a fixed batch of both kinds, the presence and
    in-picture loss of the trained stage 1 is well below the untrained one's."""
    import torch
    from pose_track.training.train import _person_loss, _to_tensor

    cfg = TrainConfig(**{**TINY, "data": fake_lsp, "out": str(tmp_path / "run"), "epochs": 12, "refiner_epochs": 0,
                         "batch_size": 8, "max_images": 12, "val_images": 1, "lr": 3e-3, "num_stages": 1,
                         "negative_share": 0.5, "truncate_share": 0.3, "person_weight": 1.0})
    trainer = Trainer(cfg, log=lambda m: None)
    trainer._load_cache()
    rng = np.random.default_rng(123)
    crops, _, _, inside, known, presence = (np.stack(c) for c in zip(*[trainer._stage1_crop(i % 12, 64, rng)
                                                                        for i in range(48)]))
    assert 0 < presence.sum() < 48                       # both kinds in the fixed batch
    x = _to_tensor(crops)
    targets = tuple(torch.from_numpy(a).float() for a in (presence, inside, known))

    def loss():                                  # batch statistics: a dozen steps leave the running ones raw
        net = trainer.model[0].train()
        with torch.no_grad():
            return float(_person_loss(net.train_outputs(x)[3], *targets))

    before = loss()
    trainer.run()
    assert loss() < 0.6 * before
