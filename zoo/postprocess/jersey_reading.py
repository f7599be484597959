"""Each jersey stage's inference on decoded thumbnails, shared by the stage tasks and the pipeline.

Thumbnails are uint8 RGB arrays of any size. Every function takes many thumbnails at once (the
pipeline passes the crops of many tracklets together, so the models see full batches) and a
predictor (`zoo.train.task.Predictor`), and returns numpy arrays in thumbnail order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zoo.data import pose_transforms
from zoo.data.image_transforms import IMAGENET_MEAN, IMAGENET_STD, normalize, resize
from zoo.data.torso_crops import crop_resize

# Input (mean, std) of each recogniser. The published PARSeq reads images scaled to [-1, 1]
# (strhub's transform ends with Normalize(0.5, 0.5)), not ImageNet's statistics, and its converted
# weights only read well so; the CRNN is the zoo's own and trains on ImageNet's.
RECOGNISER_NORMALISATION = {"parseq": (0.5, 0.5), "crnn": (IMAGENET_MEAN, IMAGENET_STD)}


def keypoints(predictor, thumbnails: Sequence[np.ndarray], input_size: tuple[int, int]) -> np.ndarray:
    """Pose keypoints [n, 17, 3] (x, y in thumbnail pixels, score) of each thumbnail."""
    if not thumbnails:
        return np.zeros((0, 17, 3))
    boxed = [pose_transforms.letterbox(t, input_size) for t in thumbnails]
    images = np.stack([normalize(image) for image, _, _ in boxed])
    found = np.asarray(predictor(images)["keypoints"], np.float64)
    return pose_transforms.to_thumbnail(found, np.array([s for _, s, _ in boxed]),
                                        np.stack([o for _, _, o in boxed]))


def crops(thumbnails: Sequence[np.ndarray], boxes: np.ndarray, size: tuple[int, int],
          normalisation=(IMAGENET_MEAN, IMAGENET_STD)) -> np.ndarray:
    """The boxes [n, 4] of the thumbnails, resized to (height, width) and normalised with
    (mean, std): [n, h, w, 3]."""
    if not len(thumbnails):
        return np.zeros((0, *size, 3), np.float32)
    return np.stack([normalize(crop_resize(t, b, size), *normalisation) for t, b in zip(thumbnails, boxes)])


def recogniser_crops(thumbnails: Sequence[np.ndarray], boxes: np.ndarray, config) -> np.ndarray:
    """`crops` at a recogniser run's crop size and input normalisation (`config`: its config)."""
    return crops(thumbnails, boxes, tuple(config.data.crop_size), RECOGNISER_NORMALISATION[config.model.name])


def legibility(predictor, torso_crops: np.ndarray) -> np.ndarray:
    """P(the number can be read) [n] of normalised torso crops [n, h, w, 3]."""
    if not len(torso_crops):
        return np.zeros(0)
    logits = np.asarray(predictor(torso_crops)["logits"], np.float64)[:, 0]
    return 1.0 / (1.0 + np.exp(-logits))


def number_log_probs(predictor, torso_crops: np.ndarray, max_label_length: int) -> np.ndarray:
    """log P(text = str(n)) [n, 100] for n = 0..99 of normalised torso crops [n, h, w, 3]."""
    if not len(torso_crops):
        return np.zeros((0, 100))
    inputs = {"images": torso_crops,
              "tokens": np.zeros((len(torso_crops), max_label_length + 2), np.int32)}
    return np.asarray(predictor(inputs)["number_log_probs"], np.float64)


def appearance(predictor, thumbnails: Sequence[np.ndarray], size: tuple[int, int], feature: str = "bn") -> np.ndarray:
    """L2-normalised ReID embeddings [n, d] of thumbnails (a `reid` run's predictor)."""
    if not thumbnails:
        return np.zeros((0, 0))
    images = np.stack([normalize(resize(t, size)) for t in thumbnails])
    out = predictor(images)
    embeddings = np.asarray(out["embedding_bn" if feature == "bn" else "embedding"], np.float64)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
