"""SoccerNet-Caption comment spotting: when would a commentator speak? The first stage of dense
video captioning (the official baseline's `Video2Spot`).

NetVLAD++ (`zoo.models.netvlad`, registry name "netvlad_pp") with the single class `comments`: every
caption type of the caption dictionary counts as one comment. Trained as the action-spotting
baseline is (non-overlapping windows, 15 s in the baseline, multi-hot targets, binary
cross-entropy), evaluated with a sliding window and NMS (30 s), written as `results_spotting.json`
per game and scored with the official-parity Average-mAP (loose and tight), as the sn-caption
devkit evaluates its spotter. The captioning pipeline (`zoo.tasks.captioning`) uses a run of this
task as its "spotter" stage. The baseline first trains the captioner, then initialises this
model's NetVLAD++ layers from the captioner's encoder (`init_from` with `init_from_rename`, see
configs/captioning/spotter.py).

Data: `zoo.data.soccernet_caption` (the official tree or the synthetic default).
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections
import numpy as np
from absl import logging

from zoo.data import soccernet_caption as caption_data
from zoo.data.batches import shuffled_batches
from zoo.data.windows import ArraySource
from zoo.errors import ConfigError, UserError
from zoo.formats import spotting as spotting_format
from zoo.losses.window_spotting import window_bce, window_targets
from zoo.metrics import spotting as spotting_metric
from zoo.models import build as build_model
from zoo.postprocess.window_scores import spots
from zoo.train.task import Models, Scores, Shard, Task, TrainData

CLASSES = ("comments",)  # every caption label maps to it (the official EVENT_DICTIONARY_CAPTION)


@dataclasses.dataclass(frozen=True)
class GameSpots:
    """The spotted comments of one game: [n] arrays."""

    game: str
    half: np.ndarray  # 1 or 2
    frame: np.ndarray  # at the features' frame rate
    confidence: np.ndarray  # sigmoid score of the comments class


# ----------------------------------------------------------------------------- training


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    halves = caption_data.read_halves(config, workdir, config.data.train_split)
    length, fps = caption_data.window_frames(config), caption_data.framerate(config)
    windows, targets = [], []
    for half in halves:
        indices, half_targets = window_targets(
            len(half.features), half.seconds * fps, np.zeros(len(half.seconds), np.int64),
            length=length, num_classes=len(CLASSES))
        windows.append(half.features[indices])
        targets.append(half_targets)
    windows, targets = np.concatenate(windows), np.concatenate(targets)
    logging.info("%d training windows of %d frames from %d halves; %d with a comment.",
                 len(windows), length, len(halves), int((targets[:, 0] == 0).sum()))
    dataset = shuffled_batches(ArraySource({"inputs": windows, "targets": targets}), seed=config.seed,
                               batch_size=batch_size)
    return TrainData(dataset=dataset, num_examples=len(windows))


def make_model(config: ml_collections.ConfigDict):
    return build_model(config.model, num_classes=len(CLASSES))


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, caption_data.window_frames(config), caption_data.feature_dim(config)), np.float32)


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.data.features not in spotting_format.FEATURE_KINDS:
        raise ConfigError(f"config.data.features={config.data.features!r}; expected one of "
                         f"{sorted(spotting_format.FEATURE_KINDS)}")
    if caption_data.window_frames(config) < 2:
        raise ConfigError(f"config.data.window_seconds={config.data.window_seconds} is under 2 frames")
    if config.eval.nms_window_seconds * caption_data.framerate(config) < 2:
        raise ConfigError(f"config.eval.nms_window_seconds={config.eval.nms_window_seconds} is under 2 frames")


# ----------------------------------------------------------------------------- evaluation


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str, shard: Shard
                  ) -> list[GameSpots]:
    if len(models.predictors) > 1:
        raise UserError("Comment spotting does not ensemble runs (config.eval.ensemble must be empty).")
    games = shard.take(caption_data.split_games(config, workdir, split))
    fps = caption_data.framerate(config)
    records: dict[str, list] = {game: [] for game in games}
    for half in caption_data.read_halves(config, workdir, split, games=set(games)):
        frame, _, score = spots(models.own.predictor, half.features, length=caption_data.window_frames(config),
                                nms_window=config.eval.nms_window_seconds * fps, threshold=config.eval.nms_threshold)
        records[half.game].append((np.full(len(frame), half.half), frame, score))
    return [GameSpots(game, *(np.concatenate([part[i] for part in parts]) for i in range(3)))
            for game, parts in records.items()]


def write_submission(config: ml_collections.ConfigDict, records: list[GameSpots], output_dir: str) -> None:
    for record in records:
        spotting_format.write_predictions(
            os.path.join(output_dir, record.game, spotting_format.PREDICTION_FILE), url_local=record.game,
            half=record.half, frame=record.frame, class_index=np.zeros(len(record.frame), np.int64),
            confidence=record.confidence, framerate=caption_data.framerate(config), classes=CLASSES)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[GameSpots]) -> Scores | None:
    """Average-mAP of the comment spots (loose and tight) against the split's caption times."""
    if split == "challenge":  # the official challenge split ships no labels
        return None
    fps = caption_data.framerate(config)
    truth: dict[str, list] = {}
    for half in caption_data.read_halves(config, workdir, split, games={r.game for r in records}):
        truth.setdefault(half.game, []).extend(
            spotting_format.Annotation(half=half.half, game_time_s=int(s), position_ms=None, label=CLASSES[0],
                                       visibility="visible", team="") for s in half.seconds)
    game_labels, game_predictions = [], []
    for record in records:
        game_labels.append(spotting_metric.label_vectors(truth.get(record.game, []), framerate=fps, classes=CLASSES))
        # Score what was written: positions go through the file's millisecond rounding.
        game_predictions.append(spotting_metric.prediction_vectors(
            record.half, spotting_format.positions_ms(record.frame, fps), np.zeros(len(record.frame), np.int64),
            record.confidence, framerate=fps, num_classes=len(CLASSES)))
    details = {metric: spotting_metric.average_map(game_labels, game_predictions, framerate=fps, metric=metric)
               for metric in config.eval.metrics}
    headline = {f"a_mAP_{metric}": float(details[metric]["a_mAP"]) for metric in config.eval.metrics}
    return Scores(headline=headline, details={"classes": list(CLASSES), **details})


TASK = Task(
    name="caption_spotting",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=lambda config: window_bce,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=lambda output_dir, zip_path: spotting_format.zip_predictions(output_dir, zip_path),
    check_config=check_config,
)
