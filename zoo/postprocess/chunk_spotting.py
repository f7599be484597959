"""Chunk-wise inference of a whole half with a model that spots a fixed number of actions per
chunk (CALF), as the official CALF test does.

The half is cut into chunks of T frames that overlap by the receptive field RF: chunk i starts at
i * (T - 2 * (RF // 2)) and the last chunk ends at the last frame. Each chunk's N action vectors
(confidence, position in [0, 1], class probabilities) become per-frame scores: the action goes
to frame floor(position * (T - 1)) and class argmax, with its confidence (a later vector of the
same chunk overwrites an earlier one on the same cell). Each chunk then contributes only its
middle part, [RF // 2, T - RF // 2), the first chunk from frame 0 and the last one to its end,
so every frame is predicted by the chunk that sees the most context around it. Frames without
an action hold -1. Per-class NMS (`zoo.postprocess.nms.greedy_nms`, the official CALF window of
20 s and threshold 0) then gives the spots.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def chunk_starts(num_frames: int, chunk_size: int, receptive_field: int) -> np.ndarray:
    """First frames of the chunks that cover a half of `num_frames` (>= 1) frames: [n] int."""
    stride = chunk_size - 2 * (receptive_field // 2)
    if stride < 1:
        raise ValueError(f"The receptive field ({receptive_field}) leaves no frame of a {chunk_size}-frame chunk.")
    starts, start = [], 0
    while True:
        if start + chunk_size >= num_frames:
            starts.append(max(num_frames - chunk_size, 0))
            return np.asarray(starts, np.int64)
        starts.append(start)
        start += stride


def chunk_frames(num_frames: int, chunk_size: int, receptive_field: int) -> np.ndarray:
    """Frame indices of every chunk: [n, T], clipped to the half (a half shorter than a chunk
    repeats its last frame; those predictions are dropped when stitching)."""
    starts = chunk_starts(num_frames, chunk_size, receptive_field)
    return np.minimum(starts[:, None] + np.arange(chunk_size)[None], num_frames - 1)


def stitch_spotting(
    spotting: np.ndarray, num_frames: int, chunk_size: int, receptive_field: int
) -> np.ndarray:
    """Per-frame scores [F, C] (-1 where nothing) from the chunks' action vectors [n, N, 2 + C]."""
    starts = chunk_starts(num_frames, chunk_size, receptive_field)
    if len(spotting) != len(starts):
        raise ValueError(f"{len(spotting)} chunks of predictions for {len(starts)} chunks of the half.")
    n, _, width = spotting.shape
    num_classes = width - 2
    half_field = receptive_field // 2
    scores = np.full((max(num_frames, chunk_size), num_classes), -1.0)
    frames = np.floor(spotting[..., 1] * (chunk_size - 1)).astype(np.int64)
    classes = np.argmax(spotting[..., 2:], axis=-1)
    for i, start in enumerate(starts):
        chunk = np.full((chunk_size, num_classes), -1.0)
        chunk[frames[i], classes[i]] = spotting[i, :, 0]  # numpy keeps the last of repeated cells
        first = 0 if i == 0 else half_field
        last = chunk_size if i == n - 1 else chunk_size - half_field
        scores[start + first:start + last] = chunk[first:last]
    return scores[:num_frames]


def merge_class_subsets(
    spots: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    classes: Sequence[Sequence[str]],
    all_classes: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spots of networks that each spot a subset of the classes, in `all_classes` indices.

    spots: per network (frame, class_index, confidence) with class indices into its own subset;
    classes: per network its class names. The subsets must not overlap (the calibration paper's
    patterned and fuzzy networks).
    """
    seen: set[str] = set()
    frames, indices, scores = [], [], []
    for (frame, klass, score), names in zip(spots, classes, strict=True):
        overlap = seen & set(names)
        if overlap:
            raise ValueError(f"Class subsets overlap on {sorted(overlap)}.")
        seen |= set(names)
        lookup = np.array([list(all_classes).index(name) for name in names], np.int64)
        frames.append(np.asarray(frame, np.int64))
        indices.append(lookup[np.asarray(klass, np.int64)])
        scores.append(np.asarray(score, np.float64))
    return np.concatenate(frames), np.concatenate(indices), np.concatenate(scores)
