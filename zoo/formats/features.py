"""Official per-half feature files, `{1,2}_<kind>.npy`: float `[frames, dim]` at the kind's rate.

The kinds, their widths and frame rates are `zoo.formats.spotting.FEATURE_KINDS` (the Baidu
embeddings are 1 fps, the ResNet features 2 fps: the frame rate follows the features).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from etils import epath

from zoo.formats.errors import FileFormatError
from zoo.formats.spotting import FEATURE_KINDS


def _open(path: Any):
    return epath.Path(os.fspath(path)).open("rb")


def feature_frames(path: Any, *, error: type[FileFormatError] = FileFormatError) -> int:
    """The number of frames of a features file, from its .npy header only (nothing else is read)."""
    try:
        with _open(path) as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(f)
    except Exception as e:
        raise error(path, f"not a readable .npy file (truncated or corrupt?): {e}") from e
    if len(shape) != 2:
        raise error(path, f"features of shape {shape}, expected [frames, dim]")
    return int(shape[0])


def read_features(path: Any, *, kind: str, error: type[FileFormatError] = FileFormatError) -> np.ndarray:
    """A whole features file as float32 `[frames, dim]`, checked: readable, the kind's width, at
    least one frame, floats, all finite. Raises `error` naming the file otherwise."""
    dim, _ = FEATURE_KINDS[kind]
    try:
        with _open(path) as f:
            features = np.load(f, allow_pickle=False)
    except Exception as e:
        raise error(path, f"not a readable .npy file (truncated or corrupt?): {e}") from e
    if features.ndim != 2 or features.shape[1] != dim:
        raise error(path, f"features of shape {features.shape}, expected [frames, {dim}] for {kind}")
    if features.shape[0] == 0:
        raise error(path, "no frames")
    if not np.issubdtype(features.dtype, np.floating):
        raise error(path, f"features of dtype {features.dtype}, expected floats")
    finite = np.isfinite(features)
    if not finite.all():
        frame = int(np.argwhere(~finite)[0, 0])
        raise error(path, f"{int((~finite).sum())} NaN or infinite values (first at frame {frame})")
    return features.astype(np.float32, copy=False)
