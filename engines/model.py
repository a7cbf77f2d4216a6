"""The DeepPose networks in torch: an EfficientNet-Lite0 backbone, the stage-1 regressor and the refiner.

Both networks return (coords, spread): coords (B, 14, 2) in the input crop's normalised coordinates, and
spread (B, 14), the standard deviation of the soft-argmax distribution in the same units (zeros for the
fully connected heads, which have no distribution). The refiner predicts all 14 channels; the cascade keeps,
for the crop of joint i, channel i. Stage 1 with a person head (`Architecture.person_head`) also returns
presence (B,), the probability that the crop holds a person framed as in training, and inside (B, 14), each
joint's probability of lying inside the crop and the picture.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .backbone import Lite0Backbone, batch_norm, lite0_block_specs
from .config import Architecture, Decoding, ModelConfig
from .joints import FLIP_PERMUTATION, NUM_JOINTS

def cell_centres(cells: int, input_size: int, stride: int, like: torch.Tensor) -> torch.Tensor:
    """Centres of a heatmap row's cells in crop-normalised units."""
    half = (input_size - 1) / 2.0
    return (torch.arange(cells, dtype=like.dtype, device=like.device) * stride + (stride - 1) / 2.0 - half) / input_size


def local_window(logits: torch.Tensor, window: int) -> torch.Tensor:
    """The logits with every cell farther than `window` cells (in x or y) from each heatmap's peak pushed to a
    large negative value, so that a soft-argmax over them sees the strongest mode only. Index arithmetic in
    float: integer tensor ops are where ONNX consumers (TensorRT) differ most."""
    b, j, h, w = logits.shape
    peak = logits.reshape(b, j, h * w).argmax(-1).float()
    py = torch.floor(peak / w)
    px = peak - py * w
    ys = torch.arange(h, dtype=logits.dtype, device=logits.device).reshape(1, 1, h, 1)
    xs = torch.arange(w, dtype=logits.dtype, device=logits.device).reshape(1, 1, 1, w)
    near = ((ys - py.reshape(b, j, 1, 1)).abs() <= window) & ((xs - px.reshape(b, j, 1, 1)).abs() <= window)
    return torch.where(near, logits, torch.full_like(logits, -1e4))


def _moments(logits: torch.Tensor, input_size: int, stride: int):
    """Mean (b, j, 2) and spread (b, j) of softmax(logits) over the cells, in crop-normalised units."""
    b, j, h, w = logits.shape
    prob = torch.softmax(logits.reshape(b, j, h * w), dim=-1).reshape(b, j, h, w)
    xs, ys = cell_centres(w, input_size, stride, logits), cell_centres(h, input_size, stride, logits)
    px, py = prob.sum(2), prob.sum(3)            # marginals (b, j, w) and (b, j, h)
    ex, ey = (px * xs).sum(-1), (py * ys).sum(-1)
    vx = (px * xs * xs).sum(-1) - ex * ex
    vy = (py * ys * ys).sum(-1) - ey * ey
    return torch.stack([ex, ey], dim=-1), torch.sqrt(torch.clamp(0.5 * (vx + vy), min=1e-8))


def soft_argmax(logits: torch.Tensor, input_size: int, stride: int, window: int = 0):
    """Integral regression: expected location and spread under softmax(logits), in crop-normalised units.

    window > 0: the location over the cells within `window` of the peak only. A heatmap unsure which of two
    limbs is its own has two modes, and the mean of the whole map lies between them (LSP test, stage 1 PCK@0.2:
    whole map 0.763, window 3 0.772; docs/experiments.md, "Mirror view and peak window"). The spread stays the
    whole map's: two modes are exactly the doubt that the joint confidence is made from.
    """
    coords, spread = _moments(logits, input_size, stride)
    if window > 0:
        coords, _ = _moments(local_window(logits, window), input_size, stride)
    return coords, spread


class FPNHeatmapHead(nn.Module):
    """Top-down fusion of backbone taps to the finest tap, then one heatmap per joint and soft-argmax."""

    def __init__(self, tap_channels, channels: int, input_size: int, finest_stride: int, window: int = 0):
        super().__init__()
        self.window = window
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in tap_channels)
        self.smooth = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False), batch_norm(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 1, bias=False), batch_norm(channels), nn.ReLU(),
        )
        self.heatmap = nn.Conv2d(channels, NUM_JOINTS, 1)
        self.input_size, self.stride = input_size, finest_stride

    def logits(self, feats):
        x = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1])):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest") + lat(f)
        return self.heatmap(self.smooth(x))

    def decode(self, logits):
        """(coords, spread); training uses the whole map, inference the window around the peak."""
        return soft_argmax(logits, self.input_size, self.stride, 0 if self.training else self.window)

    def forward(self, feats, with_logits: bool = False):
        logits = self.logits(feats)
        coords, spread = self.decode(logits)
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


class PersonHead(nn.Module):
    """Presence and per-joint in-picture logits (B, 1 + 14) from the deepest backbone features: optionally two
    convolutions of `conv` channels (zero padding lets them tell the crop's edges), then mean and max pooling
    (max keeps a small, strong person response), then a small MLP."""

    def __init__(self, channels: int, hidden: int = 128, conv: int = 0):
        super().__init__()
        self.conv = None
        if conv:
            self.conv = nn.Sequential(nn.Conv2d(channels, conv, 1), nn.ReLU(), nn.Conv2d(conv, conv, 3, padding=1),
                                      nn.ReLU())
            channels = conv
        self.mlp = nn.Sequential(nn.Linear(2 * channels, hidden), nn.ReLU(), nn.Linear(hidden, 1 + NUM_JOINTS))

    def forward(self, deepest):
        x = deepest if self.conv is None else self.conv(deepest)
        return self.mlp(torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1))


def person_outputs(person_logits):
    """(presence (B,), inside (B, 14)) probabilities from PersonHead logits."""
    prob = torch.sigmoid(person_logits)
    return prob[:, 0], prob[:, 1:]


class _Normalize(nn.Module):
    """Takes uint8-range RGB (B, 3, H, W) float input; applies the config's mean/std inside the graph."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).reshape(1, 3, 1, 1) * 255.0)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(std).reshape(1, 3, 1, 1) * 255.0))

    def forward(self, x):
        return (x - self.mean) * self.inv_std


STAGE1_TAPS = (4, 10, 15)          # strides 8, 16, 32


class _StageNet(nn.Module):
    """A backbone + head behind the in-graph input normalisation; optionally averages each crop's heatmaps with
    its mirror image's (`flip_average`, at inference only, integral heads only)."""

    flip_average = False
    extra_sizes = ()

    def __init__(self):
        super().__init__()
        self.person = None        # a PersonHead on stage 1 of models with one

    def _enable_flip_average(self, input_size: int, stride: int, extra_sizes=()):
        """Constant index tensors (not ranges computed from traced shapes, which the ONNX export gets wrong)."""
        self.flip_average, self.extra_sizes = True, tuple(int(v) for v in extra_sizes)
        for size in (input_size,) + self.extra_sizes:
            self.register_buffer(f"mirror_pixels_{size}", torch.arange(size - 1, -1, -1), persistent=False)
            self.register_buffer(f"mirror_cells_{size}", torch.arange(size // stride - 1, -1, -1), persistent=False)
        self.register_buffer("mirror_joints", torch.tensor(FLIP_PERMUTATION), persistent=False)
        self.register_buffer("mirror_person", torch.tensor([0] + [1 + j for j in FLIP_PERMUTATION]), persistent=False)

    def forward(self, x):
        """(coords, spread), and with a person head (presence, inside) after them."""
        if self.flip_average and not self.training:
            coords, spread, _, person_logits = self._flip_averaged(x)
        else:
            coords, spread, _, person_logits = self.train_outputs(x)
        if person_logits is None:
            return coords, spread
        return (coords, spread) + person_outputs(person_logits)

    def train_outputs(self, x):
        """(coords, spread, heatmap logits or None for FC heads, person logits (B, 15) or None), one view."""
        feats = self.backbone(self.norm(x))
        coords, spread, logits = self.head(feats, with_logits=True)
        return coords, spread, logits, None if self.person is None else self.person(feats[-1])

    def _view_pair(self, x, size: int):
        """Mean heatmap and person logits of the crop (`size` px) and of its mirror image, mirrored back."""
        both = torch.cat([x, x.index_select(3, getattr(self, f"mirror_pixels_{size}"))], 0)
        feats = self.backbone(self.norm(both))
        logits = self.head.logits(feats)
        _, j, h, w = logits.shape
        views = logits.reshape(2, -1, j, h, w)      # a reshape, not a slice at the traced batch size
        mirrored = views[1].index_select(1, self.mirror_joints).index_select(3, getattr(self, f"mirror_cells_{size}"))
        person = None
        if self.person is not None:
            pviews = self.person(feats[-1]).reshape(2, -1, 1 + NUM_JOINTS)
            person = 0.5 * (pviews[0] + pviews[1].index_select(1, self.mirror_person))
        return 0.5 * (views[0] + mirrored), person

    def _flip_averaged(self, x):
        """The crop and its mirror image in one batch; the mirror's heatmaps are mirrored back (columns reversed,
        left and right joints exchanged) and the two views' logits averaged before decoding. Averaging maps
        rather than coordinates keeps one mode where the views disagree on which side is the person's left.
        index_select rather than flip: a Gather, which every ONNX consumer supports. Each extra size reads the
        same crop resized in the graph; its grid is resized back to the main one (align_corners=False keeps pixel
        and cell centres where the crop-normalised coordinates put them) and averaged in."""
        logits, person = self._view_pair(x, self.head.input_size)
        for size in self.extra_sizes:
            other = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
            other, other_person = self._view_pair(other, size)
            logits = logits + F.interpolate(other, size=logits.shape[2:], mode="bilinear", align_corners=False)
            if person is not None:
                person = person + other_person
        logits = logits / (1 + len(self.extra_sizes))
        if person is not None:
            person = person / (1 + len(self.extra_sizes))
        coords, spread = self.head.decode(logits)
        return coords, spread, logits, person


class Stage1Net(_StageNet):
    def __init__(self, arch: Architecture, decoding: Decoding):
        super().__init__()
        self.norm = _Normalize(arch.mean, arch.std)
        if arch.stage1_head == "integral":
            self.backbone = Lite0Backbone(16, STAGE1_TAPS)
            self.head = FPNHeatmapHead(self.backbone.tap_channels, arch.head_channels, arch.stage1_input, 8,
                                       decoding.decode_window)
            if arch.person_head:
                self.person = PersonHead(self.backbone.tap_channels[-1], conv=arch.person_conv)
            if decoding.stage1_flip:
                self._enable_flip_average(arch.stage1_input, 8, decoding.stage1_scales)
        elif arch.stage1_head in ("fc", "grid"):
            self.backbone = Lite0Backbone(16, (15,))
            cells = (arch.stage1_input // 32) ** 2
            self.head = FCHead(320, cells, grid=arch.stage1_head == "grid")
        else:
            raise ValueError(f"unknown stage-1 head {arch.stage1_head!r} (integral, fc or grid)")


class RefinerNet(_StageNet):
    """One network per refinement stage, shared by all joints: crop -> 14 displacement candidates."""

    def __init__(self, arch: Architecture, decoding: Decoding):
        super().__init__()
        self.norm = _Normalize(arch.mean, arch.std)
        n = arch.refiner_blocks
        specs = lite0_block_specs()
        strides = [2]
        for s in specs:
            strides.append(strides[-1] * s[3])
        # Tap the last block and the last block at stride 8 (if earlier), then fuse down to stride 8.
        last = n - 1
        s8 = max(i for i in range(n) if strides[i + 1] <= 8)
        taps = (s8, last) if s8 != last else (last,)
        self.backbone = Lite0Backbone(n, taps)
        self.head = FPNHeatmapHead(self.backbone.tap_channels, arch.head_channels, arch.refiner_input,
                                   strides[s8 + 1], decoding.refiner_decode_window)
        if decoding.refiner_flip:
            self._enable_flip_average(arch.refiner_input, strides[s8 + 1])
        if len(taps) == 2 and strides[last + 1] != 2 * strides[s8 + 1]:
            raise ValueError("refiner_blocks must end at stride 8 or 16")


def build_stages(cfg: ModelConfig) -> nn.ModuleList:
    """Every stage of the architecture, decoding as `cfg.decoding` says (the calibration is the cascade's)."""
    arch, decoding = cfg.architecture, cfg.decoding
    return nn.ModuleList([Stage1Net(arch, decoding)] + [RefinerNet(arch, decoding) for _ in range(arch.num_stages - 1)])
