"""The per-frame camera calibrations and player detections of SoccerNet-v2 (2 fps, per half).

`{1,2}_field_calib_ccbv.json` (a CCBV calibration, Sha et al. CVPR 2020, for every frame):

    {"size": [3, H, W],
     "predictions": [[{"homography": [h00, h01, ..., h22], "confidence": 0.93}], ...]}

one list per frame whose first entry is the frame's camera: a 3x3 homography (row-major) from
the pitch plane, in metres with the origin at the centre spot, to pixels of an H x W image, and a
confidence in [0, 1]. The official CALF-calibration code keeps the frames whose confidence is at
least 0.75 and maps image points to the pitch with the inverse homography.

`{1,2}_player_boundingbox_maskrcnn.json` (Mask R-CNN person detections for every frame):

    {"size": [3, H, W],
     "predictions": [{"bboxes": [[x1, y1, x2, y2], ...], "colors": [[c0, c1, c2], ...],
                      "scores": [...]}, ...]}

with a box and a mean colour (0-255; the official code reads the first three values) per
person; "scores" is optional. These are the keys the official CALF-calibration code and other
readers of the files use; other keys are ignored.

Readers return flat arrays (one vectorised pass per half downstream) and raise
`FrameDetectionsError` naming the file and the frame for anything unusable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.formats.errors import FileFormatError

CALIBRATION_FILE = "{half}_field_calib_ccbv.json"
PLAYERS_FILE = "{half}_player_boundingbox_maskrcnn.json"
CALIBRATION_THRESHOLD = 0.75  # the official code keeps frames whose confidence is >= this


class FrameDetectionsError(FileFormatError):
    """A calibration or player-detection file that cannot be used."""


@dataclasses.dataclass(frozen=True)
class HalfCalibration:
    """The cameras of one half, one per frame.

    image_size: (height, width) of the images the homographies map to.
    homography: float64 [F, 3, 3], pitch (x, y, 1) in metres -> image (u, v, 1) in pixels.
    confidence: float32 [F].
    """

    image_size: tuple[int, int]
    homography: np.ndarray
    confidence: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.confidence)


@dataclasses.dataclass(frozen=True)
class HalfPlayers:
    """The person detections of one half, flat, frame by frame.

    image_size: (height, width) of the images the boxes are in.
    boxes: float32 [N, 4] (x1, y1, x2, y2) pixels; colors: float32 [N, 3]; scores: float32 [N]
    (-1 where the file gives none); counts: int32 [F], detections per frame (frame f holds
    boxes[starts[f]:starts[f + 1]]).
    """

    image_size: tuple[int, int]
    boxes: np.ndarray
    colors: np.ndarray
    scores: np.ndarray
    counts: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.counts)

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    @property
    def frame_index(self) -> np.ndarray:
        """[N] the frame of every detection."""
        return np.repeat(np.arange(len(self.counts)), self.counts)


def calibration_path(game_dir: str | os.PathLike, half: int) -> str:
    return os.path.join(os.fspath(game_dir), CALIBRATION_FILE.format(half=half))


def players_path(game_dir: str | os.PathLike, half: int) -> str:
    return os.path.join(os.fspath(game_dir), PLAYERS_FILE.format(half=half))


def _load(path: Any) -> Any:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        raise FrameDetectionsError(path, "missing file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FrameDetectionsError(path, f"not valid JSON (truncated?): {e}") from None


def _image_size(document: Any, path: Any) -> tuple[int, int]:
    if not isinstance(document, dict):
        raise FrameDetectionsError(path, f"expected a JSON object, got {type(document).__name__}")
    for key in ("size", "predictions"):
        if key not in document:
            raise FrameDetectionsError(path, f'missing top-level key "{key}"')
    size = document["size"]
    if not (isinstance(size, list) and len(size) == 3 and all(_is_number(v) and v > 0 for v in size)):
        raise FrameDetectionsError(path, f'"size" must be [channels, height, width], got {size!r}')
    if not isinstance(document["predictions"], list):
        raise FrameDetectionsError(path, '"predictions" must be a list with one entry per frame')
    return int(size[1]), int(size[2])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_calibration(path: str | os.PathLike) -> HalfCalibration:
    """Reads a `{half}_field_calib_ccbv.json` file."""
    document = _load(path)
    image_size = _image_size(document, path)
    frames = document["predictions"]
    homography = np.empty((len(frames), 9), np.float64)
    confidence = np.empty(len(frames), np.float32)
    for i, entry in enumerate(frames):
        camera = entry[0] if isinstance(entry, list) and entry else None
        if not isinstance(camera, dict):
            raise FrameDetectionsError(path, f"frame {i}: expected a list holding a camera object, got {entry!r:.80}")
        values, score = camera.get("homography"), camera.get("confidence")
        if not (isinstance(values, list) and len(values) == 9 and all(_is_number(v) for v in values)):
            raise FrameDetectionsError(path, f"frame {i}: homography must be 9 finite numbers, got {values!r:.80}")
        if not _is_number(score):
            raise FrameDetectionsError(path, f"frame {i}: confidence must be a number, got {score!r}")
        homography[i], confidence[i] = values, score
    return HalfCalibration(image_size, homography.reshape(-1, 3, 3), confidence)


def read_players(path: str | os.PathLike) -> HalfPlayers:
    """Reads a `{half}_player_boundingbox_maskrcnn.json` file."""
    document = _load(path)
    image_size = _image_size(document, path)
    boxes, colors, scores, counts = [], [], [], []
    for i, entry in enumerate(document["predictions"]):
        if not isinstance(entry, dict):
            raise FrameDetectionsError(path, f"frame {i}: expected an object, got {entry!r:.80}")
        frame_boxes, frame_colors = entry.get("bboxes", []), entry.get("colors", [])
        frame_scores = entry.get("scores")
        if not isinstance(frame_boxes, list) or not isinstance(frame_colors, list):
            raise FrameDetectionsError(path, f'frame {i}: "bboxes" and "colors" must be lists')
        if len(frame_colors) != len(frame_boxes) or (
                frame_scores is not None and len(frame_scores) != len(frame_boxes)):
            raise FrameDetectionsError(
                path, f"frame {i}: {len(frame_boxes)} boxes but {len(frame_colors)} colors"
                + ("" if frame_scores is None else f" and {len(frame_scores)} scores"))
        for j, (box, color) in enumerate(zip(frame_boxes, frame_colors)):
            if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
                raise FrameDetectionsError(path, f"frame {i}, box {j}: expected [x1, y1, x2, y2], got {box!r:.80}")
            if not (isinstance(color, list) and len(color) >= 3 and all(_is_number(v) for v in color[:3])):
                raise FrameDetectionsError(
                    path, f"frame {i}, box {j}: expected a colour of 3 numbers, got {color!r:.80}")
            boxes.append(box)
            colors.append(color[:3])
        if frame_scores is None:
            scores.extend([-1.0] * len(frame_boxes))
        else:
            if not all(_is_number(v) for v in frame_scores):
                raise FrameDetectionsError(path, f"frame {i}: scores must be numbers")
            scores.extend(frame_scores)
        counts.append(len(frame_boxes))
    return HalfPlayers(
        image_size,
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.asarray(colors, np.float32).reshape(-1, 3),
        np.asarray(scores, np.float32),
        np.asarray(counts, np.int32),
    )


def _write(path: str | os.PathLike, image_size: tuple[int, int], predictions: list) -> None:
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump({"size": [3, int(image_size[0]), int(image_size[1])], "predictions": predictions}, f)


def write_calibration(path: str | os.PathLike, calibration: HalfCalibration) -> None:
    """Writes a calibration file in the official form (homographies rounded to 9 digits)."""
    predictions = [
        [{"homography": [float(f"{v:.9g}") for v in h.reshape(-1)], "confidence": round(float(c), 4)}]
        for h, c in zip(calibration.homography, calibration.confidence)
    ]
    _write(path, calibration.image_size, predictions)


def write_players(path: str | os.PathLike, players: HalfPlayers) -> None:
    """Writes a player-detection file in the official form (boxes to 0.1 px, integer colours)."""
    predictions = []
    starts = players.starts
    for f in range(players.num_frames):
        frame = slice(starts[f], starts[f + 1])
        predictions.append({
            "bboxes": [[round(float(v), 1) for v in box] for box in players.boxes[frame]],
            "colors": [[round(float(v)) for v in color] for color in players.colors[frame]],
            "scores": [round(float(v), 3) for v in players.scores[frame]],
        })
    _write(path, players.image_size, predictions)


def frame_count_problems(
    num_feature_frames: int, files: Sequence[tuple[str, int]]
) -> list[str]:
    """Mismatches between the features' frame count and each file's, as readable lines.

    files: (path, frames in the file) pairs.
    """
    return [
        f"{path}: {frames} frames, but the features have {num_feature_frames} "
        f"({'missing the last' if frames < num_feature_frames else 'extra'} {abs(frames - num_feature_frames)})"
        for path, frames in files if frames != num_feature_frames
    ]
