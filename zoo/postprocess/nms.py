"""1-D non-maximum suppression of per-frame scores, as the SoccerNet spotting baselines do it.

`greedy_nms` is the SoccerNet-v2 baselines' (window centred, half-open); `window_nms` and
`soft_nms` are the frame-level spotters' (E2E-Spot, T-DEED: +-window, inclusive). For
`greedy_nms`: per class: take the highest remaining frame while its score is >= threshold, keep it, and blank
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


def _candidates(scores: np.ndarray, threshold: float):
    """Per class, the frames whose score is >= threshold and their scores, frame-ordered."""
    for klass in range(scores.shape[1]):
        frames = np.flatnonzero(scores[:, klass] >= threshold)
        yield klass, frames, scores[frames, klass].astype(np.float64)


def window_nms(scores: np.ndarray, *, window: int, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hard NMS of per-frame scores with a +-window neighbourhood (E2E-Spot / T-DEED post-processing).

    Per class: take the highest-scoring candidate (the earliest on ties), keep it, drop every
    candidate within [frame - window, frame + window], repeat while the best is >= threshold.

    Args:
      scores: [frames, classes] per-frame scores.
      window: half-width of the suppression neighbourhood, in frames.
      threshold: minimum score of a kept peak.

    Returns:
      (frame, class_index, score) of the kept peaks, sorted by frame.
    """
    if window < 0:
        raise ValueError(f"The NMS window must be >= 0 frames, got {window}.")
    kept = []
    for klass, frames, values in _candidates(scores, threshold):
        alive = np.ones(len(frames), bool)
        while alive.any():
            best = int(np.argmax(np.where(alive, values, -np.inf)))
            kept.append((frames[best], klass, values[best]))
            lo = np.searchsorted(frames, frames[best] - window, side="left")
            hi = np.searchsorted(frames, frames[best] + window, side="right")
            alive[lo:hi] = False
    return _sorted_by_frame(kept)


def soft_nms(scores: np.ndarray, *, window: int, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft NMS of per-frame scores (the T-DEED post-processing).

    Per class: take the highest-scoring remaining candidate (the earliest on ties) while it is
    >= threshold, keep it with its current score, and multiply the score of every other remaining
    candidate at distance d <= window by (d / window)^2, so close neighbours fade instead of
    vanishing and a strong second action a few frames away can still be kept.

    Args:
      scores: [frames, classes] per-frame scores.
      window: neighbourhood half-width in frames (T-DEED: 12 frames at stride 2).
      threshold: minimum (decayed) score of a kept peak; also the candidate threshold.

    Returns:
      (frame, class_index, score) of the kept peaks, sorted by frame.
    """
    if window < 1:
        raise ValueError(f"The soft-NMS window must be >= 1 frame, got {window}.")
    kept = []
    for klass, frames, values in _candidates(scores, threshold):
        values = values.copy()
        alive = np.ones(len(frames), bool)
        while alive.any():
            best = int(np.argmax(np.where(alive, values, -np.inf)))
            if values[best] < threshold:
                break
            kept.append((frames[best], klass, values[best]))
            alive[best] = False
            lo = np.searchsorted(frames, frames[best] - window, side="left")
            hi = np.searchsorted(frames, frames[best] + window, side="right")
            distance = np.abs(frames[lo:hi] - frames[best]).astype(np.float64)
            values[lo:hi] *= (distance / window) ** 2
    return _sorted_by_frame(kept)


def _sorted_by_frame(kept: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not kept:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float64)
    frame, klass, score = (np.asarray(x) for x in zip(*kept))
    order = np.lexsort((klass, frame))
    return frame[order].astype(np.int64), klass[order].astype(np.int64), score[order].astype(np.float64)
