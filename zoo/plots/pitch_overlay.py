"""The pitch as a camera sees it, drawn over the image: a look at a calibration.

Every pitch element is projected with the camera (960x540, lens distortion included) exactly as
the evaluator draws it (`zoo.metrics.calibration.project_pitch`: sampled every 0.9 m, circles
every 0.2 m, cut at the image border), scaled to the image's size and drawn in one colour per
element family; the camera's confidence is written in a corner. OpenCV only.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from zoo.geometry.camera import Camera
from zoo.metrics.calibration import project_pitch

# BGR colours by element family.
_COLOURS = {"Circle": (0, 200, 255), "Goal": (255, 80, 255), "Side": (255, 255, 0),
            "Middle": (255, 255, 0), "Big": (80, 255, 80), "Small": (80, 160, 255)}


def draw_pitch(image_bgr: np.ndarray, camera: Camera, *, label: str = "") -> np.ndarray:
    """A copy of the image [h, w, 3] uint8 BGR with the camera's pitch drawn over it."""
    out = image_bgr.copy()
    height, width = out.shape[:2]
    single = Camera(*(np.asarray(f, np.float64)[None] for f in camera))
    polylines = project_pitch(single)
    scale = np.array([(width - 1) / 959.0, (height - 1) / 539.0])
    thickness = max(1, round(height / 270))
    for e, name in enumerate(polylines.pitch.classes):
        start, stop = polylines.starts[e], polylines.starts[e + 1]
        if stop - start == 0:
            continue
        points = np.stack([polylines.x[start:stop], polylines.y[start:stop]], -1) * scale
        colour = _COLOURS[name.split(" ")[0]]
        cv2.polylines(out, [np.round(points * 16).astype(np.int32)], False, colour, thickness,
                      cv2.LINE_AA, 4)
    if label:
        cv2.putText(out, label, (8, 8 + 14 * thickness), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thickness,
                    (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def write_overlay(path: str | os.PathLike, image_bgr: np.ndarray, camera: Camera, *, label: str = "") -> None:
    """Writes `draw_pitch(...)` as a PNG."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not cv2.imwrite(os.fspath(path), draw_pitch(image_bgr, camera, label=label)):
        raise OSError(f"{path}: could not write the overlay PNG")
