"""Top views (`zoo.geometry.top_view`) as PNGs for a look: the colour composition beside the
binary channels shown as colours (players red, visible ground green, lines blue), each scaled up
by an integer factor without smoothing. OpenCV only."""

from __future__ import annotations

import os

import cv2
import numpy as np


def top_view_image(composition: np.ndarray, channels: np.ndarray, *, scale: int = 2) -> np.ndarray:
    """One RGB image [size * scale, (2 * size + 4) * scale, 3] uint8 of a frame's composition
    [size, size, 3] and channels [size, size, 3], side by side."""
    gap = np.full((composition.shape[0], 4, 3), 128, np.uint8)
    both = np.concatenate([composition, gap, channels], axis=1)
    return np.repeat(np.repeat(both, scale, axis=0), scale, axis=1)


def write_top_view(path: str | os.PathLike, composition: np.ndarray, channels: np.ndarray, *,
                   scale: int = 2) -> None:
    """Writes `top_view_image(...)` as a PNG."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    image = cv2.cvtColor(top_view_image(composition, channels, scale=scale), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(os.fspath(path), image):
        raise OSError(f"{path}: could not write the top-view PNG")
