"""Player, referee and ball detection on SoccerNet-Tracking frames: YOLOX, trained and scored.

Composes the YOLOX detector (`zoo.models.yolox`, any size), SimOTA training with mosaic, random
affine, HSV and flip augmentation (`zoo.losses.yolox`, `zoo.data.detection_transforms`), and the
evaluation the tracking pipeline builds on: every frame of a split detected (score = objectness x
class probability, NMS), written per sequence as `SNMOT-XXX/det/det.txt` in the official MOT
detection format (which the association-only tracker reads as it reads the public detections),
and scored with COCO AP at IoU 0.5 (`zoo.metrics.detection`), class-agnostic by default as the
challenge treats every box alike.

Classes: the roles of `gameinfo.ini` (player, goalkeeper, referee, ball, other), or one class
(`data.single_class`, ByteTrack's MOT detectors). Data: `config.data.manual_dir` (the unzipped
official `tracking` folder), or synthetic sequences written into the workdir.
"""

from __future__ import annotations

import dataclasses
import os

import cv2
import grain
import jax
import ml_collections
import numpy as np

from zoo import models
from zoo.data import samplers, snmot
from zoo.data.detection_transforms import PIXEL_FORMATS, DetectionAugment, padded_targets, to_model_input
from zoo.errors import ConfigError, UserError
from zoo.formats.tracking import ROLES
from zoo.losses.yolox import yolox_loss
from zoo.metrics.detection import ImageBoxes, average_precision
from zoo.postprocess.detections import Detections, detect_frames, detector_settings
from zoo.train.task import Scores, Shard, Task, TrainData

DETECTIONS_FILE = "det/det.txt"


def frames_source(config, workdir, split):
    return snmot.source(config, workdir, "frames", split, encoded=("image",))


def decode_jpeg(data: bytes, where: str) -> np.ndarray:
    """JPEG bytes -> uint8 BGR [h, w, 3]."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{where}: not a decodable JPEG image")
    return image


def input_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    return int(config.data.height), int(config.data.width)


def num_classes(config: ml_collections.ConfigDict) -> int:
    return 1 if config.data.single_class else len(ROLES)


def _example(record, single_class: bool):
    where = f"{record['sequence'].decode()}/{int(record['frame']):06d}.jpg"
    classes = np.zeros(len(record["role"]), np.int64) if single_class else np.asarray(record["role"])
    return decode_jpeg(record["image"], where), np.asarray(record["boxes"], np.float64).reshape(-1, 4), classes


@dataclasses.dataclass
class LoadTrainBatch:
    """Batch number -> augmented batch, a pure function of (seed, batch number); picklable."""

    source: object
    size: int
    batch_size: int
    augment: DetectionAugment
    pixel_format: str
    max_labels: int
    single_class: bool
    seed: int

    def __call__(self, batch: int) -> dict:
        rng = np.random.default_rng([self.seed, int(batch)])
        images, targets = [], []
        for _ in range(self.batch_size):
            picks = rng.integers(0, self.size, 4)
            examples = [_example(self.source[int(i)], self.single_class) for i in picks]
            image, boxes, classes = self.augment(examples, rng)
            images.append(image)
            targets.append(padded_targets(boxes, classes, self.max_labels))
        batch_targets = {k: np.stack([t[k] for t in targets]) for k in targets[0]}
        return {"inputs": to_model_input(np.stack(images), self.pixel_format), **batch_targets}


def max_labels(config: ml_collections.ConfigDict, workdir: str) -> int:
    """Boxes a training image can hold: data.max_labels, or (0) the most boxes of a training frame,
    times 4 with mosaic (a mosaic joins four frames; the affine only removes boxes)."""
    if config.data.max_labels:
        return int(config.data.max_labels)
    sequences = snmot.source(config, workdir, "sequences", "train")
    most = 0
    for i in range(len(sequences)):
        frames = np.asarray(sequences[i]["groundtruth"])[:, 0].astype(np.int64)
        most = max(most, int(np.bincount(frames).max(initial=0)) if len(frames) else 0)
    return max(most, 1) * (4 if config.augment.mosaic > 0 else 1)


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = frames_source(config, workdir, "train")
    aug = config.augment
    augment = DetectionAugment(size=input_size(config), mosaic=aug.mosaic, scale=tuple(aug.scale),
                               degrees=aug.degrees, translate=aug.translate, shear=aug.shear,
                               hsv=tuple(aug.hsv), flip=aug.flip)
    load = LoadTrainBatch(source, len(source), batch_size, augment, config.data.pixel_format,
                          max_labels(config, workdir), config.data.single_class, config.seed)
    dataset = grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()].map(load)
    return TrainData(dataset=dataset, num_examples=len(source), read_threads=config.data.read_threads)


def make_model(config: ml_collections.ConfigDict):
    return models.build(config.model)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, *input_size(config), 3), np.float32)


def make_loss(config: ml_collections.ConfigDict):
    height, width = input_size(config)

    def loss(outputs, batch):
        return yolox_loss(outputs, batch["boxes"], batch["classes"], batch["mask"], height=height, width=width,
                          use_l1=config.loss.use_l1)

    return loss


def derive_config(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """The classes (from data.single_class) and the boxes per training image (from the data)."""
    derived = {} if config.model.num_classes else {"model.num_classes": num_classes(config)}
    if not config.data.max_labels:
        derived["data.max_labels"] = max_labels(config, workdir)
    return derived


def check_config(config: ml_collections.ConfigDict) -> None:
    height, width = input_size(config)
    if height % 32 or width % 32:
        raise ConfigError(f"data.height and data.width must be multiples of 32, got {height}x{width}.")
    if config.data.pixel_format not in PIXEL_FORMATS:
        raise ConfigError(f"data.pixel_format={config.data.pixel_format!r}; expected one of {PIXEL_FORMATS}.")
    if config.model.num_classes and config.model.num_classes != num_classes(config):
        raise ConfigError(f"model.num_classes={config.model.num_classes} but the data has {num_classes(config)} "
                         f"classes (data.single_class={config.data.single_class}).")


# ----------------------------------------------------------------------------- evaluation


def predict_split(config, workdir, models_, split, shard: Shard) -> list[dict]:
    """Detections of every frame of this process's sequences: one record per frame."""
    source = frames_source(config, workdir, split)
    sequences = np.array([source[i]["sequence"].decode() for i in range(len(source))])
    mine = set(shard.take(sorted(set(sequences.tolist()))))
    indices = [i for i in range(len(source)) if sequences[i] in mine]
    predictor = models_.predictors[0]
    records = []
    chunk = max(int(config.eval.batch_size), 1)
    for first in range(0, len(indices), chunk):
        batch = [source[i] for i in indices[first : first + chunk]]
        frames = [_example(r, config.data.single_class)[0] for r in batch]
        for record, found in zip(batch, detect_frames(predictor, frames, **detector_settings(config))):
            records.append({"sequence": record["sequence"].decode(), "frame": int(record["frame"]),
                            "detections": found})
    return records


def write_submission(config, records, output_dir: str) -> None:
    """`<output_dir>/SNMOT-XXX/det/det.txt` per sequence: frame,-1,x,y,w,h,score,-1,-1,-1."""
    by_sequence: dict[str, list] = {}
    for r in records:
        by_sequence.setdefault(r["sequence"], []).append(r)
    for sequence, rows in by_sequence.items():
        path = os.path.join(output_dir, sequence, DETECTIONS_FILE)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            for r in sorted(rows, key=lambda r: r["frame"]):
                d: Detections = r["detections"]
                f.writelines(f"{r['frame']},-1,{x!r},{y!r},{w!r},{h!r},{s!r},-1,-1,-1\n"
                             for (x, y, w, h), s in zip(d.tlwh.tolist(), d.scores.tolist()))


def score(config, workdir, split, output_dir, records) -> Scores | None:
    """AP at IoU 0.5 of the records against the split's ground truth (class-agnostic by default)."""
    if split == "challenge":
        return None
    source = frames_source(config, workdir, split)
    truth = {}
    for i in range(len(source)):
        r = source[i]
        classes = np.zeros(len(r["role"]), np.int64) if config.data.single_class else np.asarray(r["role"])
        truth[(r["sequence"].decode(), int(r["frame"]))] = ImageBoxes(np.asarray(r["boxes"], np.float64), classes,
                                                                      np.ones(len(classes)))
    keys = sorted(truth)
    found = {(r["sequence"], r["frame"]): r["detections"] for r in records}
    missing = [k for k in keys if k not in found]
    if missing:
        raise ValueError(f"no detections recorded for {len(missing)} frames of {split}, e.g. {missing[0]}")
    detections = [ImageBoxes(found[k].tlwh, found[k].classes, found[k].scores) for k in keys]
    ap = average_precision([truth[k] for k in keys], detections, iou_threshold=0.5,
                           max_detections=config.eval.max_detections, class_agnostic=config.eval.class_agnostic_ap)
    return Scores(headline={"mAP@0.5": ap["mAP"]}, details=ap)


def zip_submission(output_dir: str, zip_path: str) -> None:
    """The detections as `SNMOT-XXX/det/det.txt` members (there is no detection challenge server:
    the zip is for sharing detections, e.g. with the association-only tracker)."""
    import zipfile

    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(output_dir)):
            path = os.path.join(output_dir, name, DETECTIONS_FILE)
            if os.path.isfile(path):
                archive.write(path, f"{name}/{DETECTIONS_FILE}")


TASK = Task(
    name="tracking_detector",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=zip_submission,
    check_config=check_config,
    derive_config=derive_config,
)
