"""Spots from a window classifier slid over a half: per-frame scores, then NMS (the NetVLAD++
baselines' inference)."""

from __future__ import annotations

import numpy as np
import scipy.special

from zoo.data.windows import centred_windows
from zoo.postprocess.nms import greedy_nms


def window_scores(predictor, features: np.ndarray, *, length: int, chunk: int = 2048) -> np.ndarray:
    """Class scores of every frame from the window of `length` frames centred on it.

    predictor: windows [n, length, dim] -> logits [n, classes + 1] (column 0 background).
    features: [frames, dim]. Returns sigmoid scores [frames, classes] (background dropped).
    Windows are cut per chunk of frames, so a half never exists in window form at once.
    """
    scores = []
    for first in range(0, len(features), chunk):
        last = min(first + chunk, len(features))
        logits = predictor(centred_windows(features, length, first, last))
        scores.append(scipy.special.expit(np.asarray(logits, np.float64))[:, 1:])
    return np.concatenate(scores)


def spots(
    predictor, features: np.ndarray, *, length: int, nms_window: float, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame, class_index, score) of the NMS peaks of `window_scores` (see `greedy_nms`)."""
    return greedy_nms(window_scores(predictor, features, length=length), window=nms_window, threshold=threshold)
