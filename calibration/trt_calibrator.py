"""The TensorRT INT8 entropy calibrator (IInt8EntropyCalibrator2) over one stage's crops, with its cache file.

TensorRT asks `read_calibration_cache` first: when the cache file exists, its scales are used and no batch is
ever requested, so a rebuild costs no calibration run. Otherwise `get_batch` hands TensorRT device pointers
to successive batches of crops, and `write_calibration_cache` stores the scales for next time.

tensorrt is imported when a calibrator is made, never at module import.
"""
from __future__ import annotations

import os

import numpy as np


def make_entropy_calibrator(crops: np.ndarray | None, cache_path: str, batch_size: int, input_name: str = "image",
                            log=None):
    """An IInt8EntropyCalibrator2 instance. crops: uint8/float32 NCHW (None = cache only)."""
    import tensorrt as trt

    from pose_track.engines.tensorrt_backend import DeviceBuffer

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.cache_path, self.batch_size = cache_path, int(batch_size)
            self.crops = crops
            self.index = 0
            self.buffer = None
            if crops is not None:
                self.buffer = DeviceBuffer(self.batch_size * int(np.prod(crops.shape[1:])) * 4)

        def get_batch_size(self):
            return self.batch_size

        def get_batch(self, names, *args):
            # Only whole batches: the calibration profile fixes the batch dimension to batch_size.
            if self.crops is None or self.index + self.batch_size > len(self.crops):
                return None
            batch = np.ascontiguousarray(self.crops[self.index:self.index + self.batch_size], np.float32)
            self.index += self.batch_size
            self.buffer.copy_from_host(batch)
            if log:
                log(f"calibrating: {self.index}/{len(self.crops)} crops")
            return [int(self.buffer.ptr)]

        def read_calibration_cache(self, *args):
            if os.path.isfile(self.cache_path):
                with open(self.cache_path, "rb") as f:
                    return f.read()
            return None

        def write_calibration_cache(self, cache):
            os.makedirs(os.path.dirname(os.path.abspath(self.cache_path)), exist_ok=True)
            with open(self.cache_path, "wb") as f:
                f.write(bytes(cache))

    return EntropyCalibrator()


def calibration_batch_size(n_crops: int, preferred: int) -> int:
    """A batch size that wastes few crops (TensorRT calibrates on whole batches only)."""
    return max(1, min(preferred, n_crops))
