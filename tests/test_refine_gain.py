import numpy as np

from pose_track.engines.cascade import Cascade
from pose_track.engines.config import Architecture, Calibration, ModelConfig
from pose_track.training.refine_gain import best_gains

from conftest import STANDING


class ConstantBackend:
    """Stage 1 puts every joint at the box centre; each refiner moves every joint by +0.1 crop widths in x."""

    def run(self, stage, batch):
        n = len(batch)
        coords = np.zeros((n, 14, 2), np.float32)
        if stage:
            coords[..., 0] = 0.1
        return coords, np.full((n, 14), 0.05, np.float32)


def test_cascade_applies_the_refinement_gain_per_stage_and_joint():
    gains = np.ones((2, 14)); gains[0, 0] = 0.0; gains[0, 1] = 0.5; gains[1, 2] = 0.0
    cfg = ModelConfig(Architecture(stage1_input=32, refiner_input=16, sigma=1.0),
                      calibration=Calibration(refine_gain=tuple(map(tuple, gains))))
    image = np.zeros((100, 100, 3), np.uint8)
    result = Cascade(ConstantBackend(), cfg).predict(image, np.array([[50, 50, 100]], np.float32))
    s1, s2, s3 = (s[0] for s in result.stages)
    # All joints at one point: the torso diameter is clamped to 0.12 x box side = 12 px = the crop side.
    step = 0.1 * 12
    np.testing.assert_allclose(s2[:, 0] - s1[:, 0], step * gains[0], atol=1e-4)
    np.testing.assert_allclose(s3[:, 0] - s2[:, 0], step * gains[1], atol=1e-4)
    # The same config survives the checkpoint / manifest round trip.
    assert ModelConfig.from_dict(cfg.to_dict()).calibration.refine_gain == cfg.calibration.refine_gain


def test_best_gains_keep_what_helps_and_drop_what_hurts():
    rng = np.random.default_rng(0)
    truth = np.repeat(STANDING[None], 200, 0).astype(np.float64)
    diam = 40.0        # STANDING's torso diameter is in this range; the errors below are multiples of it
    before = truth + rng.normal(0, 0.15 * diam, truth.shape)
    delta = np.zeros_like(truth)
    delta[:, 0] = truth[:, 0] - before[:, 0]                 # joint 0: the refiner finds the truth
    delta[:, 1] = rng.normal(0, 0.4 * diam, (200, 2))        # joint 1: the refiner adds noise
    delta[:, 2] = 0.5 * (truth[:, 2] - before[:, 2])         # joint 2: half way is as good as it gets
    gains = best_gains(before, delta, truth, np.ones((200, 14), bool))
    assert gains[0] == 1.0 and gains[1] == 0.0 and gains[2] == 1.0
    # A joint with no valid annotation, nor its mirror twin, keeps the default.
    valid = np.ones((200, 14), bool); valid[:, [1, 4]] = False
    assert best_gains(before, delta, truth, valid)[1] == 1.0


def test_best_gains_fit_mirror_twins_together_unless_asked_not_to():
    rng = np.random.default_rng(1)
    truth = np.repeat(STANDING[None], 300, 0).astype(np.float64)
    diam = 40.0
    before = truth + rng.normal(0, 0.15 * diam, truth.shape)
    delta = np.zeros_like(truth)
    delta[:, 2] = truth[:, 2] - before[:, 2]                 # r_hip: the refiner finds the truth
    delta[:, 3] = 0.2 * (truth[:, 3] - before[:, 3])         # l_hip: it helps a little
    separate = best_gains(before, delta, truth, np.ones((300, 14), bool), symmetric=False)
    assert separate[2] == 1.0 and separate[3] == 1.0
    delta[:, 3] = rng.normal(0, 0.3 * diam, (300, 2))        # l_hip: it only adds noise
    separate = best_gains(before, delta, truth, np.ones((300, 14), bool), symmetric=False)
    pooled = best_gains(before, delta, truth, np.ones((300, 14), bool))
    assert separate[2] == 1.0 and separate[3] == 0.0
    assert pooled[2] == pooled[3] and 0.0 < pooled[2] < 1.0
    # Only one side annotated: the twin's gain comes from it (not the default 1 of a joint with no samples).
    delta[:, 2] = 2.0 * (truth[:, 2] - before[:, 2])         # r_hip: the refiner goes twice as far as it should
    valid = np.ones((300, 14), bool); valid[:, 3] = False
    assert best_gains(before, delta, truth, valid)[3] == 0.5
    assert best_gains(before, delta, truth, valid, symmetric=False)[3] == 1.0
