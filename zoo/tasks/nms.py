"""Greedy 1-D non-maximum suppression of per-frame scores, as the SoccerNet spotting baselines do it.

Per class: take the highest remaining frame while its score is >= threshold, keep it, and blank
the frames [frame - window/2, frame + int(window/2)) around it. All classes are processed
together, one peak per class per iteration, which gives the same result as class by class.
"""

from __future__ import annotations

import numpy as np


def greedy_nms(scores: np.ndarray, *, window: float, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peaks of each column of `scores` [frames, classes].

    Args:
      scores: per-frame scores in [0, 1] (anything >= threshold can be kept).
      window: suppression window in frames (e.g. 30 s x 2 fps = 60).
      threshold: minimum score of a kept peak; must be > -1 because suppressed frames are set to -1.

    Returns:
      (frame, class_index, score) arrays of the kept peaks, sorted by class then by score
      descending, as the baselines emit them.
    """
    if threshold <= -1:
        raise ValueError(f"The NMS threshold must be > -1, got {threshold}.")
    if window < 2:  # int(window / 2) would blank nothing and the same peak would win forever
        raise ValueError(f"The NMS window must be at least 2 frames, got {window} (eval.nms_window_seconds x framerate).")
    remaining = np.array(scores, dtype=np.float64, copy=True)
    num_frames, num_classes = remaining.shape
    frames_axis = np.arange(num_frames)[:, None]
    kept_frame, kept_class, kept_score = [], [], []
    classes = np.arange(num_classes)
    while num_frames:
        peak = remaining.argmax(axis=0)  # first maximum, like np.argmax in the baselines
        value = remaining[peak, classes]
        active = value >= threshold
        if not active.any():
            break
        kept_frame.append(peak[active])
        kept_class.append(classes[active])
        kept_score.append(value[active])
        start = np.maximum(peak - window / 2, 0).astype(np.int64)
        stop = np.minimum(peak + int(window / 2), num_frames)
        blank = (frames_axis >= start) & (frames_axis < stop) & active
        remaining[blank] = -1.0
    if not kept_frame:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float64)
    frame, klass, score = (np.concatenate(x) for x in (kept_frame, kept_class, kept_score))
    order = np.lexsort((-score, klass))
    return frame[order], klass[order], score[order]
