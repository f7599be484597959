"""SoccerNet-v2 action spotting on pre-extracted features (17 classes, Average-mAP).

One task, several model families, picked by `config.model.name` (`FAMILIES`): NetVLAD++ (here: the
baseline's window training with one multi-hot label per non-overlapping window, background first,
binary cross-entropy, and sliding-window inference with per-class NMS), CALF and
calibration-aware CALF (`zoo.tasks.action_spotting_calf`), ASTRA (`zoo.tasks.action_spotting_astra`).
Each family gives the model, loss, training data and `predict_split`; the records of every family
are `HalfSpots`, written here as the official `results_spotting.json` files and scored by the
official-parity Average-mAP at the official evaluator's 2 fps, with the patterned / fuzzy class
means of the calibration paper. `python -m zoo.predict action_spotting --video` spots a user's own
video with a feature-based model (`zoo.features.video_spots`).

Data: the official tree `<league>/<season>/<game>/{1,2}_<features>.npy + Labels-v2.json` given
by `config.data.manual_dir`, built once into TFDS (array_record) and read through
`tfds.data_source` (`zoo.data.feature_halves`). With no manual_dir, a synthetic tree in the same
layout is written into the workdir and used instead.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.special
from absl import logging

from zoo import progress
from zoo.data.feature_halves import Half, read_halves
from zoo.data.windows import ArraySource, centred_windows, window_indices
from zoo.formats import spotting as spotting_format
from zoo.metrics import spotting as spotting_metric
import zoo.models
from zoo.errors import ConfigError, UserError
from zoo.losses.calf import class_subset
from zoo.postprocess.nms import greedy_nms
from zoo.train.task import Models, PredictFile, Scores, Shard, Task, TrainData

CLASSES = spotting_format.CLASSES_V2
# The official evaluator reads positions in milliseconds and matches them at 2 frames a second,
# whatever the rate of the features a model read.
EVAL_FRAMERATE = 2
# The calibration paper's split of the classes, scored apart for every model.
CLASS_SUBSETS = ("patterned", "fuzzy")


# ----------------------------------------------------------------------------- data


def window_frames(config: ml_collections.ConfigDict) -> int:
    return int(round(config.data.window_seconds * config.data.framerate))


def training_windows(half: Half, *, length: int, framerate: float) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's training examples of one half.

    Non-overlapping windows of `length` frames; each gets a multi-hot target over
    [background, classes...]: an event at frame f marks window f // length with its class and
    clears background.

    Returns: windows [n, length, dim] float32, targets [n, num_classes + 1] float32.
    """
    indices = window_indices(len(half.features), length=length, stride=length)
    targets = np.zeros((len(indices), len(CLASSES) + 1), np.float32)
    targets[:, 0] = 1.0
    for annotation in half.annotations:
        window = annotation.frame(framerate) // length
        if window < len(indices):  # events after the last feature frame have no window
            targets[window, 0] = 0.0
            targets[window, 1 + CLASSES.index(annotation.label)] = 1.0
    return half.features[indices], targets


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    halves = read_halves(config, workdir, config.data.train_split)
    length = window_frames(config)
    windows, targets = zip(*(training_windows(h, length=length, framerate=config.data.framerate) for h in halves))
    windows, targets = np.concatenate(windows), np.concatenate(targets)
    logging.info("%d training windows of %d frames from %d halves; %d with an event.",
                 len(windows), length, len(halves), int((targets[:, 0] == 0).sum()))
    source = ArraySource({"inputs": windows, "targets": targets})
    dataset = (
        grain.MapDataset.source(source)[jax.process_index()::jax.process_count()]
        .seed(config.seed)
        .shuffle()
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    return TrainData(dataset=dataset, num_examples=len(windows))


# ----------------------------------------------------------------------------- model and loss


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.data.features not in spotting_format.FEATURE_KINDS:
        raise ConfigError(f"data.features={config.data.features!r}; expected one of "
                          f"{sorted(spotting_format.FEATURE_KINDS)}.")
    if window_frames(config) < 2:
        raise ConfigError(f"data.window_seconds={config.data.window_seconds} at data.framerate="
                          f"{config.data.framerate} gives a window of fewer than 2 frames.")
    unknown = sorted(set(config.eval.metrics) - set(spotting_metric.METRICS))
    if unknown:
        raise ConfigError(f"eval.metrics: unknown {unknown}; expected some of {list(spotting_metric.METRICS)}.")


def make_model(config: ml_collections.ConfigDict):
    return zoo.models.build(config.model, num_classes=len(CLASSES))


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    dim = spotting_format.FEATURE_KINDS[config.data.features][0]
    return np.zeros((1, window_frames(config), dim), np.float32)


def loss(logits: jax.Array, batch: dict) -> tuple[jax.Array, dict]:
    """Mean binary cross-entropy over examples and the background + class columns (the baseline's)."""
    per_example = optax.sigmoid_binary_cross_entropy(logits, batch["targets"]).mean(axis=-1)
    count = jnp.asarray(per_example.shape[0], jnp.float32)
    return per_example.mean(), {"bce": (per_example.sum(), count)}


# ----------------------------------------------------------------------------- inference and evaluation


@dataclasses.dataclass(frozen=True)
class HalfSpots:
    """The actions spotted in one half (after NMS), with the half's labels for scoring: the record
    of every model family."""

    game: str
    half: int
    frame: np.ndarray  # [N] int64, at `framerate`
    class_index: np.ndarray  # [N] int64
    confidence: np.ndarray  # [N] float64
    annotations: tuple[spotting_format.Annotation, ...]
    framerate: float  # of `frame`: the features' (NetVLAD++, CALF) or the model's output rate (ASTRA)


def half_scores(predictors, half: Half, *, length: int, chunk: int = 2048) -> np.ndarray:
    """Class scores of every frame of a half from the window centred on it: [frames, classes].

    With several predictors (an ensemble), their probabilities are averaged.
    """
    scores = []
    for first in range(0, len(half.features), chunk):
        last = min(first + chunk, len(half.features))
        windows = centred_windows(half.features, length, first, last)
        probabilities = [scipy.special.expit(np.asarray(p(windows), np.float64))[:, 1:] for p in predictors]
        scores.append(np.mean(probabilities, axis=0))  # background column dropped
    return np.concatenate(scores)


def spot_half(config: ml_collections.ConfigDict, predictors, half: Half) -> HalfSpots:
    """Sliding-window scores and per-class NMS of one half (NetVLAD++)."""
    framerate = config.data.framerate
    frame, klass, score = greedy_nms(half_scores(predictors, half, length=window_frames(config)),
                                     window=config.eval.nms_window_seconds * framerate,
                                     threshold=config.eval.nms_threshold)
    return HalfSpots(half.game, half.half, frame, klass, score, half.annotations, framerate)


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                  shard: Shard) -> list[HalfSpots]:
    """`spot_half` on this shard's halves of `split`."""
    halves = read_halves(config, workdir, split, shard)
    return [spot_half(config, models.predictors, half)
            for half in progress.bar(halves, desc=f"spot {split}", unit="half")]


# ----------------------------------------------------------------------------- files and scores (all families)


def _by_game(records: list[HalfSpots]) -> dict[str, list[HalfSpots]]:
    games: dict[str, list[HalfSpots]] = {}
    for record in sorted(records, key=lambda r: (r.game, r.half)):
        games.setdefault(record.game, []).append(record)
    return games


def _game_spots(halves: list[HalfSpots]) -> dict[str, np.ndarray]:
    return {
        "half": np.concatenate([np.full(len(h.frame), h.half) for h in halves]),
        "frame": np.concatenate([h.frame for h in halves]),
        "class_index": np.concatenate([h.class_index for h in halves]),
        "confidence": np.concatenate([h.confidence for h in halves]),
    }


def _framerate(game: str, halves: list[HalfSpots]) -> float:
    rates = {h.framerate for h in halves}
    if len(rates) != 1:
        raise ValueError(f"{game}: halves spotted at different frame rates {sorted(rates)}.")
    return rates.pop()


def write_submission(config: ml_collections.ConfigDict, records: list[HalfSpots], output_dir: str) -> None:
    """`<output_dir>/<league>/<season>/<game>/results_spotting.json` for every game."""
    for game, halves in _by_game(records).items():
        spotting_format.write_predictions(
            os.path.join(output_dir, game, spotting_format.PREDICTION_FILE), url_local=game,
            framerate=_framerate(game, halves), classes=CLASSES, **_game_spots(halves))


def zip_submission(output_dir: str, zip_path: str) -> None:
    spotting_format.zip_predictions(output_dir, zip_path)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[HalfSpots]) -> Scores | None:
    """Average-mAP of what was written, for each metric in `config.eval.metrics` (every official
    key in metrics.json), with the means over the calibration paper's patterned and fuzzy classes;
    None for challenge, which ships no labels."""
    if split == "challenge":
        return None
    game_labels, game_predictions = [], []
    for game, halves in _by_game(records).items():
        spots = _game_spots(halves)
        annotations = [a for h in halves for a in h.annotations]
        game_labels.append(spotting_metric.label_vectors(annotations, framerate=EVAL_FRAMERATE, classes=CLASSES))
        # Score exactly what was written: positions go through the file's millisecond rounding.
        position_ms = spotting_format.positions_ms(spots["frame"], _framerate(game, halves))
        game_predictions.append(spotting_metric.prediction_vectors(
            spots["half"], position_ms, spots["class_index"], spots["confidence"],
            framerate=EVAL_FRAMERATE, num_classes=len(CLASSES)))
    headline, details = {}, {"classes": list(CLASSES)}
    for metric in config.eval.metrics:
        scores = spotting_metric.average_map(game_labels, game_predictions, framerate=EVAL_FRAMERATE, metric=metric)
        details[metric] = scores
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            headline[f"{key}_{metric}"] = float(scores[key])
        per_class = np.asarray(scores["a_mAP_per_class"], np.float64)
        for subset in CLASS_SUBSETS:
            names = class_subset(subset)
            headline[f"a_mAP_{subset}_{metric}"] = float(np.mean([per_class[CLASSES.index(n)] for n in names]))
    return Scores(headline=headline, details=details)


# ----------------------------------------------------------------------------- model families

# config.model.name -> the module of its family (same function names as NetVLAD++'s here);
# every other model name is NetVLAD++'s family (this module).
FAMILIES = {"calf": "zoo.tasks.action_spotting_calf", "astra": "zoo.tasks.action_spotting_astra"}


def family(config: ml_collections.ConfigDict):
    """The module with the functions of `config.model.name`'s family."""
    name = FAMILIES.get(config.model.name)
    return importlib.import_module(name) if name else sys.modules[__name__]


def make_loss(config: ml_collections.ConfigDict):
    return loss


def _dispatch(name: str):
    def run(config, *args):
        return getattr(family(config), name)(config, *args)

    run.__name__ = name
    return run


def _check_config(config: ml_collections.ConfigDict) -> None:
    if "model" not in config or "name" not in config.model:
        raise ConfigError("config.model.name is missing; expected netvlad_pp, calf or astra.")
    family(config).check_config(config)


def _spot_video(config: ml_collections.ConfigDict, models: Models, args) -> str:
    from zoo.features.video_spots import spot_video_file

    spot = getattr(family(config), "spot_half", None)
    if spot is None:
        raise UserError(f"a {config.model.name} model reads more than features (calibrations, players): "
                        "it cannot spot a plain video.")
    return spot_video_file(config, models.predictors, args, predict_half=spot)


def _video_arguments(parser) -> None:
    from zoo.features.video_spots import add_video_arguments

    add_video_arguments(parser)


def _check_video_arguments(args) -> None:
    from zoo.features.video_spots import check_video_arguments

    check_video_arguments(args)


TASK = Task(
    name="action_spotting",
    make_model=_dispatch("make_model"),
    example_inputs=_dispatch("example_inputs"),
    make_loss=_dispatch("make_loss"),
    make_train_data=_dispatch("make_train_data"),
    predict_split=_dispatch("predict_split"),
    write_submission=write_submission,
    score=score,
    zip_submission=zip_submission,
    check_config=_check_config,
    predict_file=PredictFile(
        add_arguments=_video_arguments, check_args=_check_video_arguments, run=_spot_video,
        help="the actions of your own video with a feature-based model (official ResNet features, then the model)"),
)
