"""Geometry-consistent augmentations for pitch calibration images.

A `PitchSample` is an image with what is known of its geometry, in its own pixel coordinates:
the 57 keypoints (`zoo.geometry.pitch.KEYPOINT_NAMES`; NaN where unknown or not seen) and the
annotated points of each line class (index in `LINE_CLASSES`). `PitchAugment` maps it to the
model's input size through one affine warp (a random zoom and crop, and a horizontal flip), and
moves every point with it. A flip is the view of the pitch mirrored across the halfway line, so
it also exchanges the classes of mirrored keypoints and lines (left <-> right, the left goal's
left post <-> the right goal's right post). Colour jitter and sensor noise change pixels only.

Pixel centres are at integers; resizing maps x to x (W' - 1) / (W - 1), as normalised annotations
scale.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from zoo.data.image_transforms import color_jitter
from zoo.geometry.pitch import keypoint_flip_index, line_flip_index

_KEYPOINT_FLIP = keypoint_flip_index()
_LINE_FLIP = line_flip_index()


@dataclasses.dataclass(frozen=True)
class PitchSample:
    """image uint8 RGB [H, W, 3]; keypoints [57, 2] pixels (NaN: unknown); lines: class index ->
    points [n, 2] pixels."""

    image: np.ndarray
    keypoints: np.ndarray
    lines: dict[int, np.ndarray]


def warp(sample: PitchSample, matrix: np.ndarray, size: tuple[int, int], flipped: bool) -> PitchSample:
    """The sample through the affine `matrix` [2, 3] (source -> output pixels) into an output
    of `size` (height, width); `flipped` exchanges mirrored classes (the matrix flips x)."""
    height, width = size
    image = cv2.warpAffine(sample.image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)

    def move(points):
        points = np.asarray(points, np.float64).reshape(-1, 2)
        return points @ matrix[:, :2].T + matrix[:, 2]

    keypoints = move(sample.keypoints)
    lines = {c: move(p) for c, p in sample.lines.items()}
    if flipped:
        keypoints = keypoints[_KEYPOINT_FLIP]
        lines = {int(_LINE_FLIP[c]): p for c, p in lines.items()}
    return PitchSample(image, keypoints, lines)


def resize_matrix(source: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The affine [2, 3] that resizes a source (height, width) image to `size`."""
    (h0, w0), (h1, w1) = source, size
    return np.array([[(w1 - 1) / max(w0 - 1, 1), 0.0, 0.0], [0.0, (h1 - 1) / max(h0 - 1, 1), 0.0]])


@dataclasses.dataclass(frozen=True)
class PitchAugment:
    """The training transform: `PitchAugment(size)(sample, rng)` -> a sample of `size`.

    size: (height, width) of the model input. flip: probability of a horizontal flip. zoom: the
    largest zoom factor (a crop of 1/zoom of the image, anywhere in it; 1 disables). brightness,
    contrast, saturation, hue: colour jitter (see `zoo.data.image_transforms.color_jitter`).
    noise: the largest standard deviation of Gaussian pixel noise (grey levels).
    """

    size: tuple[int, int]
    flip: float = 0.5
    zoom: float = 1.3
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    hue: float = 0.02
    noise: float = 6.0

    def __call__(self, sample: PitchSample, rng: np.random.Generator) -> PitchSample:
        height, width = sample.image.shape[:2]
        matrix = np.vstack([resize_matrix((height, width), self.size), [0.0, 0.0, 1.0]])
        zoom = rng.uniform(1.0, max(self.zoom, 1.0))
        out_h, out_w = self.size
        # Zoom about the origin, then shift so that the output window stays inside the image.
        shift = rng.uniform(0, 1, 2) * np.array([(zoom - 1) * (out_w - 1), (zoom - 1) * (out_h - 1)])
        matrix = np.array([[zoom, 0.0, -shift[0]], [0.0, zoom, -shift[1]], [0.0, 0.0, 1.0]]) @ matrix
        flipped = bool(rng.random() < self.flip)
        if flipped:
            matrix = np.array([[-1.0, 0.0, out_w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ matrix
        sample = warp(sample, matrix[:2], self.size, flipped)
        image = sample.image
        if self.brightness or self.contrast or self.saturation or self.hue:
            image = color_jitter(image, rng, brightness=self.brightness, contrast=self.contrast,
                                 saturation=self.saturation, hue=self.hue)
        if self.noise:
            sigma = rng.uniform(0, self.noise)
            image = np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
        return dataclasses.replace(sample, image=image)


def evaluation_resize(sample: PitchSample, size: tuple[int, int]) -> PitchSample:
    """Resize to the model input, nothing random."""
    return warp(sample, resize_matrix(sample.image.shape[:2], size), size, False)
