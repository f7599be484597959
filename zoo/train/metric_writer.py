"""Scalar metrics to `metrics.jsonl` and TensorBoard event files in the workdir.

Only process 0 writes. Each jsonl line is `{"step": int, "split": str, name: float, ...}`, so
`pandas.read_json(path, lines=True)` gives a table. A resumed run first drops the rows written
after the step it resumes from (they belong to steps it will redo), from the jsonl file and, by
TensorBoard's purge mechanism, from the event files: the logs read as one uninterrupted run.
A metric that cannot be computed (NaN) is `null` in the jsonl file and left out of TensorBoard.
"""

from __future__ import annotations

import json
import math
import os

import jax
import numpy as np

METRICS_FILE = "metrics.jsonl"


def drop_rows_after(path: str, step: int) -> int:
    """Rewrites a metrics.jsonl without its rows past `step`; returns how many were dropped."""
    if not os.path.isfile(path):
        return 0
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    kept = [line for line in lines if json.loads(line).get("step", 0) <= step]
    if len(kept) != len(lines):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(kept)
        os.replace(tmp, path)
    return len(lines) - len(kept)


class MetricWriter:
    """Appends to the run's logs; `resume_from` (the restored step) drops what came after it."""

    def __init__(self, workdir: str, *, resume_from: int | None = None):
        self._enabled = jax.process_index() == 0
        self._jsonl = None
        self._tensorboard = None
        if self._enabled:
            os.makedirs(workdir, exist_ok=True)
            path = os.path.join(workdir, METRICS_FILE)
            if resume_from is not None:
                drop_rows_after(path, resume_from)
            self._jsonl = open(path, "a", encoding="utf-8")
            from tensorboardX import SummaryWriter  # imported lazily: only process 0 needs it

            self._tensorboard = SummaryWriter(
                os.path.join(workdir, "tensorboard"),
                purge_step=resume_from + 1 if resume_from is not None else None)

    def write(self, step: int, scalars: dict[str, float], split: str = "train") -> None:
        if not self._enabled:
            return
        clean = {}
        for name, value in scalars.items():
            value = float(np.asarray(value)) if value is not None else math.nan
            if math.isfinite(value):
                clean[name] = value
                self._tensorboard.add_scalar(f"{split}/{name}", value, step)
            else:
                clean[name] = None
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
