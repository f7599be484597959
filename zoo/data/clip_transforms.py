"""Clip augmentations for frame-level spotting: numpy + OpenCV, one random draw per clip.

A clip is a dict with `frames` uint8 RGB [T, H, W, 3], `labels` int32 [T] (0 background, c + 1
for class c), `teams` int32 [T] (-1 none, 0 left, 1 right) and `valid` bool [T]. Every frame of a
clip gets the same crop, flip and colour change (the model must see one consistent video), and the
camera motion is a smooth path across the clip. Each augmentation is applied with its own
probability, as the E2E-Spot and T-DEED recipes do.

The horizontal flip mirrors the pitch, so the team playing on the left is on the right
afterwards: the flip swaps the `left` and `right` team labels with the pixels.

Mixup works on a batch: it blends the frames of each clip with those of another clip of the batch
(rounded back to uint8, 1/255 resolution, so batches stay four times smaller than float32 on their
way to the devices) and blends their per-frame targets with the same weight.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from zoo.data.image_transforms import color_jitter


def horizontal_flip(clip: dict) -> dict:
    """Mirrors every frame left-right and swaps the left (0) and right (1) team labels."""
    teams = clip["teams"]
    swapped = np.where(teams >= 0, 1 - teams, teams).astype(teams.dtype)
    return {**clip, "frames": np.ascontiguousarray(clip["frames"][:, :, ::-1]), "teams": swapped}


def random_crop(clip: dict, rng: np.random.Generator, size: tuple[int, int]) -> dict:
    """The same random (height, width) window of every frame; clips already that small pass."""
    frames = clip["frames"]
    height, width = size
    if frames.shape[1] < height or frames.shape[2] < width:
        raise ValueError(f"crop {size} is larger than the frames {frames.shape[1:3]}")
    top = int(rng.integers(0, frames.shape[1] - height + 1))
    left = int(rng.integers(0, frames.shape[2] - width + 1))
    return {**clip, "frames": np.ascontiguousarray(frames[:, top : top + height, left : left + width])}


def center_crop(clip: dict, size: tuple[int, int]) -> dict:
    """The centred (height, width) window of every frame (the evaluation counterpart of random_crop)."""
    frames = clip["frames"]
    height, width = size
    top, left = (frames.shape[1] - height) // 2, (frames.shape[2] - width) // 2
    if top < 0 or left < 0:
        raise ValueError(f"crop {size} is larger than the frames {frames.shape[1:3]}")
    return {**clip, "frames": np.ascontiguousarray(frames[:, top : top + height, left : left + width])}


def camera_motion(
    clip: dict, rng: np.random.Generator, *, max_rotation_degrees: float, max_translation: float
) -> dict:
    """A simulated pan / tilt / roll: each frame is rotated and shifted along a straight path.

    The path goes from one random (angle, shift) to another across the clip, so motion is smooth in
    time; angles are in [-max_rotation_degrees, max_rotation_degrees] and shifts in
    [-max_translation, max_translation] of the frame size. Borders are filled by reflection, so no
    black edge tells the model that the camera moved.
    """
    frames = clip["frames"]
    num_frames, height, width = frames.shape[:3]
    start, end = (
        np.array([
            rng.uniform(-max_rotation_degrees, max_rotation_degrees),
            rng.uniform(-max_translation, max_translation) * width,
            rng.uniform(-max_translation, max_translation) * height,
        ])
        for _ in range(2)
    )
    out = np.empty_like(frames)
    centre = (width / 2, height / 2)
    for t in range(num_frames):
        angle, dx, dy = start + (end - start) * (t / max(num_frames - 1, 1))
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        matrix[:, 2] += (dx, dy)
        out[t] = cv2.warpAffine(frames[t], matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    return {**clip, "frames": out}


def clip_color_jitter(
    clip: dict, rng: np.random.Generator, *, brightness: float, contrast: float, saturation: float,
    hue: float,
) -> dict:
    """One brightness / contrast / saturation / hue change for the whole clip.

    The frames are stacked into one tall image so that a single draw applies to all of them (the
    contrast pivot is the mean over the clip).
    """
    frames = clip["frames"]
    num_frames, height, width = frames.shape[:3]
    tall = frames.reshape(num_frames * height, width, 3)
    jittered = color_jitter(tall, rng, brightness=brightness, contrast=contrast,
                            saturation=saturation, hue=hue)
    return {**clip, "frames": jittered.reshape(frames.shape)}


@dataclasses.dataclass(frozen=True)
class ClipAugment:
    """The training augmentations of a clip, from config fields: `ClipAugment(...)(clip, rng)`.

    Each `*_p` is the probability of applying that augmentation to a clip (0 turns it off).
    crop_size: (height, width) of the random crop, or None to keep the frames' size.
    """

    flip_p: float = 0.5
    crop_size: tuple[int, int] | None = None
    camera_motion_p: float = 0.0
    max_rotation_degrees: float = 5.0
    max_translation: float = 0.05
    color_jitter_p: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02

    def __call__(self, clip: dict, rng: np.random.Generator) -> dict:
        if self.crop_size is not None:
            clip = random_crop(clip, rng, self.crop_size)
        if rng.random() < self.flip_p:
            clip = horizontal_flip(clip)
        if rng.random() < self.camera_motion_p:
            clip = camera_motion(clip, rng, max_rotation_degrees=self.max_rotation_degrees,
                                 max_translation=self.max_translation)
        if rng.random() < self.color_jitter_p:
            clip = clip_color_jitter(clip, rng, brightness=self.brightness, contrast=self.contrast,
                                     saturation=self.saturation, hue=self.hue)
        return clip


def mixup(batch: dict, rng: np.random.Generator, *, alpha: float, target_keys: tuple[str, ...]) -> dict:
    """Blends each clip of a batch with a random partner of the same batch.

    Each clip i gets a weight lam_i ~ Beta(alpha, alpha) and a partner p(i) (a permutation of the
    batch): frames become round(lam_i * frames_i + (1 - lam_i) * frames_p(i)) (uint8), and every
    array named in `target_keys` ([B, T, ...] floats) becomes lam_i * x_i + (1 - lam_i) * x_p(i).
    """
    frames = batch["frames"]
    size = frames.shape[0]
    lam = rng.beta(alpha, alpha, size=size).astype(np.float32)
    partner = rng.permutation(size)
    shape = (size,) + (1,) * (frames.ndim - 1)
    weight = lam.reshape(shape)
    blended = weight * frames.astype(np.float32) + (1 - weight) * frames[partner].astype(np.float32)
    out = {**batch, "frames": np.clip(np.rint(blended), 0, 255).astype(np.uint8)}
    for key in target_keys:
        values = batch[key]
        w = lam.reshape((size,) + (1,) * (values.ndim - 1))
        out[key] = (w * values + (1 - w) * values[partner]).astype(values.dtype)
    return out
