"""Where the time goes: seconds per named part (decode, crops, stage 1, refiners, smoothing, sinks, ...),
summed over calls. The cascade, the tracker and the run loop time their parts into one `PartTimes` when given
one (`pose-track bench` does); by default they use `NO_TIMES`, which costs a no-op context manager per part."""
from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext


class PartTimes:
    """A part timed inside another (the finder's stage-1 runs within re-acquisition) counts only as itself: the
    parts add up to the time spent in them."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._inner = []        # per open part, the seconds of the parts timed inside it

    @contextmanager
    def __call__(self, part: str):
        t0 = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            spent = time.perf_counter() - t0
            inner = self._inner.pop()
            self.add(part, spent - inner)
            self.calls[part] = self.calls.get(part, 0) + 1
            if self._inner:
                self._inner[-1] += spent

    def add(self, part: str, seconds: float) -> None:
        self.seconds[part] = self.seconds.get(part, 0.0) + seconds

    def ms_per(self, count: int) -> dict:
        """Milliseconds per item (frame) for each part."""
        return {k: 1000.0 * v / max(count, 1) for k, v in self.seconds.items()}


class _NoTimes:
    _none = nullcontext()

    def __call__(self, part: str):
        return self._none

    def add(self, part: str, seconds: float) -> None:
        pass


NO_TIMES = _NoTimes()
