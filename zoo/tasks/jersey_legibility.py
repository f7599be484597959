"""Jersey pipeline stage 2: is the number on this torso crop legible? A ResNet binary classifier.

Koshkina & Elder's legibility classifier is a torchvision ResNet-34 with one sigmoid output,
trained with SAM (sharpness-aware minimisation, SGD momentum 0.9, lr 1e-3) on class-balanced
batches; their lighter variant runs it on the pose-guided torso crops and trains it on
pseudo-labels from a text recogniser. Here it sees torso crops (`zoo.data.torso_crops`) resized
to `config.data.crop_size` and learns from either

- the synthetic truth (`legible` per crop, torso boxes from the true keypoints, jittered so that
  they look like a pose model's), or
- a crop-label file (`config.data.labels`), such as the pseudo-labels that the
  `jersey_pseudo_labels` pipeline writes from a recogniser's confident reads (its torso boxes
  come from the pose stage).

SAM (`config.optimizer.sam_rho` > 0, the published recipe's rho 0.05 in the baseline variant) is
the core optimizer's (`zoo.train.optimizer`): non-opaque `optax.contrib.sam`, calls alternating
between an ascent and a descent step, so `train.num_steps` calls make half as many descent steps.

Evaluation on a split with legibility truth: accuracy, precision, recall, F1, balanced accuracy
and ROC AUC of "legible" (`zoo.metrics.jersey_stages`); the probabilities go to
`legibility.json` ({image_path: P(legible)}).
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
import optax
from absl import logging

from zoo import models as model_registry
from zoo.data import jersey_tracklets as data
from zoo.data import samplers
from zoo.data.image_transforms import color_jitter, normalize
from zoo.data.torso_crops import crop_resize, jitter_box
from zoo.errors import ConfigError, UserError
from zoo.metrics import jersey_stages
from zoo.postprocess import jersey_reading
from zoo.train.task import Scores, Task, TrainData

PROBABILITIES_FILE = "legibility.json"


def crop_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    return int(config.data.crop_size[0]), int(config.data.crop_size[1])


def make_model(config: ml_collections.ConfigDict):
    return model_registry.build(config.model)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, *crop_size(config), 3), np.float32)


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.model.num_outputs != 1:
        raise ConfigError(f"config.model.num_outputs={config.model.num_outputs}: the legibility classifier has one output")


# ----------------------------------------------------------------------------- data


def labelled_crops(source, labels: str = "") -> dict[str, np.ndarray]:
    """The crops a legibility model learns from (a label and a torso box): {"index", "legible",
    "box"}, from the crop-label file `labels`, else the synthetic truth (`crop_truth`)."""
    truth = data.crop_truth(source, labels)
    keep = np.flatnonzero((truth["legible"] >= 0) & truth["has_box"])
    return {"index": keep, "legible": truth["legible"][keep], "box": truth["box"][keep]}


@dataclasses.dataclass
class LoadLegibilityBatch:
    """Batch number -> {"inputs": torso crops, "legible": [b] 0/1}."""

    source: object
    crops: dict
    plan: object
    size: tuple[int, int]
    box_scale: float
    box_shift: float
    brightness: float
    contrast: float
    seed: int

    def __call__(self, batch: int) -> dict[str, np.ndarray]:
        images, labels = [], []
        for position, row in enumerate(self.plan[batch]):
            record = self.source[int(self.crops["index"][row])]
            rng = np.random.default_rng([self.seed, int(batch), position])
            thumbnail = data.decode_image(record["image"], record["image_path"].decode())
            box = jitter_box(self.crops["box"][row], rng, scale=self.box_scale, shift=self.box_shift)
            crop = color_jitter(crop_resize(thumbnail, box, self.size), rng, brightness=self.brightness,
                                contrast=self.contrast, saturation=0.0, hue=0.0)
            images.append(normalize(crop))
            labels.append(self.crops["legible"][row])
        return {"inputs": np.stack(images), "legible": np.asarray(labels, np.float32)}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = data.crop_source(config, workdir, "train")
    crops = labelled_crops(source, config.data.labels)
    if not len(crops["index"]):
        raise UserError("No training crop has a legibility label: the real SoccerNet jersey data has "
                        "none per crop; write pseudo-labels (configs/jersey/pseudo_labels.py) and set "
                        "config.data.labels to the file.")
    positives = int(crops["legible"].sum())
    if config.data.balanced:  # as published: half legible, half not, in every batch
        if batch_size % 2 or not 0 < positives < len(crops["legible"]):
            raise UserError(f"Balanced batches need an even batch ({batch_size}) and both classes "
                            f"({positives} legible of {len(crops['legible'])}).")
        plan = samplers.IdentityBatches(crops["legible"], identities=2, instances=batch_size // 2, seed=config.seed)
    else:
        plan = samplers.ActionBatches(np.arange(len(crops["index"])), batch_size=batch_size, seed=config.seed)
    augment = config.augment
    loader = LoadLegibilityBatch(source, crops, plan, crop_size(config), augment.box_scale, augment.box_shift,
                                 augment.brightness, augment.contrast, config.seed)
    logging.info("Legibility: %d training crops, %d legible.", len(crops["index"]), positives)
    dataset = grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()].map(loader)
    return TrainData(dataset=dataset, num_examples=len(crops["index"]), read_threads=config.data.read_threads)


def make_loss(config: ml_collections.ConfigDict):
    def loss(outputs, batch):
        logits = outputs["logits"][:, 0]
        labels = batch["legible"]
        per_example = optax.sigmoid_binary_cross_entropy(logits, labels)
        count = jnp.asarray(labels.shape[0], jnp.float32)
        correct = ((logits > 0) == (labels > 0.5)).astype(jnp.float32)
        return per_example.mean(), {"bce": (per_example.sum(), count), "train_accuracy": (correct.sum(), count)}

    return loss


# ----------------------------------------------------------------------------- evaluation


def predict_split(config, workdir, models, split, shard) -> list[dict]:
    """P(legible) of this process's share of the split's crops with legibility truth and a torso
    box (true keypoints, no jitter): [{"image_path", "probability", "legible"}]."""
    source = data.crop_source(config, workdir, split)
    crops = labelled_crops(source)  # the split's own truth, not the training label file
    predictor = models["model"].predictor
    rows = shard.take(range(len(crops["index"])))
    records, done = [], 0
    for found, thumbnails in data.decoded(source, crops["index"][rows], int(config.eval.batch_size)):
        part, done = rows[done : done + len(found)], done + len(found)
        probabilities = jersey_reading.legibility(
            predictor, jersey_reading.crops(thumbnails, crops["box"][part], crop_size(config)))
        records += [{"image_path": f["image_path"].decode(), "probability": float(p),
                     "legible": int(crops["legible"][r])} for f, p, r in zip(found, probabilities, part)]
    return records


def write_submission(config, records, output_dir) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, PROBABILITIES_FILE), "w") as f:
        json.dump({r["image_path"]: round(r["probability"], 5) for r in records}, f)


def score(config, workdir, split, output_dir, records) -> Scores | None:
    if not records:
        return None  # no legibility truth (real data)
    scores = jersey_stages.binary_scores([r["probability"] for r in records], [r["legible"] for r in records],
                                         config.eval.legibility_threshold)
    return Scores(headline=scores, details={"crops": len(records),
                                            "legible": int(sum(r["legible"] for r in records))})


TASK = Task(
    name="jersey_legibility",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    check_config=check_config,
)
