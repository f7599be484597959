"""Scalar metrics to `metrics.jsonl` and TensorBoard event files in the workdir.

Only process 0 writes. Each jsonl line is `{"step": int, "split": str, name: float, ...}`, so
`pandas.read_json(path, lines=True)` gives a table.
"""

from __future__ import annotations

import json
import math
import os

import jax
import numpy as np


class MetricWriter:
    def __init__(self, workdir: str):
        self._enabled = jax.process_index() == 0
        self._jsonl = None
        self._tensorboard = None
        if self._enabled:
            os.makedirs(workdir, exist_ok=True)
            # Appending keeps earlier lines when a run resumes; readers take the last per step.
            self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a", encoding="utf-8")
            from tensorboardX import SummaryWriter  # imported lazily: only process 0 needs it

            self._tensorboard = SummaryWriter(os.path.join(workdir, "tensorboard"))

    def write(self, step: int, scalars: dict[str, float], split: str = "train") -> None:
        if not self._enabled:
            return
        clean = {}
        for name, value in scalars.items():
            value = float(np.asarray(value))
            clean[name] = value if math.isfinite(value) else None
            self._tensorboard.add_scalar(f"{split}/{name}", value, step)
        self._jsonl.write(json.dumps({"step": int(step), "split": split, **clean}) + "\n")
        self._jsonl.flush()
        self._tensorboard.flush()

    def close(self) -> None:
        if self._enabled:
            self._jsonl.close()
            self._tensorboard.close()


def means(metric_sums: dict[str, tuple[float, float]]) -> dict[str, float]:
    """(sum, count) pairs -> means."""
    return {name: float(total) / max(float(count), 1e-12) for name, (total, count) in metric_sums.items()}


def accumulate(into: dict[str, tuple[float, float]] | None, metrics) -> dict[str, tuple[float, float]]:
    """Adds one step's (sum, count) metrics (host numpy) to a running total."""
    metrics = {k: (float(s), float(c)) for k, (s, c) in metrics.items()}
    if into is None:
        return metrics
    return {k: (into[k][0] + s, into[k][1] + c) for k, (s, c) in metrics.items()}
