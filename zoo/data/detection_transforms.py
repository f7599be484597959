"""Detector input and augmentation (numpy + OpenCV): letterbox, mosaic, random affine, HSV, flip.

Images are uint8 BGR [h, w, 3] (as decoded by OpenCV) and boxes float tlwh [n, 4] in their pixels,
with int classes [n]. What YOLOX trains with (Ge et al. 2021; the official `MosaicDetection`):

  mosaic: four images, each letterboxed to the input size, tiled around a random centre of a
    canvas twice the input size, then one random affine (scale in `scale`, rotation, shear,
    translation) maps the canvas to the input size; boxes follow their corners and are kept
    when still wider and taller than 2 px and at least 10 % of their transformed area;
  otherwise the same random affine on one letterboxed image (random scale);
  then HSV gains and a horizontal flip.
Letterboxing (also at inference) scales by r = min(H / h, W / w) and pads bottom and right
with grey 114, so a box maps back by dividing by r.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from zoo.data.image_transforms import IMAGENET_MEAN, IMAGENET_STD

PAD_VALUE = 114
PIXEL_FORMATS = ("bgr255", "rgb_imagenet")


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio into (height, width), padded bottom-right; returns the
    image and the scale r (input pixels per original pixel)."""
    height, width = size
    r = min(height / image.shape[0], width / image.shape[1])
    resized = cv2.resize(image, (max(int(image.shape[1] * r), 1), max(int(image.shape[0] * r), 1)),
                         interpolation=cv2.INTER_LINEAR)
    out = np.full((height, width, 3), PAD_VALUE, np.uint8)
    out[: resized.shape[0], : resized.shape[1]] = resized
    return out, r


def to_model_input(images: np.ndarray, pixel_format: str) -> np.ndarray:
    """uint8 BGR [..., 3] -> float32 the way the weights were trained: "bgr255" (YOLOX >= 0.2:
    BGR 0-255) or "rgb_imagenet" (YOLOX 0.1 / ByteTrack: RGB / 255, ImageNet mean and std)."""
    if pixel_format == "bgr255":
        return images.astype(np.float32)
    if pixel_format == "rgb_imagenet":
        return (images[..., ::-1].astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    raise ValueError(f"Unknown pixel format {pixel_format!r}; expected one of {PIXEL_FORMATS}.")


def _affine_matrix(rng, out_size, in_size, scale, degrees, translate, shear) -> np.ndarray:
    """3x3: centre the input on the origin, rotate / scale, shear, move to a jittered output centre."""
    (out_h, out_w), (in_h, in_w) = out_size, in_size
    centre = np.array([[1, 0, -in_w / 2], [0, 1, -in_h / 2], [0, 0, 1]], np.float64)
    rotation = np.eye(3)
    rotation[:2] = cv2.getRotationMatrix2D((0, 0), rng.uniform(-degrees, degrees), rng.uniform(*scale))
    shearing = np.eye(3)
    shearing[0, 1] = np.tan(np.radians(rng.uniform(-shear, shear)))
    shearing[1, 0] = np.tan(np.radians(rng.uniform(-shear, shear)))
    move = np.eye(3)
    move[0, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * out_w
    move[1, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * out_h
    return move @ shearing @ rotation @ centre


def warp_boxes(tlwh: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes through a 3x3 affine: the box around the moved corners, clipped to size (h, w).
    Returns the new boxes and which survive (> 2 px each way, >= 10 % of the moved area)."""
    if not len(tlwh):
        return tlwh.reshape(0, 4), np.zeros(0, bool)
    x0, y0 = tlwh[:, 0], tlwh[:, 1]
    x1, y1 = x0 + tlwh[:, 2], y0 + tlwh[:, 3]
    corners = np.stack([np.stack([x0, y0]), np.stack([x1, y0]), np.stack([x0, y1]), np.stack([x1, y1])])
    corners = np.concatenate([corners, np.ones((4, 1, len(tlwh)))], axis=1)  # [4, 3, n]
    moved = np.einsum("ij,kjn->kin", matrix[:2], corners)  # [4, 2, n]
    lo, hi = moved.min(axis=0), moved.max(axis=0)  # [2, n]
    area_before = (hi[0] - lo[0]) * (hi[1] - lo[1])
    lo = np.clip(lo, 0, [[size[1]], [size[0]]])
    hi = np.clip(hi, 0, [[size[1]], [size[0]]])
    w, h = hi[0] - lo[0], hi[1] - lo[1]
    keep = (w > 2) & (h > 2) & (w * h >= 0.1 * np.maximum(area_before, 1e-9))
    return np.stack([lo[0], lo[1], w, h], axis=1), keep


@dataclasses.dataclass(frozen=True)
class DetectionAugment:
    """Training augmentation of one example (see the module docstring); every probability or range
    0 switches its part off."""

    size: tuple[int, int]  # model input (height, width)
    mosaic: float = 0.5  # probability of a mosaic
    scale: tuple[float, float] = (0.5, 1.5)
    degrees: float = 0.0
    translate: float = 0.1
    shear: float = 0.0
    hsv: tuple[float, float, float] = (0.015, 0.7, 0.4)  # hue, saturation, value gain ranges
    flip: float = 0.5

    def __call__(self, examples, rng: np.random.Generator):
        """examples: 4 (image, tlwh, classes) when a mosaic is drawn, else the first is used.
        Returns (image uint8 BGR [H, W, 3], tlwh [n, 4], classes [n])."""
        height, width = self.size
        if len(examples) >= 4 and rng.uniform() < self.mosaic:
            canvas, boxes, classes = self._tile(examples[:4], rng)
        else:
            canvas, r = letterbox(examples[0][0], self.size)
            boxes, classes = np.asarray(examples[0][1], np.float64) * r, np.asarray(examples[0][2])
        matrix = _affine_matrix(rng, self.size, canvas.shape[:2], self.scale, self.degrees, self.translate,
                                self.shear)
        image = cv2.warpAffine(canvas, matrix[:2], (width, height), borderValue=(PAD_VALUE,) * 3)
        boxes, keep = warp_boxes(boxes.reshape(-1, 4), matrix, self.size)
        boxes, classes = boxes[keep], classes[keep]
        if any(self.hsv):
            image = self._hsv(image, rng)
        if rng.uniform() < self.flip:
            image = np.ascontiguousarray(image[:, ::-1])
            boxes = boxes.copy()
            boxes[:, 0] = width - boxes[:, 0] - boxes[:, 2]
        return image, boxes, classes

    def _tile(self, examples, rng):
        height, width = self.size
        canvas = np.full((2 * height, 2 * width, 3), PAD_VALUE, np.uint8)
        xc, yc = int(rng.uniform(0.5 * width, 1.5 * width)), int(rng.uniform(0.5 * height, 1.5 * height))
        all_boxes, all_classes = [], []
        for k, (image, tlwh, classes) in enumerate(examples):
            r = min(height / image.shape[0], width / image.shape[1])
            image = cv2.resize(image, (max(int(image.shape[1] * r), 1), max(int(image.shape[0] * r), 1)))
            h, w = image.shape[:2]
            # Quadrant k: the image's corner touching the centre is bottom-right, bottom-left,
            # top-right, top-left for k = 0..3 (as the official mosaic places them).
            x0 = xc - w if k in (0, 2) else xc
            y0 = yc - h if k in (0, 1) else yc
            cx0, cy0 = max(x0, 0), max(y0, 0)
            cx1, cy1 = min(x0 + w, 2 * width), min(y0 + h, 2 * height)
            canvas[cy0:cy1, cx0:cx1] = image[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            boxes = np.asarray(tlwh, np.float64).reshape(-1, 4) * r
            boxes[:, 0] += x0
            boxes[:, 1] += y0
            all_boxes.append(boxes)
            all_classes.append(np.asarray(classes))
        return canvas, np.concatenate(all_boxes), np.concatenate(all_classes)

    def _hsv(self, image, rng):
        gains = rng.uniform(-1, 1, 3) * np.asarray(self.hsv) + 1
        hue, saturation, value = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
        lut = np.arange(256, dtype=np.float64)
        hue = cv2.LUT(hue, ((lut * gains[0]) % 180).astype(np.uint8))
        saturation = cv2.LUT(saturation, np.clip(lut * gains[1], 0, 255).astype(np.uint8))
        value = cv2.LUT(value, np.clip(lut * gains[2], 0, 255).astype(np.uint8))
        return cv2.cvtColor(cv2.merge([hue, saturation, value]), cv2.COLOR_HSV2BGR)


def padded_targets(tlwh: np.ndarray, classes: np.ndarray, max_labels: int) -> dict[str, np.ndarray]:
    """Boxes as the loss wants them: cxcywh [max_labels, 4], classes [max_labels], mask [max_labels].
    More boxes than max_labels is an error, never a silent cut."""
    n = len(tlwh)
    if n > max_labels:
        raise ValueError(f"{n} ground-truth boxes in one training image but data.max_labels={max_labels}: "
                         "raise it (0 derives it from the data).")
    boxes = np.zeros((max_labels, 4), np.float32)
    boxes[:n, :2] = tlwh[:n, :2] + tlwh[:n, 2:] / 2
    boxes[:n, 2:] = tlwh[:n, 2:]
    labels = np.zeros(max_labels, np.int32)
    labels[:n] = classes[:n]
    mask = np.zeros(max_labels, bool)
    mask[:n] = True
    return {"boxes": boxes, "classes": labels, "mask": mask}
