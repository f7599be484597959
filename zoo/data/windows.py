"""Fixed-length windows over a sequence of per-frame features, and an in-memory grain source.

The SoccerNet baselines cut each half into windows of W frames: non-overlapping windows for
training, one window centred on every frame for inference. Indices past either end repeat the
first / last frame (the baselines' "replicate_last" padding).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def window_indices(num_frames: int, *, length: int, stride: int, offset: int = 0) -> np.ndarray:
    """Frame indices of windows starting every `stride` frames, shifted back by `offset`.

    Window k covers frames [k*stride - offset, k*stride - offset + length), clamped to the valid
    range. With offset = length // 2 and stride 1, window k is centred on frame k.

    Returns: int32 [num_windows, length], num_windows = ceil(num_frames / stride).
    """
    if num_frames < 1:
        raise ValueError("Cannot cut windows from an empty sequence.")
    starts = np.arange(0, num_frames, stride, dtype=np.int64) - offset
    indices = starts[:, None] + np.arange(length, dtype=np.int64)[None, :]
    return np.clip(indices, 0, num_frames - 1).astype(np.int32)


def centred_windows(features: np.ndarray, length: int, first: int, last: int) -> np.ndarray:
    """Windows centred on frames first..last-1 of `features` [frames, dim] -> [last-first, length, dim].

    Cut per chunk of frames at inference, so a whole half never exists in window form at once.
    """
    return windows_at(features, np.arange(first, last), length)


def windows_at(features: np.ndarray, centres: np.ndarray, length: int) -> np.ndarray:
    """Windows of `length` frames centred on the given frames: [n] -> [n, length, dim].

    Window k covers frames centres[k] - length // 2 ... + length - 1, the ends repeated.
    """
    indices = np.asarray(centres, np.int64)[:, None] - length // 2 + np.arange(length)[None, :]
    return features[np.clip(indices, 0, len(features) - 1)]


class ArraySource:
    """A random-access grain source over equal-length arrays held in memory.

    `source[i]` is `{name: array[i]}`. Used where a whole split fits in memory, as the SoccerNet
    feature baselines do (the 2 fps ResNet features of all training games are a few GB).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        lengths = {name: len(array) for name, array in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"Arrays of a source must have the same length, got {lengths}.")
        self._arrays = dict(arrays)
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {name: array[index] for name, array in self._arrays.items()}
