"""Presence and in-picture: the training crops that teach them, and every output that reports them."""
import csv

import cv2
import numpy as np

from pose_track.engines.estimator import PoseEstimator

from pose_track.engines.cascade import Cascade, CascadeResult
from pose_track.engines.config import Architecture, ModelConfig
from pose_track.engines.geometry import apply_affine, crop_matrix
from pose_track.training.augment import FLIP, stage1_sample
from pose_track.training.framing import SceneBank, apply_cut, background_crop, cut_line, cut_off, edge_framing

from conftest import STANDING, draw_person

LEGS = [0, 1, 4, 5]


def test_waist_up_cut_masks_the_legs_and_keeps_the_rest_exact():
    image = draw_person(STANDING)
    valid = np.ones(14, bool)
    rng = np.random.default_rng(0)
    line = cut_line(STANDING, valid, rng, kind="waist_up")
    gone = cut_off(STANDING, line)
    assert gone[LEGS].all() and not gone[[2, 3, 8, 9, 12, 13]].any()     # knees, ankles out; hips, torso in
    cut = apply_cut(image, line)
    below = int(STANDING[[1, 4], 1].min())
    assert (cut[below:] == 0).all() and (cut[:int(STANDING[[2, 3], 1].max())] == image[:int(STANDING[[2, 3], 1].max())]).all()


def test_cut_shares_choose_the_kind_of_cut():
    valid = np.ones(14, bool)
    rng = np.random.default_rng(3)
    for _ in range(20):                                                 # chest-up only: hips go, shoulders stay
        gone = cut_off(STANDING, cut_line(STANDING, valid, rng, shares=[0, 1, 0, 0]))
        assert gone[[2, 3] + LEGS].all() and not gone[[8, 9, 12, 13]].any()
    for _ in range(20):                                                 # knees-up only: ankles go, knees stay
        gone = cut_off(STANDING, cut_line(STANDING, valid, rng, shares=[0, 0, 1, 0]))
        assert gone[[0, 5]].all() and not gone[[1, 4, 2, 3]].any()


def _sample_and_its_cut(monkeypatch, seed, **options):
    """stage1_sample of the standing figure, and which of its output joints the truncation cut off (the cut line
    it drew, mirrored with the crop where the crop was mirrored)."""
    import pose_track.training.augment as augment
    import pose_track.training.framing as framing

    drawn = {"line": None, "flip": False}
    real_cut_line, real_crop_matrix = framing.cut_line, augment.crop_matrix

    def cut_line(*args, **kwargs):
        drawn["line"] = real_cut_line(*args, **kwargs)
        return drawn["line"]

    def crop_matrix(box, size, angle=0.0, flip=False):
        drawn["flip"] = flip
        return real_crop_matrix(box, size, angle, flip)

    monkeypatch.setattr(framing, "cut_line", cut_line)
    monkeypatch.setattr(augment, "crop_matrix", crop_matrix)
    sample = stage1_sample(draw_person(STANDING), STANDING, np.ones(14, bool), 64, np.random.default_rng(seed),
                           **options)
    gone = np.zeros(14, bool) if drawn["line"] is None else cut_off(STANDING, drawn["line"])
    return sample, gone[FLIP] if drawn["flip"] else gone


def test_truncated_sample_leaves_cut_joints_out_of_the_loss_and_teaches_them_outside(monkeypatch):
    seen_cut = cut_in_crop = 0
    for seed in range(40):
        (crop, target, mask, inside, known), cut = _sample_and_its_cut(monkeypatch, seed, truncate_p=1.0)
        in_crop = (np.abs(target) <= 0.5).all(1)
        assert known.all()                                   # every joint is labelled: in or out is known
        assert not inside[cut].any() and not mask[cut].any()     # cut off: outside, never in the coordinate loss
        assert inside[~cut & in_crop].all() and mask[~cut & in_crop].all()     # the rest as the crop frames it
        seen_cut += int(cut.any())
        cut_in_crop += int((cut & in_crop).any())
    assert seen_cut >= 30
    assert cut_in_crop >= 5          # joints the crop still frames, outside because the cut blacked them out


def test_an_edge_framed_crop_ends_at_the_cut_and_holds_every_kept_joint():
    valid = np.ones(14, bool)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        angle = float(rng.uniform(-60, 60))              # a leaning or lying body: the crop turns with the cut
        a = np.deg2rad(angle)
        turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        joints = ((STANDING - STANDING.mean(0)) @ turn.T + [200, 200]).astype(np.float32)
        line = cut_line(joints, valid, rng, kind="waist_up")
        kept = ~cut_off(joints, line)
        box, crop_angle = edge_framing(joints, kept, line, 50.0, rng, max_turn=0.0)
        m = crop_matrix(box, 64, crop_angle)
        inside = apply_affine(m, joints[kept])
        assert (inside >= -0.5).all() and (inside <= 63.5).all()          # every kept joint in the crop
        normal, offset = line
        on_line = np.array(box[:2]) + (offset - np.dot(box[:2], normal)) * normal   # the cut line's nearest point
        edge = apply_affine(m, on_line[None])[0]
        assert min(abs(edge[0] - 31.5), abs(edge[1] - 31.5)) < 1e-3           # on the crop's middle line ...
        assert 0.44 * 64 <= max(abs(edge[0] - 31.5), abs(edge[1] - 31.5)) <= 0.53 * 64     # ... at its edge


def test_edge_framed_samples_keep_the_cut_joints_out_of_the_loss(monkeypatch):
    seen_cut = 0
    for seed in range(20):
        (crop, target, mask, inside, known), cut = _sample_and_its_cut(monkeypatch, seed, truncate_p=1.0, edge_p=1.0)
        assert not inside[cut].any() and not mask[cut].any()
        assert inside[~cut].any() and (np.abs(target[mask]) <= 0.5).all()
        seen_cut += int(cut.any())
    assert seen_cut >= 15


def test_a_portrait_crop_is_upright_on_the_body_cut_below_the_shoulders_and_filled_by_what_is_kept():
    from pose_track.engines.joints import J
    from pose_track.training.framing import PORTRAIT_TURN, portrait_framing

    valid = np.ones(14, bool)
    ends_at_cut = runs_past = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        a = np.deg2rad(float(rng.uniform(-120, 120)))        # a leaning, lying or upside-down body in the image
        turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        joints = ((STANDING - STANDING.mean(0)) @ turn.T + [300, 300]).astype(np.float32)
        line, box, angle = portrait_framing(joints, valid, rng)
        gone = cut_off(joints, line)
        assert gone[LEGS].all() and not gone[[8, 9, 12, 13]].any()      # legs out; shoulders, neck, head in
        crop = (apply_affine(crop_matrix(box, 64, angle), joints) - 31.5) / 64
        kept = crop[~gone]                           # in the crop, but for a sliver above the cut (its edge)
        assert (np.abs(kept[:, 0]) <= 0.5).all() and (kept[:, 1] >= -0.5).all() and (kept[:, 1] <= 0.53).all()
        axis = crop[[2, 3]].mean(0) - crop[J["neck"]]                    # neck to mid-hip: down the crop
        assert abs(np.degrees(np.arctan2(axis[0], axis[1]))) <= PORTRAIT_TURN + 1e-3
        normal, offset = line
        on_line = np.array(box[:2]) + (offset - np.dot(box[:2], normal)) * normal
        edge_y = (apply_affine(crop_matrix(box, 64, angle), on_line[None])[0, 1] - 31.5) / 64
        assert edge_y - crop[J["head_top"], 1] >= 0.5     # head to cut fills the crop (a whole body's: under 0.35)
        ends_at_cut += abs(edge_y - 0.5) <= 0.05
        runs_past += edge_y < 0.45                                       # black below the cut, in the crop
    assert ends_at_cut >= 8 and runs_past >= 8


def test_portrait_samples_keep_the_cut_joints_out_of_the_loss():
    image = draw_person(STANDING)
    valid = np.ones(14, bool)
    for seed in range(20):
        crop, target, mask, inside, known = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(seed),
                                                          portrait_p=1.0)
        assert not inside[LEGS].any() and inside[[8, 9, 12, 13]].all()
        assert not (mask & ~inside).any() and (np.abs(target[mask]) <= 0.5).all()


def _sharpness(image):
    return float(np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F)).mean())


def test_mixed_sharpness_sharpens_cut_crops_softens_whole_ones_and_keeps_the_targets():
    from pose_track.training.framing import mix_sharpness

    image = draw_person(STANDING)
    valid = np.ones(14, bool)
    crop = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(0), augment=False)[0]
    assert _sharpness(mix_sharpness(crop, True, np.random.default_rng(1))) > 1.2 * _sharpness(crop)
    assert _sharpness(mix_sharpness(crop, False, np.random.default_rng(1))) < 0.9 * _sharpness(crop)
    for seed in range(10):
        plain = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(seed), truncate_p=0.5)
        mixed = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(seed), truncate_p=0.5,
                              sharpness_p=1.0)
        for a, b in zip(plain[1:], mixed[1:]):          # the same crop geometry: targets and masks unchanged
            np.testing.assert_array_equal(a, b)
        assert mixed[0].shape == plain[0].shape and mixed[0].dtype == np.uint8 and (mixed[0] != plain[0]).any()


def test_background_crops_hold_no_labelled_joint():
    rng = np.random.default_rng(0)
    images, joints = [], []
    for k in range(6):
        canvas = np.full((300, 400, 3), 80, np.uint8)
        pose = STANDING + [40 + 40 * k, 60]
        canvas[int(pose[:, 1].min()):int(pose[:, 1].max()), int(pose[:, 0].min()):int(pose[:, 0].max())] = 255
        images.append(canvas)
        joints.append(pose)
    bank = SceneBank(images, np.array(joints, np.float32), np.ones((6, 14), bool))
    made = 0
    for _ in range(60):
        found = background_crop(bank, 64, rng)
        if found is None:
            continue
        crop, i, m = found
        made += 1
        in_crop = apply_affine(m, bank.joints[i])
        assert not ((in_crop >= 0) & (in_crop <= 63)).all(1).any()
        assert crop.max() < 255                              # no pixel of the person's box either
    assert made >= 30


class _PersonBackend:
    """Stage 1 answers a fixed pose in the crop with the given presence and in-picture; refiners do nothing."""

    def __init__(self, presence, inside):
        self.presence, self.inside = presence, np.asarray(inside, np.float32)

    def run(self, stage, batch):
        n = len(batch)
        coords = np.tile(((STANDING - 60) / 160.0)[None], (n, 1, 1)).astype(np.float32)
        spread = np.full((n, 14), 0.01, np.float32)
        if stage:
            return np.zeros_like(coords), spread
        return coords, spread, np.full(n, self.presence, np.float32), np.tile(self.inside, (n, 1))


def _cascade(presence, inside):
    return Cascade(_PersonBackend(presence, inside), ModelConfig(Architecture(num_stages=2, person_head=True)))


def test_cascade_reports_nobody_and_joints_out_of_the_picture_as_empty():
    image = np.zeros((160, 160, 3), np.uint8)
    box = [[60, 60, 160]]
    nobody = _cascade(0.1, np.ones(14)).predict(image, box)
    joints, conf = nobody.reported()
    assert not nobody.found[0] and np.isnan(joints).all() and np.isnan(conf).all()
    inside = np.ones(14)
    inside[LEGS] = 0.05
    waist_up = _cascade(0.9, inside).predict(image, box)
    joints, conf = waist_up.reported()
    assert np.isnan(joints[0, LEGS]).all() and np.isfinite(joints[0, [2, 3, 8, 9, 12, 13]]).all()
    # Confidence is P(person) x P(correct | person).
    assert np.allclose(waist_up.confidence, 0.9 * _cascade(1.0, inside).predict(image, box).confidence, atol=1e-6)


class _CountingPersonBackend(_PersonBackend):
    """Stage 1 as _PersonBackend (presence per box from a list); refiners move every joint by 2 px; counts calls."""

    def __init__(self, presences, inside):
        super().__init__(0.0, inside)
        self.presences, self.refiner_calls = np.asarray(presences, np.float32), 0

    def run(self, stage, batch):
        coords, spread, *person = super().run(stage, batch)
        if stage:
            self.refiner_calls += 1
            return np.full_like(coords, 2.0 / 48.0), spread
        return coords, spread, self.presences[:len(batch)], person[1]


def test_refiners_are_skipped_where_stage_1_finds_nobody_in_any_box():
    image = np.zeros((400, 400, 3), np.uint8)
    config = ModelConfig(Architecture(num_stages=2, person_head=True))
    for presences, refined in (((0.1, 0.2), False), ((0.1, 0.7), True)):
        backend = _CountingPersonBackend(presences, np.ones(14))
        result = Cascade(backend, config).predict(image, [[80, 80, 160], [120, 120, 160]])
        assert backend.refiner_calls == int(refined)
        assert len(result.stages) == 2
        moved = np.abs(result.stages[1] - result.stages[0]).max()
        assert (moved > 0.5) if refined else (moved == 0)
        assert result.found.tolist() == [p >= 0.5 for p in presences]
        # Where nobody is found, the joints to look closer at are stage 1's.
        assert np.isfinite(result.placed()).all()
    # Training's fits and label checks read the refined joints of every labelled person.
    backend = _CountingPersonBackend((0.1, 0.2), np.ones(14))
    result = Cascade(backend, config, refine_nobody=True).predict(image, [[80, 80, 160], [120, 120, 160]])
    assert backend.refiner_calls == 1 and np.abs(result.stages[1] - result.stages[0]).max() > 0.5


def test_images_writes_an_empty_row_for_a_person_free_picture(tmp_path):
    from pose_track.commands.images import process_images

    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "wall.jpg"), np.full((120, 90, 3), 120, np.uint8))
    inside = np.ones(14)
    inside[LEGS] = 0.0
    for presence, expect_empty in ((0.05, list(range(14))), (0.95, LEGS)):
        out = str(tmp_path / f"poses{presence}.csv")
        process_images(str(folder), PoseEstimator(cascade=_cascade(presence, inside)), out)
        row = next(r for r in csv.DictReader(open(out)))
        names = [k[:-2] for k in row if k.endswith("_x")]
        empty = [j for j, name in enumerate(names) if row[f"{name}_x"] == ""]
        assert empty == sorted(expect_empty)
        assert all(row[f"{names[j]}_conf"] == "" for j in empty)


def test_old_results_without_presence_count_every_joint_in():
    r = CascadeResult(np.zeros((1, 14, 2), np.float32), np.ones((1, 14), np.float32), [])
    joints, _ = r.reported()
    assert r.found.all() and np.isfinite(joints).all()


class _MidRange:
    """An rng drawing the middle of every range: the veil centred on the crop, of middle strength."""

    def uniform(self, low, high, size=None):
        mid = (low + high) / 2.0
        return mid if size is None else np.full(size, mid)

    def random(self):
        return 0.0


def test_glare_veil_brightens_and_washes_out_a_crop_and_keeps_the_targets():
    from pose_track.training.framing import degrade, veil

    image = draw_person(STANDING)
    valid = np.ones(14, bool)
    crop = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(0), augment=False)[0]
    veiled = veil(crop, _MidRange()).astype(float)
    centre, corner = veiled[28:36, 28:36], veiled[:8, :8]
    assert centre.mean() > 180 and centre.mean() > crop[28:36, 28:36].mean() + 40     # brightest at its centre
    assert centre.mean() > corner.mean() and veiled.std() < 0.6 * crop.std()         # contrast washed out
    for seed in range(10):
        veiled = degrade(crop, np.random.default_rng(seed), blur_p=0, noise_p=0, jpeg_p=0, glare_p=1.0)
        assert veiled.shape == crop.shape and veiled.dtype == np.uint8 and veiled.std() < crop.std()
        plain = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(seed), real_video=True)
        glared = stage1_sample(image, STANDING, valid, 64, np.random.default_rng(seed), real_video=True, glare_p=1.0)
        for a, b in zip(plain[1:], glared[1:]):
            assert np.array_equal(a, b)


def test_motion_blur_smears_a_point_over_3_to_blur_max_pixels():
    from pose_track.training.framing import degrade

    point = np.zeros((96, 96, 3), np.uint8)
    point[48, 48] = 255
    lengths = set()
    for seed in range(60):
        smeared = degrade(point, np.random.default_rng(seed), blur_p=1.0, noise_p=0, jpeg_p=0, blur_max=40)
        ys, xs = np.nonzero(smeared[..., 0])
        lengths.add(int(np.ceil(max(np.ptp(ys), np.ptp(xs)) + 1)))
    assert min(lengths) >= 2 and max(lengths) <= 40 and max(lengths) > 20     # longer than the default's 13
    for seed in range(30):
        smeared = degrade(point, np.random.default_rng(seed), blur_p=1.0, noise_p=0, jpeg_p=0)
        ys, xs = np.nonzero(smeared[..., 0])
        assert max(np.ptp(ys), np.ptp(xs)) + 1 <= 13


def test_a_chest_up_picture_is_4_by_3_holds_head_and_shoulders_not_the_hips_and_keeps_the_joints_exact(tmp_path):
    from types import SimpleNamespace

    from pose_track.engines.joints import J
    from pose_track.training.framing_eval import chest_up

    image = draw_person(STANDING)
    path = tmp_path / "person.png"
    cv2.imwrite(str(path), image)
    lying = STANDING[:, ::-1].copy()                       # hips beside the shoulders: not framed so
    data = SimpleNamespace(paths=[str(path), str(path)], joints=[STANDING, lying], valid=[np.ones(14, bool)] * 2)
    (picture, joints, inside), = chest_up(data)
    h, w = picture.shape[:2]
    assert abs(w / h - 4 / 3) < 0.05 or w == image.shape[1]
    assert inside[[J["head_top"], J["neck"], J["r_shoulder"], J["l_shoulder"]]].all()
    assert not inside[[J["r_hip"], J["l_hip"], J["r_knee"], J["l_knee"], J["r_ankle"], J["l_ankle"]]].any()
    offset = STANDING[J["neck"]] - joints[J["neck"]]      # the picture is the image's pixels from an offset
    assert np.allclose(STANDING - joints, offset) and (offset == np.round(offset)).all()
    x0, y0 = int(offset[0]), int(offset[1])
    assert (picture == image[y0:y0 + h, x0:x0 + w]).all()


def test_compression_reads_the_crop_as_the_rgb_it_is():
    from pose_track.training.framing import degrade

    crop = cv2.resize(draw_person(STANDING), (64, 64))
    crop[:20] = (220, 40, 30)                                 # strong colours: the channel order shows
    for seed in range(3):
        out = degrade(crop, np.random.default_rng(seed), blur_p=0, noise_p=0, jpeg_p=1.0)
        draws = np.random.default_rng(seed)
        for _ in range(3):                                    # blur, noise and compression are each drawn
            draws.random()
        quality = int(draws.integers(15, 70))
        ok, enc = cv2.imencode(".jpg", crop[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert np.array_equal(out, cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)[..., ::-1])
