"""Image augmentations for person crops: numpy + OpenCV, each a small function of (image, rng).

Images are uint8 RGB [height, width, 3] until `normalize`, float32 after. The defaults follow the
ReID strong baseline (torchreid): resize to 256x128, horizontal flip p=0.5, pad 10 px and crop
back, colour jitter, ImageNet normalisation, random erasing p=0.5 (filled with the mean, 0 after
normalisation).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize to (height, width)."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def random_flip(image: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    return image[:, ::-1] if rng.random() < p else image


def pad_crop(image: np.ndarray, rng: np.random.Generator, padding: int = 10) -> np.ndarray:
    """Zero-pads by `padding` on every side and crops a random window of the original size."""
    if padding <= 0:
        return image
    height, width = image.shape[:2]
    padded = cv2.copyMakeBorder(image, padding, padding, padding, padding, cv2.BORDER_CONSTANT, value=0)
    top, left = rng.integers(0, 2 * padding + 1, size=2)
    return padded[top : top + height, left : left + width]


def color_jitter(
    image: np.ndarray, rng: np.random.Generator, *, brightness: float, contrast: float,
    saturation: float, hue: float,
) -> np.ndarray:
    """Random brightness, contrast, saturation (factors in [1-x, 1+x]) and hue shift (in [-x, x] turns)."""
    out = image.astype(np.float32)
    if brightness:
        out *= rng.uniform(1 - brightness, 1 + brightness)
    if contrast:
        mean = out.mean()
        out = (out - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    if saturation:
        grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
        out = (out - grey[..., None]) * rng.uniform(1 - saturation, 1 + saturation) + grey[..., None]
    out = np.clip(out, 0, 255).astype(np.uint8)
    if hue:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        shift = int(round(rng.uniform(-hue, hue) * 180))  # OpenCV hue is in [0, 180)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + shift) % 180).astype(np.uint8)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def recolour(image: np.ndarray, rng: np.random.Generator, *, shuffle: float = 0.0, invert: float = 0.0,
             grey: float = 0.0) -> np.ndarray:
    """Colour changes that keep every shape: a random permutation of the channels, the negative,
    greyscale (each with its probability). For text recognisers, whose training crops of one
    tracklet share a kit: without them a model can learn the kit instead of the digits."""
    if shuffle and rng.random() < shuffle:
        image = image[..., rng.permutation(3)]
    if invert and rng.random() < invert:
        image = 255 - image
    if grey and rng.random() < grey:
        image = np.repeat(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    return np.ascontiguousarray(image)


def normalize(image: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """uint8 RGB -> float32 (image / 255 - mean) / std, by default ImageNet's statistics."""
    return (image.astype(np.float32) / 255.0 - mean) / std


def random_erasing(
    image: np.ndarray, rng: np.random.Generator, *, p: float = 0.5, area=(0.02, 0.4),
    aspect=(0.3, 3.33), attempts: int = 100,
) -> np.ndarray:
    """Zhong et al.'s random erasing on a normalised image: a random rectangle set to 0 (the mean)."""
    if rng.random() >= p:
        return image
    height, width = image.shape[:2]
    for _ in range(attempts):
        target = rng.uniform(*area) * height * width
        ratio = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        h, w = int(round(np.sqrt(target * ratio))), int(round(np.sqrt(target / ratio)))
        if 0 < h < height and 0 < w < width:
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            image = image.copy()
            image[top : top + h, left : left + w] = 0.0
            return image
    return image


@dataclasses.dataclass(frozen=True)
class Augment:
    """The training transform, from config fields; `Augment(...)(image, rng)` -> float32 [h, w, 3].

    Set a probability / strength to 0 to switch that augmentation off.
    """

    size: tuple[int, int]
    flip: float = 0.5
    padding: int = 10
    brightness: float = 0.2
    contrast: float = 0.15
    saturation: float = 0.0
    hue: float = 0.0
    erasing: float = 0.5

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        image = resize(image, self.size)
        image = random_flip(image, rng, self.flip)
        image = pad_crop(image, rng, self.padding)
        if self.brightness or self.contrast or self.saturation or self.hue:
            image = color_jitter(image, rng, brightness=self.brightness, contrast=self.contrast,
                                 saturation=self.saturation, hue=self.hue)
        return random_erasing(normalize(image), rng, p=self.erasing)


def evaluation_transform(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize + normalise, nothing random."""
    return normalize(resize(image, size))
