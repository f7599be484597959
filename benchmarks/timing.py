"""Side-by-side timing shared by the framework comparisons (benchmarks/reid.py, benchmarks/ball_spotting.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np


def time_interleaved(runs: Mapping[str, Callable[[], object]], warmup: int, iters: int) -> dict[str, float]:
    """Median seconds per call of each blocking function in `runs`, after `warmup` untimed calls.

    The contenders take turns call by call, so a burst of other work on shared cores slows both
    alike, and the median ignores the iterations such a burst hit.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(iters):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: float(np.median(times)) for name, times in seconds.items()}


def package_version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
