import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pose_track.training.augment import refiner_samples, stage1_sample
from pose_track.training.run_folder import RunState, phases
from pose_track.training.settings import TINY, TrainConfig
from pose_track.training.start import start_model
from pose_track.training.train import train

from conftest import STANDING, draw_person


class _Draws:
    """An rng whose uniform draws are the middle of each range and whose random() draws are the given ones."""

    def __init__(self, randoms):
        self.randoms = list(randoms)

    def uniform(self, low, high, size=None):
        mid = (low + high) / 2.0
        return mid if size is None else np.full(size, mid)

    def random(self):
        return self.randoms.pop(0)


def test_stage1_sample_flip_swaps_labels_and_keeps_geometry():
    from pose_track.training.augment import FLIP

    pose = STANDING.copy()
    pose[6] += (-4.0, -30.0)                      # the right wrist raised: the figure is not its own mirror image
    image = draw_person(pose)
    valid = np.ones(14, bool)
    # random() draws: no turn (>= 0.6), then mirrored (< 0.5) or not; the same box either way.
    plain = stage1_sample(image, pose, valid, 64, _Draws([0.9, 0.9]))
    mirrored = stage1_sample(image, pose, valid, 64, _Draws([0.9, 0.0]))
    assert np.abs(mirrored[0].astype(int) - plain[0][:, ::-1].astype(int)).mean() < 1.0      # the crop mirrored
    np.testing.assert_allclose(mirrored[1], plain[1][FLIP] * [-1, 1], atol=1e-5)   # each label its twin's place
    assert mirrored[1][11, 1] < mirrored[1][6, 1] - 0.1     # the raised wrist is now the left one, still raised
    assert (mirrored[2] == plain[2][FLIP]).all()
    crop, target, mask, _, _ = stage1_sample(image, pose, valid, 64, np.random.default_rng(0), augment=False)
    assert np.all(np.abs(target) <= 0.5) and mask.all()


def test_refiner_samples_target_is_the_truth_in_crop_coordinates():
    image = draw_person(STANDING)
    bank = [np.array([[0.1, -0.05]], np.float32)] * 14
    crops, targets, channels, masks = refiner_samples(image, STANDING, np.ones(14, bool), 32, 2.0, bank,
                                                      np.random.default_rng(0), augment=False)
    assert crops.shape == (14, 32, 32, 3) and list(channels) == list(range(14))
    # Estimate = truth + (0.1, -0.05) torso diameters; crop side = 2 torso diameters -> target = -(0.05, -0.025).
    np.testing.assert_allclose(targets, np.tile([[-0.05, 0.025]], (14, 1)), atol=2e-3)


def _tiny(data, out, **changes):
    return TrainConfig.from_settings({**TINY, "data": data, "out": str(out), **changes})


# Two-stage runs of one step per network, on 8 drawn figures.
QUICK = {"cache_dir": None, "max_images": 8, "val_images": 2, "num_stages": 2, "epochs": 0.01,
         "refiner_epochs": 0.01, "bank_images": 4}


def test_tiny_training_run_loss_falls_and_resumes(fake_lsp, tmp_path):
    cfg = _tiny(fake_lsp, tmp_path / "run", cache_dir=str(tmp_path / "c"), epochs=25, refiner_epochs=2, batch_size=8,
                max_images=8, val_images=4, lr=3e-3, num_stages=2, negative_share=0.0, truncate_share=0.0,
                real_video=False)
    train(cfg, log=lambda m: None)
    history = json.load(open(tmp_path / "run" / "history.json"))
    losses = [h["loss"] for h in history if h["stage"] == 1]
    assert len(losses) == 25
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])
    assert any(h["stage"] == 2 for h in history)
    assert os.path.getsize(tmp_path / "run" / "curves.png") > 1000
    # A finished run resumes to nothing more to do, and keeps its history.
    train(cfg, log=lambda m: None)
    assert len(json.load(open(tmp_path / "run" / "history.json"))) == len(history)


def test_settings_are_sorted_into_the_run_the_architecture_and_the_decoding():
    cfg = TrainConfig.from_settings({"epochs": 3, "stage1_input": 96, "decode_window": 2, "stage1_scales": [160]})
    assert cfg.epochs == 3 and cfg.architecture.stage1_input == 96
    assert cfg.decoding.decode_window == 2 and cfg.decoding.stage1_scales == (160,)
    assert cfg.architecture.person_head                      # new runs learn presence
    assert TrainConfig.from_settings(cfg.settings()) == cfg
    assert cfg.settings()["stage1_input"] == 96 and "architecture" not in cfg.settings()
    model = cfg.model_config()
    assert model.architecture == cfg.architecture and model.architecture is not cfg.architecture
    with pytest.raises(ValueError, match="unknown settings colour, epochz"):
        TrainConfig.from_settings({"epochz": 1, "colour": "red"})


def test_phases_are_named_in_training_order():
    assert [p.name for p in phases(3)] == ["stage1", "error_bank2", "refiner2", "error_bank3", "refiner3", "fits"]
    assert [p.name for p in phases(1)] == ["stage1", "fits"]


def test_a_run_stopped_after_a_phase_resumes_at_the_next_one_and_finishes(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    out = tmp_path / "run"
    cfg = _tiny(fake_lsp, out, **QUICK)
    assert train(cfg, log=lambda m: None, stop_after="error_bank2") == str(out / "checkpoint.pt")
    stopped = load_checkpoint(str(out / "checkpoint.pt"))
    assert stopped["train_state"]["done"] == ["stage1", "error_bank2"]
    assert len(stopped["train_state"]["banks"]["2"]) == 14 and not (out / "model.pt").exists()
    # Refiner settings may still change: no refiner has trained.
    logs = []
    path = train(_tiny(fake_lsp, out, **{**QUICK, "sigma": 1.0}), log=logs.append)
    assert path == str(out / "model.pt")
    assert any(m.startswith("resuming") and "done stage1, error_bank2" in m for m in logs)
    assert any("refiner settings changed (sigma)" in m for m in logs)
    assert not any(m.startswith("stage 1:") for m in logs) and any(m.startswith("stage 2:") for m in logs)
    final = load_checkpoint(str(out / "checkpoint.pt"))
    assert final["train_state"]["done"] == [p.name for p in phases(2)]
    assert final["config"].architecture.sigma == 1.0 and len(final["config"].calibration.refine_gain) == 1
    assert all(torch.equal(stopped["stages"][0][k], final["stages"][0][k]) for k in stopped["stages"][0])
    with pytest.raises(ValueError, match="no phase 'refiner3'"):
        train(cfg, log=lambda m: None, stop_after="refiner3")


def test_train_command_on_an_existing_run_resumes_at_its_first_unfinished_phase(fake_lsp, tmp_path):
    from click.testing import CliRunner
    from pose_track.cli import cli

    out = tmp_path / "run"
    quick = {"num_stages": 2, "epochs": 0.01, "refiner_epochs": 0.01, "max_images": 8}
    train(_tiny(fake_lsp, out, **quick), log=lambda m: None, stop_after="stage1")
    result = CliRunner().invoke(cli, ["train", "--tiny", "--data", fake_lsp, "--out", str(out), "--no-export",
                                      "--stages", "2", "--epochs", "0.01", "--refiner-epochs", "0.01",
                                      "--max-images", "8"])
    assert result.exit_code == 0, result.output
    assert f"resuming {out / 'checkpoint.pt'}: done stage1\n" in result.output
    assert "stage 1:" not in result.output and "stage 2:" in result.output
    assert f"checkpoint: {out / 'model.pt'}" in result.output


def test_without_fitted_gains_the_refiners_whole_displacement_is_kept(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    quick = {"num_stages": 2, "epochs": 0.01, "refiner_epochs": 0.01, "max_images": 8, "fit_gains": False}
    logs = []
    path = train(_tiny(fake_lsp, tmp_path / "run", **quick), log=logs.append)
    assert load_checkpoint(path)["config"].calibration.refine_gain == ((1.0,) * 14,)
    assert not any("refinement gain" in m for m in logs) and any(m.startswith("confidence model") for m in logs)


class _StopAt:
    """Progress that interrupts a phase, as Ctrl-C would, when `label`'s bar has counted `count`."""

    def __init__(self, label, count):
        self.label, self.count, self.current, self.seen = label, count, None, 0

    def start(self, label, total):
        self.current, self.seen = label, 0

    def __call__(self, n=1):
        self.seen += n
        if self.current == self.label and self.seen >= self.count:
            raise KeyboardInterrupt


def test_a_network_stopped_part_way_resumes_from_its_last_saved_step(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    out = tmp_path / "run"
    cfg = _tiny(fake_lsp, out, **{**QUICK, "epochs": 3})      # one step per epoch: saved after every step
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=_StopAt("stage 1", 2), log=lambda m: None)
    state = load_checkpoint(str(out / "checkpoint.pt"))["train_state"]
    assert state["done"] == [] and state["stopped"]["phase"] == "stage1" and state["stopped"]["step"] == 1
    assert state["stopped"]["optimizer"]["state"]
    logs = []
    train(cfg, log=logs.append)
    assert any(m.startswith("resuming") and "stage1 from step 1" in m for m in logs)
    assert any(m.startswith("stage 1: 3 steps") and m.endswith("from step 1") for m in logs)
    history = json.load(open(out / "history.json"))
    assert [h["step"] for h in history if h["stage"] == 1] == [1, 2, 3]


def test_a_train_state_of_the_integer_phase_counter_reads_as_phase_names():
    names = [p.name for p in phases(3)]
    for counter in range(len(names)):
        state = RunState.from_dict({"phase": counter, "epoch_step": 0, "history": [], "banks": {}}, 3, "ckpt")
        assert state.done == names[:counter] and state.stopped is None
    finished = RunState.from_dict({"phase": 6, "epoch_step": 0, "refine_gain": [[1.0] * 14] * 2}, 3, "ckpt")
    assert finished.done == names and finished.fitted["refine_gain"] == [[1.0] * 14] * 2
    part_way = RunState.from_dict({"phase": 2, "epoch_step": 7, "optimizer": {"state": {}}, "banks": {"1": [[0]]}},
                                  3, "ckpt")
    assert part_way.done == ["stage1", "error_bank2"]
    assert part_way.stopped == {"phase": "refiner2", "step": 7, "optimizer": {"state": {}}}
    assert part_way.banks == {"2": [[0]]}        # the counter keyed a bank by the stages measured
    from pose_track.engines.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match="use another --out"):
        RunState.from_dict({"epoch": 3}, 3, "ckpt")


def test_a_run_folder_of_the_integer_phase_counter_resumes_at_its_next_phase(fake_lsp, tmp_path):
    """A version-1 checkpoint after stage 1's error bank: a flat config, the integer phase counter at 2 and the
    bank under "1"."""
    from pose_track.engines.checkpoint import load_checkpoint

    out = tmp_path / "run"
    cfg = _tiny(fake_lsp, out, **QUICK)
    train(cfg, log=lambda m: None, stop_after="error_bank2")
    path = str(out / "checkpoint.pt")
    payload = torch.load(path, weights_only=True)
    state = payload["train_state"]
    flat = {k: v for part in payload["config"].values() for k, v in part.items()}
    old_state = {"phase": 2, "epoch_step": 0, "history": state["history"], "banks": {"1": state["banks"]["2"]},
                 "optimizer": None}
    torch.save({**payload, "version": 1, "config": flat, "train_state": old_state}, path)
    logs = []
    assert train(cfg, log=logs.append) == str(out / "model.pt")
    assert any(m.startswith("resuming") and "done stage1, error_bank2" in m for m in logs)
    assert not any(m.startswith("stage 1:") for m in logs) and any(m.startswith("stage 2:") for m in logs)
    final = load_checkpoint(path)
    assert final["train_state"]["done"] == [p.name for p in phases(2)]
    assert final["train_state"]["banks"]["2"] == state["banks"]["2"]
    assert all(torch.equal(payload["stages"][0][k], final["stages"][0][k]) for k in payload["stages"][0])


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


def _start(cfg, log=lambda m: None):
    """The model the run in cfg.out starts from (resumed or new), as `train` builds it."""
    torch.manual_seed(cfg.seed)
    return start_model(cfg, os.path.join(cfg.out, "checkpoint.pt"), log)[1]


def test_init_from_starts_a_new_run_from_another_runs_weights(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import CheckpointError, load_checkpoint

    first_path = train(_tiny(fake_lsp, tmp_path / "a", **QUICK), log=lambda m: None)
    first = load_checkpoint(first_path)["stages"]
    # A larger input size keeps every tensor (the heads are convolutional).
    logs = []
    second = _tiny(fake_lsp, tmp_path / "b", **{**QUICK, "stage1_input": 96, "init_from": first_path,
                                                "heatmap_weight": 0.1})
    for saved, stage in zip(first, _start(second, logs.append)):
        assert saved.keys() == stage.state_dict().keys()
        assert all(torch.equal(saved[k], v) for k, v in stage.state_dict().items())
    assert any("of" in m and "tensors from" in m for m in logs)
    train(second, log=lambda m: None)
    with pytest.raises(CheckpointError):
        train(_tiny(fake_lsp, tmp_path / "c", **{**QUICK, "init_from": str(tmp_path / "missing.pt")}),
              log=lambda m: None)


def test_zero_epochs_keep_the_weights_and_inference_settings_may_change_on_resume(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import CheckpointError, load_checkpoint

    first_path = train(_tiny(fake_lsp, tmp_path / "a", **QUICK), log=lambda m: None)
    logs = []
    refit = {**QUICK, "epochs": 0, "refiner_epochs": 0}
    path = train(_tiny(fake_lsp, tmp_path / "b", **refit, decode_window=2, stage1_flip=True, init_from=first_path),
                 log=logs.append)
    assert sum("0 epochs, weights kept" in m for m in logs) == 2
    before, after = load_checkpoint(first_path), load_checkpoint(path)
    for a, b in zip(before["stages"], after["stages"]):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert after["config"].decoding.stage1_flip and after["config"].decoding.decode_window == 2
    # Resuming the finished run with other inference settings is allowed (a changed input size is not).
    again = _start(_tiny(fake_lsp, tmp_path / "b", **refit, decode_window=3))
    assert again[0].head.window == 3 and not again[0].flip_average
    with pytest.raises(CheckpointError, match="another model config \\(stage1_input\\)"):
        _start(_tiny(fake_lsp, tmp_path / "b", **{**QUICK, "stage1_input": 96}))


def test_init_from_several_checkpoints_starts_from_the_mean_of_their_weights(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    paths = [train(_tiny(fake_lsp, tmp_path / f"r{seed}", **QUICK, seed=seed), log=lambda m: None) for seed in (0, 1)]
    soup = _start(_tiny(fake_lsp, tmp_path / "soup", **{**QUICK, "epochs": 0, "refiner_epochs": 0}, init_from=paths))
    a, b = (load_checkpoint(p)["stages"][0] for p in paths)
    mine = soup[0].state_dict()
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
    import pose_track.engines.torch_backend as engine_loading
    from pose_track.engines.checkpoint import load_checkpoint
    from pose_track.training.data import load_sets, load_training_data
    from pose_track.training.label_cleaning import load_reference, repair_crowd_labels

    data = _fake_lsp_and_lspet(str(tmp_path / "data"))
    monkeypatch.setattr(engine_loading, "load_any_cascade", lambda path: _AnswersStanding())
    cfg = _tiny(data, tmp_path / "run", clean_labels="reference", max_images=None, val_images=2, holdout=0,
                num_stages=2)
    training = load_training_data(cfg, *load_sets(cfg), person_head=True, log=lambda m: None)
    fixes = repair_crowd_labels(training, None, load_reference("reference"), cfg.clean_max_error, log=lambda m: None)
    crowd = np.flatnonzero(training.train_set.crowd)
    assert len(crowd) == 6 and fixes["swapped"] == crowd[1::2].tolist()
    assert fixes["dropped"] == []
    # After the repair every crowd image carries the same labels, as the drawings are all the same person.
    np.testing.assert_allclose(training.joints[crowd], np.repeat(training.joints[crowd[:1]], 6, 0), atol=1e-3)

    # A run checks the labels once and keeps the repairs in its state; resumed, it applies them again.
    train(cfg, log=lambda m: None, stop_after="stage1")

    def no_second_check(path):
        raise AssertionError("the labels were checked again on resume")

    monkeypatch.setattr(engine_loading, "load_any_cascade", no_second_check)
    train(cfg, log=lambda m: None, stop_after="error_bank2")
    saved = load_checkpoint(str(tmp_path / "run" / "checkpoint.pt"))["train_state"]["label_fixes"]
    assert saved == fixes
    again = load_training_data(cfg, *load_sets(cfg), person_head=True, log=lambda m: None)
    repair_crowd_labels(again, saved, None, cfg.clean_max_error, log=lambda m: None)
    np.testing.assert_array_equal(again.joints, training.joints)


def test_tiny_run_with_negatives_learns_presence(fake_lsp, tmp_path):
    """Drawn figures against crops of their empty surroundings: on a fixed batch of both kinds, the presence and
    in-picture loss of the trained stage 1 is well below the untrained one's."""
    from pose_track.engines.checkpoint import build_model, load_checkpoint
    from pose_track.training.data import load_sets, load_training_data
    from pose_track.training.networks import person_loss, stage1_crop, to_tensor

    cfg = _tiny(fake_lsp, tmp_path / "run", epochs=12, refiner_epochs=0, batch_size=8, max_images=12, val_images=1,
                lr=3e-3, num_stages=1, negative_share=0.5, truncate_share=0.3, person_weight=1.0)
    data = load_training_data(cfg, *load_sets(cfg), person_head=True, log=lambda m: None)
    rng = np.random.default_rng(123)
    crops, _, _, inside, known, presence = (np.stack(c) for c in zip(*[stage1_crop(data, cfg, True, i % 12, 64, rng)
                                                                        for i in range(48)]))
    assert 0 < presence.sum() < 48                       # both kinds in the fixed batch
    x = to_tensor(crops)
    targets = tuple(torch.from_numpy(a).float() for a in (presence, inside, known))

    def loss(model):                             # batch statistics: a dozen steps leave the running ones raw
        net = model[0].train()
        with torch.no_grad():
            return float(person_loss(net.train_outputs(x)[3], *targets))

    before = loss(_start(cfg))
    trained = build_model(load_checkpoint(train(cfg, log=lambda m: None)))
    assert loss(trained) < 0.6 * before


def test_a_batch_that_fails_in_the_prefetch_thread_fails_the_training_loop():
    from pose_track.training.networks import _Prefetch

    def make_batch(step):
        if step == 2:
            raise ValueError("high <= 0")
        return step

    got = []
    with pytest.raises(ValueError, match="high <= 0"):
        for item in _Prefetch(make_batch, 5):
            got.append(item)
    assert got == [0, 1]


class _FixedTeacher(torch.nn.Module):
    """A teacher whose joints are all at (m, m), m the crop's mean pixel."""

    def train_outputs(self, x):
        return x.mean((1, 2, 3))[:, None, None].expand(len(x), 14, 2), None, None, None


def test_teacher_loss_counts_only_crops_that_frame_a_whole_person():
    from pose_track.training.networks import teacher_loss

    coords = torch.full((3, 14, 2), 5.0)
    coords[0] = 0.1                                   # the whole person: 0.1 + 0.1 from the teacher per joint
    presence = torch.tensor([1.0, 0.0, 1.0])          # crop 1 holds nobody
    inside, known = torch.ones(3, 14), torch.ones(3, 14)
    inside[2, 12] = 0                                 # crop 2 cuts a labelled ankle off
    x = torch.zeros(3, 3, 8, 8)
    x[1:] = 9.0                                       # a teacher shown the other crops would be far off
    loss = teacher_loss(_FixedTeacher(), x, coords, presence, inside, known)
    assert float(loss) == pytest.approx(0.2)
    presence[0] = 0
    assert float(teacher_loss(_FixedTeacher(), x, coords, presence, inside, known)) == 0.0


def test_a_run_with_a_teacher_records_its_loss_and_a_teacher_of_another_input_size_is_refused(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import CheckpointError

    teacher = train(_tiny(fake_lsp, tmp_path / "teacher", refiner_epochs=0, num_stages=1), log=lambda m: None)
    cfg = _tiny(fake_lsp, tmp_path / "student", refiner_epochs=0, num_stages=1, teacher=teacher, teacher_weight=1.0)
    train(cfg, log=lambda m: None)
    history = json.load(open(tmp_path / "student" / "history.json"))
    assert history[0]["teacher_loss"] > 0
    other = _tiny(fake_lsp, tmp_path / "other", refiner_epochs=0, num_stages=1, stage1_input=96, teacher=teacher,
                  teacher_weight=1.0)
    with pytest.raises(CheckpointError, match="reads 64 px crops"):
        train(other, log=lambda m: None)
    with pytest.raises(CheckpointError, match="--teacher .* is a folder"):
        train(_tiny(fake_lsp, tmp_path / "f", refiner_epochs=0, num_stages=1, teacher=str(tmp_path), teacher_weight=1.0),
              log=lambda m: None)


@pytest.mark.parametrize("given", [{"teacher": "t.pt"}, {"teacher_weight": 2.0}])
def test_a_teacher_without_a_weight_or_a_weight_without_a_teacher_is_refused(given):
    from pose_track.training.settings import SettingError

    with pytest.raises(SettingError, match="teacher"):
        TrainConfig.from_settings(given)


def test_a_person_head_only_run_changes_the_person_head_and_nothing_else(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    start = train(_tiny(fake_lsp, tmp_path / "start", refiner_epochs=0, num_stages=1), log=lambda m: None)
    cfg = _tiny(fake_lsp, tmp_path / "head", refiner_epochs=0, num_stages=1, init_from=[start], person_head_only=True)
    before, after = (load_checkpoint(p)["stages"][0] for p in (start, train(cfg, log=lambda m: None)))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("person.") for k in changed)
    assert {k for k in before if k.startswith("person.") and k.endswith("weight")} <= changed


@pytest.mark.parametrize("given", [{"person_head": False}, {"teacher": "t.pt", "teacher_weight": 1.0}])
def test_a_person_head_only_run_without_a_person_head_or_with_a_teacher_is_refused(given):
    from pose_track.training.settings import SettingError

    with pytest.raises(SettingError, match="person_head_only"):
        TrainConfig.from_settings({"person_head_only": True, **given})


def test_a_finished_run_called_again_with_other_settings_keeps_its_model_and_says_so(fake_lsp, tmp_path):
    cfg = TrainConfig.from_settings({**TINY, "data": fake_lsp, "out": str(tmp_path / "run")})
    release = train(cfg, log=lambda message: None)
    before = open(release, "rb").read()
    said = []
    again = TrainConfig.from_settings({**TINY, "data": fake_lsp, "out": str(tmp_path / "run"), "lr": 0.1, "seed": 7})
    assert train(again, log=said.append) == release
    assert open(release, "rb").read() == before                  # still says the settings it was trained with
    assert any(line.startswith("other settings than the run's last ones (lr 0.1, was ") for line in said), said
    assert any("every phase is done; model.pt is kept as it is" in line for line in said), said


def test_training_draws_no_image_whose_labels_a_repair_emptied():
    from pose_track.training.networks import sample_images

    valid = np.ones((6, 14), bool)
    assert np.array_equal(sample_images(valid, np.random.default_rng(3), 50),
                          np.random.default_rng(3).integers(0, 6, 50))              # all usable: the same draws
    valid[[1, 4]] = False
    picks = sample_images(valid, np.random.default_rng(3), 500)
    assert not np.isin(picks, [1, 4]).any() and set(picks) == {0, 2, 3, 5}


def test_refiner_crops_are_sized_by_the_labelled_torso():
    """An unlabelled hip sits at a made-up place (LSP-extended): the crop side is sigma x the labelled diagonal,
    as at inference, not the 1.6x clip a made-up diagonal hits."""
    import pose_track.training.augment as augment

    pose, valid = STANDING.copy(), np.ones(14, bool)
    pose[3], valid[3] = (-45.0, 0.0), False                  # l_hip unlabelled
    sides = []
    real = augment.crop_matrix

    def recording(box, size, angle=0.0, flip=False):
        sides.append(box[2])
        return real(box, size, angle, flip)

    augment.crop_matrix = recording
    try:
        bank = [np.zeros((1, 2), np.float32)] * 14           # the estimate is the truth
        refiner_samples(draw_person(STANDING), pose, valid, 32, 2.0, bank, np.random.default_rng(0))
    finally:
        augment.crop_matrix = real
    from pose_track.engines.geometry import torso_diameter
    assert sides and np.allclose(sides, 2.0 * torso_diameter(pose, valid))


def test_the_confidence_model_is_fitted_on_the_features_inference_computes(monkeypatch):
    """Inference divides the spread and the stage movement by the estimate's torso (kept within a share of the
    box), not the truth's: the fit must see the same numbers."""
    import pose_track.training.confidence as confidence
    from pose_track.engines.cascade import CascadeResult, confidence_features, estimate_torso
    from pose_track.engines.geometry import torso_diameters

    truth = STANDING.astype(np.float32)
    pred = (truth - truth.mean(0)) * 0.7 + truth.mean(0)            # a pose estimate 0.7 times the truth's size
    spread = np.full((1, 14), 6.0, np.float32)
    result = CascadeResult(pred[None], np.ones((1, 14), np.float32), [pred[None] + 3.0, pred[None]], spread)
    box = np.array([60.0, 60.0, 150.0], np.float32)
    monkeypatch.setattr(confidence, "predict_each", lambda cascade, pairs, **kw: [result for _ in pairs])
    seen = []
    monkeypatch.setattr(confidence, "fit_logistic", lambda x, y: seen.append(x) or np.zeros(3))
    confidence.fit_confidence(None, [None], truth[None], np.ones((1, 14), bool), box[None])
    scale = estimate_torso(pred[None], box[None])[0]
    assert abs(scale - torso_diameters(truth[None])[0]) > 5            # the two torsos differ here
    moved = np.linalg.norm(pred - (pred + 3.0), axis=-1) / scale
    np.testing.assert_allclose(seen[0], confidence_features(spread[0] / scale, moved), rtol=1e-6)
