"""SoccerNet-v2 action spotting on pre-extracted 2 fps features (17 classes, Average-mAP).

Composes the NetVLAD++ model, the baseline's window training (non-overlapping windows with one
multi-hot label each, background first, binary cross-entropy), sliding-window inference with
per-class NMS, the official `results_spotting.json` writer and the official-parity Average-mAP.

Data: the official tree `<league>/<season>/<game>/{1,2}_<features>.npy + Labels-v2.json` given
by `config.data.manual_dir`, built once into TFDS (array_record) and read through
`tfds.data_source`. With no manual_dir, a synthetic tree in the same layout is written into the
workdir and used instead.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.special
from absl import logging
from tqdm import tqdm

from zoo.data import tfds_sources
from zoo.data.windows import ArraySource, centred_windows, window_indices
from zoo.formats import spotting as spotting_format
from zoo.metrics import spotting as spotting_metric
from zoo.models.netvlad import NetVLADPlusPlus
from zoo.synthetic import soccernet_v2 as synthetic
from zoo.postprocess.nms import greedy_nms
from zoo.train.task import Task, TrainData

DATASET = "soccernet_v2_features"
CLASSES = spotting_format.CLASSES_V2


@dataclasses.dataclass(frozen=True)
class Half:
    """One half of one game, as read from the dataset."""

    game: str  # league/season/game
    half: int  # 1 or 2
    features: np.ndarray  # [frames, dim] float32
    annotations: tuple[spotting_format.Annotation, ...]  # empty for challenge games


# ----------------------------------------------------------------------------- data


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    synthetic_config = config.data.synthetic
    return tfds_sources.prepare_once(
        f"{DATASET}/{config.data.features}",
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=os.path.join(workdir, "synthetic_soccernet_v2"),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_v2,
            games_per_split=synthetic_config.games_per_split.to_dict(),
            feature_kinds=(config.data.features,), half_seconds=synthetic_config.half_seconds,
            events_per_half=synthetic_config.events_per_half, seed=synthetic_config.seed,
        ),
        description="SoccerNet-v2",
    )


def _annotations(record: dict) -> tuple[spotting_format.Annotation, ...]:
    found = record["annotations"]
    return tuple(
        spotting_format.Annotation(
            half=int(record["half"]),
            game_time_s=int(game_time_s),
            position_ms=None if int(position_ms) < 0 else int(position_ms),
            label=CLASSES[int(label)],
            visibility="visible" if bool(visible) else "not shown",
            team=team.decode() if isinstance(team, bytes) else str(team),
        )
        for label, position_ms, game_time_s, visible, team in zip(
            found["label"], found["position_ms"], found["game_time_s"], found["visible"], found["team"]
        )
    )


def read_halves(config: ml_collections.ConfigDict, workdir: str, split: str) -> list[Half]:
    """Every half of a split, in dataset order."""
    data_dir = prepare_data(config, workdir)
    source = tfds_sources.data_source(f"{DATASET}/{config.data.features}", split, data_dir=data_dir)
    halves = []
    for index in tqdm(range(len(source)), desc=f"read {split}", unit="half",
                      disable=jax.process_index() != 0, leave=False):
        record = source[index]
        game = record["game"]
        halves.append(Half(
            game=game.decode() if isinstance(game, bytes) else str(game),
            half=int(record["half"]),
            features=np.asarray(record["features"], np.float32),
            annotations=_annotations(record),
        ))
    return halves


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


def make_model(config: ml_collections.ConfigDict, workdir: str | None = None) -> NetVLADPlusPlus:
    return NetVLADPlusPlus(
        num_classes=len(CLASSES),
        vocab_size=config.model.vocab_size,
        projection_dim=config.model.projection_dim or None,
        dropout_rate=config.model.dropout_rate,
    )


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    dim = spotting_format.FEATURE_KINDS[config.data.features][0]
    return np.zeros((1, window_frames(config), dim), np.float32)


def loss(logits: jax.Array, batch: dict) -> tuple[jax.Array, dict]:
    """Mean binary cross-entropy over examples and the background + class columns (the baseline's)."""
    per_example = optax.sigmoid_binary_cross_entropy(logits, batch["targets"]).mean(axis=-1)
    count = jnp.asarray(per_example.shape[0], jnp.float32)
    return per_example.mean(), {"bce": (per_example.sum(), count)}


# ----------------------------------------------------------------------------- inference and evaluation


def half_scores(predictor, half: Half, *, length: int, chunk: int = 2048) -> np.ndarray:
    """Class scores of every frame of a half from the window centred on it: [frames, classes]."""
    scores = []
    for first in range(0, len(half.features), chunk):
        last = min(first + chunk, len(half.features))
        logits = predictor(centred_windows(half.features, length, first, last))
        scores.append(scipy.special.expit(np.asarray(logits, np.float64))[:, 1:])  # drop background
    return np.concatenate(scores)


def evaluate(config: ml_collections.ConfigDict, workdir: str, predictor, split: str, output_dir: str) -> dict[str, float]:
    """Spots actions on every game of `split`, writes the submission and scores it.

    Writes `<output_dir>/<league>/<season>/<game>/results_spotting.json` for each game and
    `<output_dir>.zip` (ready for the challenge server), and, for labelled splits,
    `<output_dir>/metrics.json` with every key of the official evaluator for each metric in
    `config.eval.metrics`. Returns the headline numbers as `<key>_<metric>` floats.
    """
    if isinstance(predictor, (list, tuple)):
        raise ValueError("Action spotting does not ensemble runs (config.eval.ensemble must be empty).")
    halves = read_halves(config, workdir, split)
    length, framerate = window_frames(config), config.data.framerate
    window = config.eval.nms_window_seconds * framerate
    games: dict[str, list[Half]] = {}
    for h in halves:
        games.setdefault(h.game, []).append(h)

    labelled = split != "challenge"  # the official challenge split ships no labels
    game_labels, game_predictions = [], []
    for game, parts in tqdm(games.items(), desc=f"spot {split}", unit="game", disable=jax.process_index() != 0):
        spots = {"half": [], "frame": [], "class_index": [], "confidence": []}
        for part in parts:
            frame, klass, score = greedy_nms(
                half_scores(predictor, part, length=length), window=window,
                threshold=config.eval.nms_threshold,
            )
            spots["half"].append(np.full(len(frame), part.half))
            spots["frame"].append(frame)
            spots["class_index"].append(klass)
            spots["confidence"].append(score)
        spots = {k: np.concatenate(v) for k, v in spots.items()}
        if jax.process_index() == 0:
            spotting_format.write_predictions(
                os.path.join(output_dir, game, spotting_format.PREDICTION_FILE), url_local=game,
                framerate=framerate, classes=CLASSES, **spots,
            )
        if labelled:
            annotations = [a for part in parts for a in part.annotations]
            game_labels.append(spotting_metric.label_vectors(annotations, framerate=framerate, classes=CLASSES))
            # Score exactly what was written: positions go through the file's millisecond rounding.
            position_ms = spotting_format.positions_ms(spots["frame"], framerate)
            game_predictions.append(spotting_metric.prediction_vectors(
                spots["half"], position_ms, spots["class_index"], spots["confidence"],
                framerate=framerate, num_classes=len(CLASSES),
            ))
    if jax.process_index() == 0:
        spotting_format.zip_predictions(output_dir, output_dir + ".zip")
    if not labelled:
        logging.info("Split %s has no labels: wrote %s.zip for the challenge server.", split, output_dir)
        return {}

    results, details = {}, {}
    for metric in config.eval.metrics:
        scores = spotting_metric.average_map(game_labels, game_predictions, framerate=framerate, metric=metric)
        details[metric] = scores
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            results[f"{key}_{metric}"] = float(scores[key])
    if jax.process_index() == 0:
        with open(os.path.join(output_dir, "metrics.json"), "w") as f:
            json.dump({"split": split, "classes": list(CLASSES), **details}, f, indent=2)
    return results


TASK = Task(
    name="action_spotting",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=lambda config: loss,
    make_train_data=make_train_data,
    evaluate=evaluate,
)
