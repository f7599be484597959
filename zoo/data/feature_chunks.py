"""Long chunks of frame features for chunk spotters (ASTRA): training data, sizes, balanced mixup.

A chunk is `config.data.chunk_seconds` of a half's features (ASTRA: 50 s), at the features' rate
for the input (`input_frames` steps) and at `config.data.output_rate` for the targets
(`output_frames` steps). Training chunks start every `config.data.train_stride_seconds` (ASTRA:
half a chunk); a chunk that runs past the end of its half repeats the last frame, as the
SoccerNet baselines pad (`zoo.data.windows`). Targets come from `zoo.losses.chunk_spotting`.

    data = make_train_data(config, workdir, batch_size)   # zoo.train.task.TrainData
    model = zoo.models.build(config.model, **model_extras(config))

Balanced mixup (ASTRA): every training chunk is blended with a partner chunk that holds a class
drawn uniformly among background and the classes; one weight lambda ~ Beta(alpha, beta) per batch
blends features and class targets, and displacement targets where both or either have one.
ASTRA keeps per-class queues of the chunks of recent batches as partners; here partners are drawn
from all training chunks that hold the class, which is the stateless form of the same sampling.
"""

from __future__ import annotations

import dataclasses
import math

import grain
import jax
import ml_collections
import numpy as np
from absl import logging

from zoo.data.feature_halves import CLASSES, Half, read_halves
from zoo.data.windows import window_indices
from zoo.errors import ConfigError
from zoo.formats.spotting import FEATURE_KINDS
from zoo.losses.chunk_spotting import TARGET_KEYS, chunk_targets, classes_present
from zoo.models.astra import BAIDU_GROUPS
from zoo.train.task import TrainData


# ----------------------------------------------------------------------------- sizes


def feature_rate(config: ml_collections.ConfigDict) -> int:
    """Frames per second of `config.data.features` (2 for the ResNet features, 1 for Baidu's)."""
    if config.data.features not in FEATURE_KINDS:
        raise ConfigError(f"config.data.features={config.data.features!r}; expected one of {', '.join(FEATURE_KINDS)}")
    return FEATURE_KINDS[config.data.features][1]


def _steps(seconds: float, rate: float, field: str) -> int:
    steps = seconds * rate
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        raise ConfigError(f"config.data.{field}={seconds} s is not a whole number (>= 1) of steps at {rate} per second")
    return int(round(steps))


def input_frames(config: ml_collections.ConfigDict) -> int:
    return _steps(config.data.chunk_seconds, feature_rate(config), "chunk_seconds")


def output_frames(config: ml_collections.ConfigDict) -> int:
    return _steps(config.data.chunk_seconds, config.data.output_rate, "chunk_seconds")


def feature_groups(config: ml_collections.ConfigDict) -> tuple[int, ...]:
    """Baidu's five concatenated extractors, or one group of the features' width."""
    if config.data.features == "baidu_soccer_embeddings":
        return BAIDU_GROUPS
    return (FEATURE_KINDS[config.data.features][0],)


def model_extras(config: ml_collections.ConfigDict) -> dict:
    """The ASTRA fields that come from the data: `zoo.models.build(config.model, **model_extras(config))`."""
    return {"num_classes": len(CLASSES), "feature_groups": feature_groups(config),
            "input_frames": input_frames(config), "output_frames": output_frames(config)}


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, input_frames(config), sum(feature_groups(config))), np.float32)


def check_config(config: ml_collections.ConfigDict) -> None:
    """Raises ConfigError naming the field for sizes that do not fit together."""
    rate = feature_rate(config)
    if config.data.framerate != rate:
        raise ConfigError(f"config.data.framerate={config.data.framerate}, but {config.data.features} "
                          f"features are at {rate} per second")
    input_frames(config), output_frames(config)
    _steps(config.data.train_stride_seconds, rate, "train_stride_seconds")
    _steps(config.data.train_stride_seconds, config.data.output_rate, "train_stride_seconds")
    _steps(config.eval.chunk_stride_seconds, config.data.output_rate, "eval.chunk_stride_seconds")
    _steps(config.eval.chunk_stride_seconds, rate, "eval.chunk_stride_seconds")
    if len(config.eval.nms_window_seconds) != len(CLASSES):
        raise ConfigError(f"config.eval.nms_window_seconds has {len(config.eval.nms_window_seconds)} "
                          f"windows; one per class ({len(CLASSES)}) is needed")


def chunk_starts(num_frames: int, *, stride: int) -> np.ndarray:
    """First frames of the chunks that cover `num_frames`: every `stride` frames from 0 while inside the
    half (the last chunk may run past the end, where frames repeat the last one)."""
    return window_indices(num_frames, length=1, stride=stride)[:, 0].astype(np.int64)


# ----------------------------------------------------------------------------- training chunks


class ChunkSource:
    """Random-access training chunks over halves held in memory, for `grain.MapDataset.source`.

    `source[i]` = {"inputs": [input_frames, dim] float32, "class_targets", "displacement",
    "displacement_mask": [output_frames, K + 1] float32}.
    """

    def __init__(self, halves: list[Half], *, input_frames: int, output_frames: int, stride: int, rate: float,
                 output_rate: float, class_radius: int, displacement_radius: int, num_classes: int = len(CLASSES)):
        if input_frames * output_rate != output_frames * rate:
            raise ValueError(f"{input_frames} input steps at {rate}/s and {output_frames} output steps at "
                             f"{output_rate}/s are not the same duration")
        self.halves = halves
        self.input_frames, self.output_frames = input_frames, output_frames
        self.rate, self.output_rate = rate, output_rate
        self.class_radius, self.displacement_radius, self.num_classes = class_radius, displacement_radius, num_classes
        self.events = [(np.array([a.frame(output_rate) for a in h.annotations], np.int64),
                        np.array([CLASSES.index(a.label) for a in h.annotations], np.int64)) for h in halves]
        self.chunks = np.array([(i, int(s)) for i, h in enumerate(halves)
                                for s in chunk_starts(len(h.features), stride=stride)],
                               np.int64).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.chunks)

    def targets(self, index: int) -> dict[str, np.ndarray]:
        half, start = (int(x) for x in self.chunks[index])
        steps, classes = self.events[half]
        start_out = round(start * self.output_rate / self.rate)  # strides are whole steps at both rates
        return chunk_targets(steps, classes, start=start_out, steps=self.output_frames, num_classes=self.num_classes,
                             class_radius=self.class_radius, displacement_radius=self.displacement_radius)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        half, start = (int(x) for x in self.chunks[index])
        features = self.halves[half].features
        frames = np.clip(np.arange(start, start + self.input_frames), 0, len(features) - 1)
        return {"inputs": features[frames], **self.targets(index)}

    def chunks_with_class(self) -> list[np.ndarray]:
        """Per column (background, then each class): the chunks holding at least one positive step."""
        present = np.stack([classes_present(self.targets(i)["class_targets"]) for i in range(len(self))])
        return [np.flatnonzero(present[:, column]) for column in range(self.num_classes + 1)]


@dataclasses.dataclass
class BalancedMixup(grain.transforms.RandomMap):
    """ASTRA's balanced mixup of a batch (see the module docstring); a grain random map over batches."""

    source: ChunkSource
    alpha: float
    beta: float

    def __post_init__(self):
        self.partners = [c for c in self.source.chunks_with_class() if len(c)]

    def random_map(self, batch: dict, rng: np.random.Generator) -> dict:
        weight = np.float32(rng.beta(self.alpha, self.beta))
        size = len(batch["inputs"])
        pools = rng.integers(0, len(self.partners), size)
        partner = [self.source[int(rng.choice(self.partners[p]))] for p in pools]
        partner = {k: np.stack([p[k] for p in partner]) for k in ("inputs", *TARGET_KEYS)}
        mixed = dict(batch)
        for key in ("inputs", "class_targets"):
            mixed[key] = weight * batch[key] + (1 - weight) * partner[key]
        own, other = batch["displacement_mask"] > 0, partner["displacement_mask"] > 0
        blended = weight * batch["displacement"] + (1 - weight) * partner["displacement"]
        mixed["displacement"] = np.where(own & other, blended,
                                         np.where(own, batch["displacement"], partner["displacement"]))
        mixed["displacement_mask"] = (own | other).astype(np.float32)
        return mixed


def training_source(config: ml_collections.ConfigDict, halves: list[Half]) -> ChunkSource:
    rate, output_rate = feature_rate(config), config.data.output_rate
    return ChunkSource(
        halves, input_frames=input_frames(config), output_frames=output_frames(config),
        stride=_steps(config.data.train_stride_seconds, rate, "train_stride_seconds"), rate=rate,
        output_rate=output_rate, class_radius=int(round(config.data.class_radius_seconds * output_rate)),
        displacement_radius=int(round(config.data.displacement_radius_seconds * output_rate)))


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    """Training chunks of `config.data.train_split`, shuffled, repeated, batched, mixed up (if enabled)."""
    check_config(config)
    halves = read_halves(config, workdir, config.data.train_split)
    source = training_source(config, halves)
    logging.info("%d training chunks of %d s (every %s s) from %d halves.", len(source), config.data.chunk_seconds,
                 config.data.train_stride_seconds, len(halves))
    dataset = (grain.MapDataset.source(source)[jax.process_index()::jax.process_count()]
               .seed(config.seed).shuffle().repeat().batch(batch_size, drop_remainder=True))
    if config.data.mixup:
        dataset = dataset.random_map(BalancedMixup(source, config.data.mixup_alpha, config.data.mixup_beta))
    return TrainData(dataset=dataset, num_examples=len(source))


def num_output_steps(num_frames: int, *, rate: float, output_rate: float) -> int:
    """Output steps that cover a half of `num_frames` feature frames."""
    return max(1, math.ceil(num_frames * output_rate / rate))
