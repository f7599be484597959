"""Jersey pipeline stage 1: body keypoints of player thumbnails, for the torso crop.

A top-down heatmap model (`zoo.models.pose.HeatmapPose`: SimpleBaseline on a ResNet, or ViTPose)
sees a whole tracklet thumbnail, letterboxed to `config.data.image_size`, and gives the 17 COCO
keypoints; the pipeline crops the torso from the shoulders and hips (`zoo.data.torso_crops`).

Training needs keypoint truth, which the synthetic jersey data has (`synthetic_truth/`) and the
real SoccerNet jersey data has not: on real data, start from a converted published checkpoint
(`python -m zoo.convert --arch simplebaseline_resnet50 / vitpose_base`), as Koshkina & Elder use
ViTPose trained on COCO. Targets are SimpleBaseline's Gaussian heatmaps (sigma 2 heatmap cells),
the loss its joints MSE (0.5 x the mean squared error of the labelled keypoints' heatmaps),
augmentations a random zoom and shift, a horizontal flip (left and right swapped) and colour.

Evaluation on a split with keypoint truth: PCK@0.1 and the torso boxes the pipeline would crop
(share found, IoU with the true ones) from `zoo.metrics.jersey_stages`; the predicted keypoints
go to `keypoints.json` ({image_path: [[x, y, score] * 17]}, thumbnail pixels).
"""

from __future__ import annotations

import dataclasses
import json
import os

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from zoo import models as model_registry
from zoo.data import jersey_tracklets as data
from zoo.data import pose_transforms, samplers
from zoo.data.image_transforms import color_jitter, normalize
from zoo.errors import UserError
from zoo.metrics import jersey_stages
from zoo.postprocess import jersey_reading
from zoo.train.task import Scores, Task, TrainData

KEYPOINTS_FILE = "keypoints.json"


def input_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    return int(config.data.image_size[0]), int(config.data.image_size[1])


def make_model(config: ml_collections.ConfigDict):
    return model_registry.build(config.model)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, *input_size(config), 3), np.float32)


def check_config(config: ml_collections.ConfigDict) -> None:
    h, w = input_size(config)
    multiple = 16 if str(config.model.backbone).startswith("vit") else 32
    if h % multiple or w % multiple:
        raise UserError(f"config.data.image_size={(h, w)}: both must be multiples of {multiple} for "
                        f"backbone {config.model.backbone!r}")


def keypoint_truth_indices(source) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the crops with labelled keypoints, keypoints [n, 17, 3] of every crop)."""
    keypoints = data.columns(source, ("keypoints",))["keypoints"]
    labelled = np.flatnonzero((keypoints[..., 2] > 0).any(axis=1))
    return labelled, keypoints


@dataclasses.dataclass
class LoadPoseBatch:
    """Batch number -> {"inputs": images, "heatmaps", "weights"}, a pure function of (seed, batch)."""

    source: object
    indices: np.ndarray
    plan: object
    size: tuple[int, int]
    sigma: float
    zoom: float
    shift: float
    flip: float
    brightness: float
    contrast: float
    seed: int

    def __call__(self, batch: int) -> dict[str, np.ndarray]:
        images, heatmaps, weights = [], [], []
        stride = 4.0
        for position, index in enumerate(self.indices[self.plan[batch]]):
            record = self.source[int(index)]
            rng = np.random.default_rng([self.seed, int(batch), position])
            thumbnail = data.decode_image(record["image"], record["image_path"].decode())
            image, scale, offset = pose_transforms.letterbox(
                thumbnail, self.size, zoom=rng.uniform(1 - self.zoom, 1 + self.zoom),
                shift=tuple(rng.uniform(-self.shift, self.shift, 2)))
            keypoints = pose_transforms.to_input(record["keypoints"], scale, offset)
            if rng.uniform() < self.flip:
                image, keypoints = pose_transforms.flip(image, keypoints)
            image = color_jitter(image, rng, brightness=self.brightness, contrast=self.contrast,
                                 saturation=0.0, hue=0.0)
            target, weight = pose_transforms.gaussian_heatmaps(
                keypoints, (self.size[0] // 4, self.size[1] // 4), stride, self.sigma)
            images.append(normalize(image))
            heatmaps.append(target)
            weights.append(weight)
        return {"inputs": np.stack(images), "heatmaps": np.stack(heatmaps), "weights": np.stack(weights)}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = data.crop_source(config, workdir, "train")
    indices, _ = keypoint_truth_indices(source)
    if not len(indices):
        raise UserError(
            "The training crops have no keypoint truth (the real SoccerNet jersey data has none): "
            "train the pose stage on the synthetic data, or convert a published SimpleBaseline / "
            "ViTPose checkpoint (python -m zoo.convert) and use it as the pose stage.")
    plan = samplers.ActionBatches(np.arange(len(indices)), batch_size=batch_size, seed=config.seed)
    augment = config.augment
    loader = LoadPoseBatch(source, indices, plan, input_size(config), config.loss.sigma, augment.zoom,
                           augment.shift, augment.flip, augment.brightness, augment.contrast, config.seed)
    logging.info("Pose: %d of %d training crops have keypoints.", len(indices), len(source))
    dataset = grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()].map(loader)
    return TrainData(dataset=dataset, num_examples=len(indices), read_threads=config.data.read_threads)


def make_loss(config: ml_collections.ConfigDict):
    """SimpleBaseline's JointsMSELoss with target weights: 0.5 x mean over (example, keypoint) of
    the heatmap MSE, unlabelled keypoints weighted 0."""

    def loss(outputs, batch):
        error = jnp.mean((outputs["heatmaps"] - batch["heatmaps"]) ** 2, axis=(1, 2))  # [b, K]
        weights = batch["weights"]
        per_example = 0.5 * jnp.mean(error * weights, axis=-1)
        count = jnp.asarray(per_example.shape[0], jnp.float32)
        return per_example.mean(), {"heatmap_mse": (per_example.sum(), count)}

    return loss


def predict_split(config, workdir, models, split, shard) -> list[dict]:
    """Keypoints of this process's share of the split's crops: [{"image_path", "keypoints",
    "truth", "size"}]."""
    source = data.crop_source(config, workdir, split)
    predictor = models["model"].predictor
    records = []
    for rows, thumbnails in data.decoded(source, shard.take(range(len(source))), int(config.eval.batch_size)):
        found = jersey_reading.keypoints(predictor, thumbnails, input_size(config))
        for r, t, k in zip(rows, thumbnails, found):
            records.append({"image_path": r["image_path"].decode(), "keypoints": k.tolist(),
                            "truth": np.asarray(r["keypoints"]).tolist(), "size": list(t.shape[:2])})
    return records


def write_submission(config, records, output_dir) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, KEYPOINTS_FILE), "w") as f:
        json.dump({r["image_path"]: np.round(r["keypoints"], 2).tolist() for r in records}, f)


def score(config, workdir, split, output_dir, records) -> Scores | None:
    truth = np.array([r["truth"] for r in records])
    if not len(records) or not (truth[..., 2] > 0).any():
        return None  # no keypoint truth (real data)
    scores = jersey_stages.keypoint_scores(np.array([r["keypoints"] for r in records]), truth,
                                           np.array([r["size"] for r in records], np.float64),
                                           min_score=config.eval.keypoint_threshold)
    return Scores(headline=scores)


TASK = Task(
    name="jersey_pose",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    check_config=check_config,
)
