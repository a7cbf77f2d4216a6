"""Run the stages with torch (CPU, or CUDA with optional fp16)."""
from __future__ import annotations

import numpy as np


class TorchBackend:
    name = "torch"

    def __init__(self, model, device: str = "cpu", half: bool = False):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.half = half and self.device.type == "cuda"
        self.model = model.to(self.device).eval()
        if self.half:
            self.model.half()

    def run(self, stage: int, batch: np.ndarray):
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            if self.half:
                x = x.half()
            coords, spread = self.model[stage](x)
            return coords.float().cpu().numpy(), spread.float().cpu().numpy()
