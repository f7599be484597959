"""SoccerNet spotting metrics, equal to the official evaluators and much faster.

  * `evaluate` / `average_map`: Average-mAP of SoccerNet-v2 action spotting (loose, tight), and
    mAP@1 of ball action spotting 2023 / 2024 (the same evaluator on `Labels-ball.json` at 25 fps,
    metric "at1");
  * `evaluate_team` / `team_average_map`: Team mAP@1 of the 2025 Team Ball Action Spotting
    challenge (sn-teamspotting's evaluator; see the comment above `TeamEvents`).
  * `python -m zoo.metrics.spotting --task action|ball|ball2023|team_ball ...` prints a table.

The official `SoccerNet.Evaluation.ActionSpotting.evaluate` is the specification. Per half-game,
labels and predictions are frame vectors of length `120*60*framerate`; per class and half, GT
events are taken in time order and each one matches the highest-scoring still unmatched
prediction within |pred - gt| <= delta/2 frames (ties go to the earliest frame); every prediction
also takes the visibility of its nearest GT ("closest", boundaries at floor midpoints, unshown in
a half without GT of its class). Precision and recall are taken at 200 thresholds
`np.linspace(0, 1, 200)` (a prediction counts at a threshold when score >= threshold, so scores
above 1 count at all of them), pooled over every half of every game; AP is the 11-point
interpolated AP; the mAP over tolerances is averaged with the trapezoid rule divided by
`len(deltas) - 1`.

Quirks reproduced on purpose:
  * `a_mAP_unshown` is multiplied by 17/13 when there are several tolerances (loose, tight),
    whatever the number of classes; with one tolerance (at1..at5) it is not.
  * A later prediction (or label) written to the same (half, frame, class) cell replaces the
    earlier one, even when the later score is lower; a negative score removes a prediction.
  * Frames beyond the vector are clipped to its last frame.
  * Precision and recall are 0 where they are 0/0; visible-pool recall can exceed 1, because a
    prediction is pooled by its nearest GT but matched by the greedy search.

Where the official code crashes or silently misreads, this module raises instead: a game with
labels but no prediction file raises FileNotFoundError naming the games; malformed files raise
`SpottingFormatError` (see `zoo.formats.spotting`).

How it is fast: only the events are kept (no dense 14400-frame vectors); the greedy matching runs
one step per GT rank within runs of GTs whose windows overlap, each step vectorised over every
run of every (half, class, tolerance); the threshold sweep is a searchsorted plus cumulative sums.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from zoo.formats import spotting as formats
from zoo.formats.game_tree import GameTree, missing_message
from zoo.formats.spotting import (
    BALL_FRAMERATE,
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    LABEL_FILE,
    PREDICTION_FILE,
    TEAMS,
)

# Tolerances (seconds) of each official metric name.
METRICS: dict[str, tuple[int, ...]] = {
    "loose": tuple(range(5, 65, 5)),
    "tight": (1, 2, 3, 4, 5),
    "at1": (1,),
    "at2": (2,),
    "at3": (3,),
    "at4": (4,),
    "at5": (5,),
}
THRESHOLDS = np.linspace(0, 1, 200)
RECALL_POINTS = np.arange(11) / 10  # 11-point interpolation, as the official computes them
UNSHOWN_FACTOR = (17, 13)  # official a_mAP_unshown *= 17/13 (several tolerances only)
RESULT_KEYS = (
    "a_mAP",
    "a_mAP_per_class",
    "a_mAP_visible",
    "a_mAP_per_class_visible",
    "a_mAP_unshown",
    "a_mAP_per_class_unshown",
)

# Keys of the 2025 team evaluator (sn-teamspotting `mAPevaluateCodabench`), in its order.
TEAM_RESULT_KEYS = (
    "mAP",
    "mAP_per_class",
    "mAP_visible",
    "mAP_per_class_visible",
    "mAP_unshown",
    "mAP_per_class_unshown",
    "mAP_no_team",
    "mAP_per_class_no_team",
    "mAP_visible_no_team",
)

_MAX_CHUNK = 1 << 25  # (tolerance, prediction) cells matched at once, to bound memory


def vector_size(framerate: float) -> int:
    """Frames per half-game vector: 120 minutes at `framerate`."""
    size = 120 * 60 * framerate
    if size != int(size) or size <= 0:
        raise ValueError(f"120*60*framerate must be a positive integer, got framerate={framerate}")
    return int(size)


def _deltas(metric: str) -> tuple[int, ...]:
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; expected one of {list(METRICS)}")
    return METRICS[metric]


def label_vectors(
    annotations: Sequence[formats.Annotation],
    *,
    framerate: float = 2,
    classes: Sequence[str] = CLASSES_V2,
) -> np.ndarray:
    """Ground truth of one game as the official label vectors.

    Returns:
      [2, vector_size, num_classes] float64: +1 for a visible GT, -1 for a "not shown" one, 0
      elsewhere. Frames are clipped to the last one; a later annotation in the same cell wins.
    """
    size = vector_size(framerate)
    index = {label: i for i, label in enumerate(classes)}
    vectors = np.zeros((2, size, len(classes)))
    for annotation in annotations:
        if annotation.label not in index:
            raise ValueError(f"label {annotation.label!r} is not in classes {list(classes)}")
        frame = min(annotation.frame(framerate), size - 1)
        vectors[annotation.half - 1, frame, index[annotation.label]] = (
            1.0 if annotation.visible else -1.0
        )
    return vectors


def _prediction_frames(position_ms: np.ndarray, framerate: float, size: int) -> np.ndarray:
    # The official int(framerate * (position / 1000)), then clipped.
    frames = formats.position_frames(position_ms, framerate)
    if (frames < 0).any():
        raise ValueError("prediction positions must be >= 0")
    return np.minimum(frames, size - 1)


def prediction_vectors(
    half: np.ndarray,
    position_ms: np.ndarray,
    class_index: np.ndarray,
    confidence: np.ndarray,
    team: np.ndarray | None = None,
    *,
    framerate: float = 2,
    num_classes: int = len(CLASSES_V2),
) -> np.ndarray:
    """Predictions of one game as the official prediction vectors.

    Args:
      half, position_ms, class_index, confidence: [N] arrays (see `formats.PredictionArrays`).
      team: not used, accepted so that `prediction_vectors(*read_predictions(path))` works; the
        team is scored only by the 2025 metric (`team_average_map`).

    Returns:
      [2, vector_size, num_classes] float64, -1 where there is no prediction. Frames are
      clipped to the last one; a later prediction in the same cell overwrites an earlier one.
    """
    size = vector_size(framerate)
    half = np.asarray(half, dtype=np.int64)
    class_index = np.asarray(class_index, dtype=np.int64)
    if not np.isin(half, (1, 2)).all():
        raise ValueError("half must be 1 or 2")
    if ((class_index < 0) | (class_index >= num_classes)).any():
        raise ValueError(f"class_index must be in [0, {num_classes})")
    frames = _prediction_frames(position_ms, framerate, size)
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    # numpy does not promise which of repeated fancy indices is written last, so keep the last
    # prediction of every cell explicitly, as the official loop does.
    last = _last_write_wins(((half - 1) * size + frames) * num_classes + class_index)
    vectors = np.full((2, size, num_classes), -1.0)
    vectors[half[last] - 1, frames[last], class_index[last]] = confidence[last]
    return vectors


def _last_write_wins(keys: np.ndarray) -> np.ndarray:
    """Indices of the last occurrence of every distinct key, in increasing key order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
    return order[last]


class _Events:
    """Sparse events of many half-games: one row per non-empty (half, frame, class) cell.

    `half` numbers halves over all games (2*game + half - 1). Labels carry +-1 values, predictions
    scores; predictions with a negative score are no predictions, as in the official code.
    """

    def __init__(self, num_classes: int, size: int):
        self.num_classes, self.size = num_classes, size
        self.gt = ([], [], [], [])  # half, frame, class, value
        self.pred = ([], [], [], [])  # half, frame, class, score

    @staticmethod
    def _add(columns, *arrays):
        for column, array in zip(columns, arrays):
            column.append(np.asarray(array).reshape(-1))

    def add_labels(self, half, frame, cls, value):
        self._add(self.gt, half, frame, cls, value)

    def add_predictions(self, half, frame, cls, score):
        self._add(self.pred, half, frame, cls, score)

    def cells(self, columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group, frame, value) of every cell after overwrites, sorted by group then frame.

        A group is one (half, class): group = half * num_classes + class.
        """
        if not columns[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        half, frame, cls = (np.concatenate(c).astype(np.int64) for c in columns[:3])
        values = np.concatenate(columns[3]).astype(np.float64)
        group = half * self.num_classes + cls
        keep = _last_write_wins(group * self.size + frame)
        return group[keep], frame[keep], values[keep]


def _match(gt_key, pred_key, pred_score, half_windows):
    """Official greedy matching, for several tolerances at once.

    Args:
      gt_key, pred_key: sorted int64 keys group*stride + frame, where the stride keeps every
        window inside its group.
      pred_score: [P] score of each prediction.
      half_windows: [D] ints; a GT may match a prediction with |pred - gt| <= half_window.

    Returns:
      (tolerance index, prediction index) of every matched prediction (a true positive).
    """
    num_preds = len(pred_key)
    windows = np.asarray(half_windows, dtype=np.int64)[:, None]
    lo = np.searchsorted(pred_key, gt_key[None, :] - windows, side="left")
    hi = np.searchsorted(pred_key, gt_key[None, :] + windows, side="right")
    # GTs whose windows overlap (keys at most 2 * window apart) form a run that must be matched
    # one GT after the other, in time order; different runs share no candidate and are matched
    # in parallel. Step k takes the k-th GT of every run, of every tolerance.
    new_run = np.ones((len(windows), len(gt_key)), dtype=bool)
    new_run[:, 1:] = np.diff(gt_key)[None, :] > 2 * windows
    index = np.arange(len(gt_key))
    run_rank = index - np.maximum.accumulate(np.where(new_run, index, 0), axis=1)
    # Only (tolerance, GT) pairs with candidates do anything; order them by rank in their run.
    delta_of, gt_of = np.nonzero(hi > lo)
    rank_of = run_rank[delta_of, gt_of]
    order = np.argsort(rank_of, kind="stable")
    delta_of, gt_of, rank_of = delta_of[order], gt_of[order], rank_of[order]
    pair_lo, pair_hi = lo[delta_of, gt_of], hi[delta_of, gt_of]
    step_starts = np.searchsorted(rank_of, np.arange(rank_of.max(initial=-1) + 2))

    taken = np.zeros(len(windows) * num_preds + 1, dtype=bool)  # flat [D, P] + a padding cell
    scores = np.append(pred_score, -np.inf)  # score of the padding candidate
    matches = []
    # Within one step every pair belongs to a different (run, tolerance), so no two compete:
    # the steps replay the official GT-by-GT loop of every group in parallel.
    for start, stop in zip(step_starts[:-1], step_starts[1:]):
        if start == stop:
            continue
        first, last = pair_lo[start:stop], pair_hi[start:stop]
        candidates = first[:, None] + np.arange(int((last - first).max()))
        outside = candidates >= last[:, None]
        candidates[outside] = num_preds
        flat = delta_of[start:stop, None] * num_preds + candidates
        flat[outside] = len(taken) - 1
        free = ~outside & ~taken[flat]
        # argmax returns the first maximum: the earliest frame, like the official strict '>'.
        best = np.argmax(np.where(free, scores[candidates], -np.inf), axis=1)
        rows = np.nonzero(free[np.arange(len(best)), best])[0]
        chosen = flat[rows, best[rows]]
        taken[chosen] = True
        matches.append(chosen)
    chosen = np.concatenate(matches) if matches else np.zeros(0, np.int64)
    return chosen // max(num_preds, 1), chosen % max(num_preds, 1)


def _precision_recall(pred_class, pred_score, pred_closest, tp_delta, tp_pred, num_gt, shape):
    """Precision and recall at the 200 thresholds, for all / visible / unshown pools.

    Args:
      pred_class, pred_score, pred_closest: [P] class, score and nearest-GT value of predictions.
      tp_delta, tp_pred: tolerance and prediction index of every true positive.
      num_gt: [C] GT counts of the three pools.
      shape: (D, C).

    Returns:
      (precision, recall) of each pool, each [D, C, 200].
    """
    num_deltas, num_classes = shape
    num_bins = len(THRESHOLDS) + 1
    # bin b = number of thresholds <= score: the prediction counts at thresholds 0..b-1.
    cell = pred_class * num_bins + np.searchsorted(THRESHOLDS, pred_score, side="right")

    def above(counts):  # counts [..., num_bins] -> number with bin > k, for k = 0..199
        return np.cumsum(counts[..., ::-1], axis=-1)[..., ::-1][..., 1:]

    pools = (
        None,
        pred_closest > 0.5,  # nearest GT visible
        pred_closest < -0.5,  # nearest GT unshown, or no GT of the class in the half
    )
    outputs = []
    for pool, gt_count in zip(pools, num_gt):
        pool_cells = cell if pool is None else cell[pool]
        tp = slice(None) if pool is None else pool[tp_pred]
        num_pred = above(
            np.bincount(pool_cells, minlength=num_classes * num_bins).reshape(num_classes, num_bins)
        )
        true_pos = above(
            np.bincount(
                tp_delta[tp] * (num_classes * num_bins) + cell[tp_pred[tp]],
                minlength=num_deltas * num_classes * num_bins,
            ).reshape(num_deltas, num_classes, num_bins)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.nan_to_num(true_pos / num_pred)
            recall = np.nan_to_num(true_pos / gt_count[:, None])
        outputs.append((precision, recall))
    return outputs


def _mean_ap(precision: np.ndarray, recall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """11-point interpolated AP: ([D] mAP, [D, C] AP per class) from [D, C, 200] curves."""
    ap = np.zeros(precision.shape[:-1])
    for point in RECALL_POINTS:
        # precision >= 0, so a 0 where recall < point leaves the maximum as the official takes it.
        ap += np.max(np.where(recall >= point, precision, 0.0), axis=-1)
    per_class = ap / 11
    return np.array([np.mean(row) for row in per_class]), per_class


def _trapezoid(values: np.ndarray) -> np.ndarray:
    """The official sum of (m_i + m_{i+1}) / 2 over tolerances, divided by their count - 1."""
    integral = np.zeros(values.shape[1:])
    for i in range(len(values) - 1):
        integral = integral + (values[i] + values[i + 1]) / 2
    return integral / (len(values) - 1)


def _score_events(events: _Events, *, framerate: float, metric: str) -> dict:
    """Average-mAP of sparse events (the core shared by `average_map` and `evaluate`)."""
    deltas = _deltas(metric)
    num_classes, size = events.num_classes, events.size
    gt_group, gt_frame, gt_value = events.cells(events.gt)
    pred_group, pred_frame, pred_score = events.cells(events.pred)
    # After the overwrites, only cells with a score >= 0 are predictions (NaN is none).
    keep = pred_score >= 0
    pred_group, pred_frame, pred_score = pred_group[keep], pred_frame[keep], pred_score[keep]
    gt_class, pred_class = gt_group % num_classes, pred_group % num_classes

    # Official: |pred - gt| <= delta/2 with delta = seconds * framerate frames.
    half_windows = [math.floor(delta * framerate / 2) for delta in deltas]
    widest = max(half_windows)
    stride = size + widest + 1  # keys of different groups are more than a window apart
    gt_key = gt_group * stride + gt_frame  # sorted, as the cells are
    pred_key = pred_group * stride + pred_frame

    # Nearest GT ("closest"): GT i owns the frames from floor((f_{i-1} + f_i) / 2) (from 0 for the
    # first GT of its group) to the start of the next one.
    first_of_group = np.ones(len(gt_key), dtype=bool)
    first_of_group[1:] = gt_group[1:] != gt_group[:-1]
    region_start = gt_group * stride
    region_start[~first_of_group] += (gt_frame[:-1] + gt_frame[1:])[~first_of_group[1:]] // 2
    owner = np.searchsorted(region_start, pred_key, side="right") - 1
    owner_ok = np.maximum(owner, 0)
    has_owner = (owner >= 0) & (gt_group[owner_ok] == pred_group)
    pred_closest = np.where(has_owner, gt_value[owner_ok], -1.0)

    # Only predictions within the widest window of some GT can be matched.
    following = np.searchsorted(gt_key, pred_key, side="left")
    far = np.iinfo(np.int64).max // 4
    gt_padded = np.concatenate([[-far], gt_key, [far]])
    near = (gt_padded[following + 1] - pred_key <= widest) | (
        pred_key - gt_padded[following] <= widest
    )
    near_index = np.nonzero(near)[0]

    chunk = max(1, _MAX_CHUNK // max(1, len(near_index)))  # bounds the [D, P] bookkeeping
    tp_delta, tp_pred = [], []
    for i in range(0, len(deltas), chunk):
        delta_index, pred_index = _match(
            gt_key,
            pred_key[near_index],
            pred_score[near_index],
            half_windows[i : i + chunk],
        )
        tp_delta.append(delta_index + i)
        tp_pred.append(near_index[pred_index])

    num_visible = np.bincount(gt_class[gt_value > 0], minlength=num_classes)
    num_unshown = np.bincount(gt_class[gt_value < 0], minlength=num_classes)
    curves = _precision_recall(
        pred_class,
        pred_score,
        pred_closest,
        np.concatenate(tp_delta),
        np.concatenate(tp_pred),
        (num_visible + num_unshown, num_visible, num_unshown),
        (len(deltas), num_classes),
    )
    results = {}
    for suffix, (precision, recall) in zip(("", "_visible", "_unshown"), curves):
        m_ap, per_class = _mean_ap(precision, recall)
        if len(deltas) == 1:
            value, per_class = m_ap[0], per_class[0]
        else:
            value, per_class = _trapezoid(m_ap), _trapezoid(per_class)
            if suffix == "_unshown":
                value = value * UNSHOWN_FACTOR[0] / UNSHOWN_FACTOR[1]
        results[f"a_mAP{suffix}"] = float(value)
        results[f"a_mAP_per_class{suffix}"] = [float(v) for v in per_class]
    return {key: results[key] for key in RESULT_KEYS}


def average_map(
    game_labels: Sequence[np.ndarray],
    game_predictions: Sequence[np.ndarray],
    *,
    framerate: float = 2,
    metric: str = "loose",
) -> dict:
    """Average-mAP of games given as official vectors (no files).

    Args:
      game_labels: per game, [2, vector_size, C] from `label_vectors` (+1 visible, -1 not shown).
      game_predictions: per game, [2, vector_size, C] from `prediction_vectors` (scores, < 0 none).
      framerate: frames per second of the vectors.
      metric: loose, tight or at1..at5.

    Returns:
      The official keys: a_mAP, a_mAP_per_class, a_mAP_visible, a_mAP_per_class_visible,
      a_mAP_unshown, a_mAP_per_class_unshown (floats and lists of floats).
    """
    _deltas(metric)
    if len(game_labels) != len(game_predictions):
        raise ValueError(
            f"{len(game_labels)} label arrays but {len(game_predictions)} prediction arrays"
        )
    if not len(game_labels):
        raise ValueError("no games to evaluate")
    size = vector_size(framerate)
    num_classes = np.shape(game_labels[0])[-1]
    events = _Events(num_classes, size)
    for game, (labels, predictions) in enumerate(zip(game_labels, game_predictions)):
        labels, predictions = np.asarray(labels), np.asarray(predictions)
        for name, array in (("labels", labels), ("predictions", predictions)):
            if array.shape != (2, size, num_classes):
                expected = (2, size, num_classes)
                raise ValueError(
                    f"game {game}: {name} have shape {array.shape}, expected {expected}"
                )
        # Flat indices into [2, size, C] (faster than a 3-d nonzero on 14400 x 17 cells per half).
        cells = np.flatnonzero(labels)
        values = labels.reshape(-1)[cells]
        if not ((values == 1) | (values == -1)).all():
            raise ValueError(f"game {game}: label values must be -1, 0 or +1")
        half, frame, cls = np.unravel_index(cells, labels.shape)
        events.add_labels(2 * game + half, frame, cls, values)
        cells = np.flatnonzero(predictions >= 0)
        half, frame, cls = np.unravel_index(cells, predictions.shape)
        events.add_predictions(2 * game + half, frame, cls, predictions.reshape(-1)[cells])
    return _score_events(events, framerate=framerate, metric=metric)


def _tree(path: str | os.PathLike) -> GameTree:
    return GameTree(path, error=formats.SpottingFormatError)


def evaluate(
    labels_dir: str | os.PathLike,
    predictions_dir: str | os.PathLike,
    *,
    metric: str = "loose",
    framerate: float | None = None,
    label_file: str = LABEL_FILE,
    prediction_file: str = PREDICTION_FILE,
    classes: Sequence[str] | None = None,
    games: Sequence[str] | str | None = None,
    on_unknown_label: str = "error",
) -> dict:
    """Average-mAP of prediction files against label files, as the official `evaluate` computes it.

    Ball action spotting (2023, 2024) is the same computation on `Labels-ball.json` at 25 fps,
    metric "at1" (mAP@1), as the official `evaluate(..., framerate=25, metric="at1",
    label_files="Labels-ball.json", dataset="Ball")`; pass `classes=CLASSES_BALL` for the 12
    classes of 2024 (the official default, as here, is the 2 classes of 2023). The 2024 games are
    one video each, every event in half 1: the second half's vectors stay empty, and positions
    past the 120-minute vector (none in the real games, which last up to 102 minutes) are moved
    to its last frame, as the official does.

    Args:
      labels_dir: folder or zip holding `league/season/game/<label_file>`.
      predictions_dir: folder or zip holding `league/season/game/<prediction_file>`.
      metric: loose (5..60 s), tight (1..5 s) or at1..at5 (one tolerance).
      framerate: frames per second of the evaluation vectors (default: 25 for `Labels-ball.json`,
        else 2).
      classes: label names in index order (default: the 17 SoccerNet-v2 classes, or PASS and
        DRIVE for `Labels-ball.json`).
      games: `league/season/game` paths, an official split name ("test", ...; the ball lists for
        `Labels-ball.json`), or None for every game under `labels_dir` that has `label_file`.
      on_unknown_label: "error" (default), "warn" or "ignore" for labels outside `classes`, in
        label and prediction files alike (the official skips them silently).

    Returns:
      The official keys (see `average_map`).

    Raises:
      FileNotFoundError: a game has labels but no prediction file (listed in the message).
      SpottingFormatError: a malformed file (named in the message).
      ValueError: an unknown metric.
    """
    deltas = _deltas(metric)
    del deltas
    ball = label_file == BALL_LABEL_FILE
    if framerate is None:
        framerate = BALL_FRAMERATE if ball else 2
    if classes is None:
        classes = CLASSES_BALL_2023 if ball else CLASSES_V2
    classes = tuple(classes)
    size = vector_size(framerate)
    labels_tree, predictions_tree = _tree(labels_dir), _tree(predictions_dir)
    try:
        games = _games(labels_tree, predictions_tree, games, label_file, prediction_file)
        events = _Events(len(classes), size)
        for number, game in enumerate(games):
            labels = formats.parse_label_arrays(
                labels_tree.load(game, label_file),
                path=labels_tree.name(game, label_file),
                classes=classes,
                on_unknown_label=on_unknown_label,
            )
            events.add_labels(
                2 * number + labels.half - 1,
                np.minimum(labels.frames(framerate), size - 1),
                labels.class_index,
                np.where(labels.visible, 1.0, -1.0),
            )
            predictions = formats.parse_predictions(
                predictions_tree.load(game, prediction_file),
                path=predictions_tree.name(game, prediction_file),
                classes=classes,
                on_unknown_label=on_unknown_label,
            )
            events.add_predictions(
                2 * number + predictions.half - 1,
                _prediction_frames(predictions.position_ms, framerate, size),
                predictions.class_index,
                predictions.confidence,
            )
    finally:
        labels_tree.close()
        predictions_tree.close()
    return _score_events(events, framerate=framerate, metric=metric)


def _games(labels_tree, predictions_tree, games, label_file: str, prediction_file: str) -> list:
    """The games to evaluate; raises when one lacks its label or prediction file."""
    if games is None:
        games = labels_tree.games_with(label_file)
    elif isinstance(games, str):
        from zoo.formats import splits

        # The 2025 code names the validation split "val"; the SoccerNet lists say "valid".
        split = "valid" if games == "val" else games
        games = splits.list_games(split, "ball" if label_file == BALL_LABEL_FILE else "spotting")
    games = list(games)
    if not games:
        raise ValueError(f"no game with {label_file} under {labels_tree.path}")
    missing_labels = [g for g in games if not labels_tree.has(g, label_file)]
    if missing_labels:
        raise FileNotFoundError(missing_message(label_file, labels_tree.path, missing_labels))
    missing = [g for g in games if not predictions_tree.has(g, prediction_file)]
    if missing:
        raise FileNotFoundError(missing_message(prediction_file, predictions_tree.path, missing))
    return games





# ------------------------------------------------------------------------------------------------
# Team mAP of the 2025 Team Ball Action Spotting challenge.
#
# The official evaluator (sn-teamspotting `util/eval.py::mAPevaluateCodabench` with
# `util/score.py::compute_amAP`) turns every game into ONE vector of 120*60*25 frames, ignoring
# the predictions' "half" and keeping only the labels of half 1, with 2*C columns: class k of team
# "left" in column 2k, of team "right" in column 2k+1. It runs the SoccerNet `average_mAP` on
# those columns and weights each class's left and right AP by their ground-truth counts:
#
#   AP_k = (AP_2k * N_2k + AP_2k+1 * N_2k+1) / (N_2k + N_2k+1),   Team mAP = mean_k AP_k,
#
# where N is the column sum of the label vectors over all games. Labels marked "not shown" are
# -1 in those vectors, so they SUBTRACT from N (an official bug, reproduced: a team side whose GTs
# are all unshown gets a negative weight). When N_2k + N_2k+1 == 0 (no GT of class k at all, or
# as many unshown as visible ones) AP_k is NaN (0/0) or +-inf, and so is the Team mAP, as in the
# official. The same weighting gives mAP_visible and mAP_unshown (from the per-column visible and
# unshown APs; so no 17/13 factor on the team mAP_unshown, even with several tolerances). A second
# pass with the team ignored (C columns; a later event of either team overwrites an earlier one
# in the same frame and class) gives mAP_no_team, mAP_per_class_no_team and mAP_visible_no_team.
# ------------------------------------------------------------------------------------------------


class TeamEvents(NamedTuple):
    """Events of one game for the 2025 team metric, in file (write) order.

    A later event in the same (frame, class, team) cell replaces an earlier one, and in the
    team-free pass a later event in the same (frame, class) cell does, as the official vectors do.
    """

    frame: np.ndarray  # [N] int, frame at the evaluation framerate (>= 0; clipped to the vector)
    class_index: np.ndarray  # [N] int, index into the classes
    team: np.ndarray  # [N] int, 0 left, 1 right
    value: np.ndarray  # [N] float: labels +1 visible / -1 not shown; predictions their score


def _check_team_events(events: TeamEvents, num_classes: int, what: str) -> TeamEvents:
    frame, class_index, team = (np.asarray(a, dtype=np.int64).reshape(-1) for a in events[:3])
    value = np.asarray(events.value, dtype=np.float64).reshape(-1)
    if not len(frame) == len(class_index) == len(team) == len(value):
        raise ValueError(f"{what}: frame, class_index, team and value must have equal lengths")
    if (frame < 0).any():
        raise ValueError(f"{what}: frames must be >= 0")
    if ((class_index < 0) | (class_index >= num_classes)).any():
        raise ValueError(f"{what}: class_index must be in [0, {num_classes})")
    if not np.isin(team, (0, 1)).all():
        raise ValueError(f"{what}: team must be 0 (left) or 1 (right)")
    return TeamEvents(frame, class_index, team, value)


def _team_weighted(per_column: Sequence[float], weight: np.ndarray) -> tuple[float, list[float]]:
    """GT-count-weighted mean of each class's left and right AP, then the mean over classes.

    The official order of operations: AP * N per column, then (left + right) / (N_left + N_right).
    """
    weighted = np.asarray(per_column, dtype=np.float64) * weight
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = [
            (weighted[2 * k] + weighted[2 * k + 1]) / (weight[2 * k] + weight[2 * k + 1])
            for k in range(len(weight) // 2)
        ]
        mean = np.mean(per_class)
    return float(mean), [float(v) for v in per_class]


def _score_team_events(
    team_events: _Events, plain_events: _Events, *, framerate: float, metric: str,
    classes: Sequence[str],
) -> dict:
    """The 2025 keys from the 2C-column (class x team) and C-column (team ignored) events."""
    team = _score_events(team_events, framerate=framerate, metric=metric)
    plain = _score_events(plain_events, framerate=framerate, metric=metric)
    gt_group, _, gt_value = team_events.cells(team_events.gt)
    columns = team_events.num_classes
    weight = np.bincount(gt_group % columns, weights=gt_value, minlength=columns).astype(np.float64)
    unweighted = [classes[k] for k in range(len(classes)) if weight[2 * k] + weight[2 * k + 1] == 0]
    if unweighted:
        warnings.warn(
            f"Team mAP: {unweighted} have N_left + N_right == 0 (no GT, or as many 'not shown' "
            "as visible ones); their AP and the Team mAP are NaN or inf, as in the official.",
            RuntimeWarning,
            stacklevel=3,
        )
    results = {}
    for suffix in ("", "_visible", "_unshown"):
        value, per_class = _team_weighted(team[f"a_mAP_per_class{suffix}"], weight)
        results[f"mAP{suffix}"], results[f"mAP_per_class{suffix}"] = value, per_class
    results["mAP_no_team"] = plain["a_mAP"]
    results["mAP_per_class_no_team"] = plain["a_mAP_per_class"]
    results["mAP_visible_no_team"] = plain["a_mAP_visible"]
    return {key: results[key] for key in TEAM_RESULT_KEYS}


class _TeamEventsBuilder:
    """Collects the games' events into the two official layouts: class x team, and class only."""

    def __init__(self, num_classes: int, framerate: float):
        self.size = vector_size(framerate)
        self.team = _Events(len(TEAMS) * num_classes, self.size)
        self.plain = _Events(num_classes, self.size)

    def add(self, game: int, labels: TeamEvents, predictions: TeamEvents) -> None:
        for events, add in ((labels, "add_labels"), (predictions, "add_predictions")):
            frame = np.minimum(events.frame, self.size - 1)  # official: min(frame, size - 1)
            game_of = np.full(len(frame), game)
            getattr(self.team, add)(
                game_of, frame, len(TEAMS) * events.class_index + events.team, events.value
            )
            getattr(self.plain, add)(game_of, frame, events.class_index, events.value)


def team_average_map(
    game_labels: Sequence[TeamEvents],
    game_predictions: Sequence[TeamEvents],
    *,
    classes: Sequence[str] = CLASSES_BALL,
    framerate: float = BALL_FRAMERATE,
    metric: str = "at1",
) -> dict:
    """Team mAP of the 2025 challenge from events in memory (no files), e.g. in a training loop.

    Args:
      game_labels: per game, the GT events (value +1 visible, -1 not shown), in file order.
      game_predictions: per game, the predicted events (value = score; < 0 or NaN: none).
      classes: the class names (their number sets the columns; names appear in warnings).
      framerate: frames per second of the events' frames (the official: 25).
      metric: at1 (the challenge metric), at2..at5, tight or loose.

    Returns:
      The official keys `TEAM_RESULT_KEYS`: mAP (Team mAP), mAP_per_class, mAP_visible,
      mAP_per_class_visible, mAP_unshown, mAP_per_class_unshown, mAP_no_team,
      mAP_per_class_no_team, mAP_visible_no_team (floats and lists of C floats).
    """
    _deltas(metric)
    if len(game_labels) != len(game_predictions):
        raise ValueError(f"{len(game_labels)} label games but {len(game_predictions)} prediction games")
    if not len(game_labels):
        raise ValueError("no games to evaluate")
    builder = _TeamEventsBuilder(len(classes), framerate)
    for game, (labels, predictions) in enumerate(zip(game_labels, game_predictions)):
        labels = _check_team_events(labels, len(classes), f"game {game} labels")
        if not ((labels.value == 1) | (labels.value == -1)).all():
            raise ValueError(f"game {game}: label values must be -1 or +1")
        predictions = _check_team_events(predictions, len(classes), f"game {game} predictions")
        builder.add(game, labels, predictions)
    return _score_team_events(
        builder.team, builder.plain, framerate=framerate, metric=metric, classes=classes
    )


def evaluate_team(
    labels_dir: str | os.PathLike,
    predictions_dir: str | os.PathLike,
    *,
    metric: str = "at1",
    framerate: float = BALL_FRAMERATE,
    label_file: str = BALL_LABEL_FILE,
    prediction_file: str = PREDICTION_FILE,
    classes: Sequence[str] | None = None,
    games: Sequence[str] | str | None = None,
) -> dict:
    """Team mAP@1 of the 2025 Team Ball Action Spotting challenge, from files.

    Equal to the official Codabench evaluator (sn-teamspotting `mAPevaluateCodabench`, see the
    comment above `TeamEvents` for its exact semantics, bugs included) on every key.

    Where the official raises KeyError, or silently drops or misplaces events, this raises
    `SpottingFormatError` naming the file and the entry: an unknown label (labels or predictions),
    a missing or invalid team ("left"/"right"), a label outside half 1 (the official drops it), a
    prediction with "half" other than 1 (the official scores it as half 1; "half" may be absent).

    Args:
      labels_dir: folder or zip holding `league/season/game/<label_file>`.
      predictions_dir: folder or zip holding `league/season/game/<prediction_file>`.
      metric: at1 (the challenge metric), at2..at5, tight or loose.
      framerate: frames per second of the evaluation vector (official: 25).
      classes: class names in index order (default: the 12 ball classes).
      games: `league/season/game` paths, a ball split name ("test", "challenge", "val" or
        "valid", ...), or None for every game under `labels_dir` that has `label_file`.

    Returns:
      The official keys, see `team_average_map`.
    """
    _deltas(metric)
    classes = tuple(classes) if classes is not None else CLASSES_BALL
    builder = _TeamEventsBuilder(len(classes), framerate)
    labels_tree, predictions_tree = _tree(labels_dir), _tree(predictions_dir)
    try:
        if isinstance(games, str) and label_file != BALL_LABEL_FILE:
            raise ValueError("a split name needs label_file=Labels-ball.json; pass the games")
        games = _games(labels_tree, predictions_tree, games, label_file, prediction_file)
        for number, game in enumerate(games):
            path = labels_tree.name(game, label_file)
            labels = formats.parse_label_arrays(
                labels_tree.load(game, label_file), path=path, classes=classes, team=True
            )
            if (labels.half != 1).any():
                i = int(np.argmax(labels.half != 1))  # no label is skipped: i is its index
                raise formats.SpottingFormatError(
                    path,
                    f"annotation {i}: gameTime half {int(labels.half[i])}; the 2025 games are one "
                    "video each, all in half 1 (the official evaluator drops other halves)",
                )
            labels = TeamEvents(
                labels.frames(framerate),
                labels.class_index,
                labels.team,
                np.where(labels.visible, 1.0, -1.0),
            )
            path = predictions_tree.name(game, prediction_file)
            predictions = formats.parse_predictions(
                predictions_tree.load(game, prediction_file), path=path, classes=classes, team=True
            )
            if (predictions.half != 1).any():
                i = int(np.argmax(predictions.half != 1))
                raise formats.SpottingFormatError(
                    path,
                    f"prediction {i}: half {int(predictions.half[i])}; the 2025 games are one "
                    "video each, all in half 1 (the official evaluator ignores half)",
                )
            builder.add(
                number,
                labels,
                TeamEvents(
                    _prediction_frames(predictions.position_ms, framerate, builder.size),
                    predictions.class_index,
                    predictions.team,
                    predictions.confidence,
                ),
            )
    finally:
        labels_tree.close()
        predictions_tree.close()
    return _score_team_events(
        builder.team, builder.plain, framerate=framerate, metric=metric, classes=classes
    )


def format_table(
    results: dict, classes: Sequence[str] = CLASSES_V2, metric: str = "", title: str = "Average-mAP"
) -> str:
    """A readable text table of `evaluate` results: overall, visible, unshown, then per class."""
    title = (f"{title} ({metric})" if metric else title) + ", in %"
    width = max(20, *(len(name) for name in classes))
    lines = [
        title,
        f"  {'all':>8} {'visible':>8} {'unshown':>8}",
        f"  {100 * results['a_mAP']:8.2f} {100 * results['a_mAP_visible']:8.2f} "
        f"{100 * results['a_mAP_unshown']:8.2f}",
        "",
        f"{'class':<{width}} {'all':>8} {'visible':>8} {'unshown':>8}",
    ]
    for name, a, v, u in zip(
        classes,
        results["a_mAP_per_class"],
        results["a_mAP_per_class_visible"],
        results["a_mAP_per_class_unshown"],
    ):
        lines.append(f"{name:<{width}} {100 * a:8.2f} {100 * v:8.2f} {100 * u:8.2f}")
    return "\n".join(lines)


def format_team_table(results: dict, classes: Sequence[str] = CLASSES_BALL, metric: str = "") -> str:
    """A readable text table of `evaluate_team` results: Team mAP and mAP without team, per class."""
    title = "Team mAP" + (f" ({metric})" if metric else "") + ", in %"
    width = max(24, *(len(name) for name in classes))
    lines = [
        title,
        f"  {'team':>8} {'no team':>8} {'visible':>8} {'unshown':>8}",
        "  " + " ".join(
            f"{100 * results[key]:8.2f}" for key in ("mAP", "mAP_no_team", "mAP_visible", "mAP_unshown")
        ),
        "",
        f"{'class':<{width}} {'team':>8} {'no team':>8} {'visible':>8} {'unshown':>8}",
    ]
    for name, t, n, v, u in zip(
        classes,
        results["mAP_per_class"],
        results["mAP_per_class_no_team"],
        results["mAP_per_class_visible"],
        results["mAP_per_class_unshown"],
    ):
        lines.append(f"{name:<{width}} {100 * t:8.2f} {100 * n:8.2f} {100 * v:8.2f} {100 * u:8.2f}")
    return "\n".join(lines)


# Command-line presets: label file, framerate, classes and metric of each challenge.
TASKS = {
    "action": (LABEL_FILE, 2, "v2", "loose"),
    "ball": (BALL_LABEL_FILE, BALL_FRAMERATE, "ball", "at1"),  # 2024: 12 classes
    "ball2023": (BALL_LABEL_FILE, BALL_FRAMERATE, "ball2023", "at1"),
    "team_ball": (BALL_LABEL_FILE, BALL_FRAMERATE, "ball", "at1"),  # 2025
}
CLASS_PRESETS = {"v2": CLASSES_V2, "ball": CLASSES_BALL, "ball2023": CLASSES_BALL_2023}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.spotting",
        description="SoccerNet spotting metrics, equal to the official evaluators: action spotting "
        "Average-mAP, ball action spotting mAP@1 (2023, 2024) and Team mAP@1 (2025).",
    )
    parser.add_argument(
        "--labels", required=True, help="folder or zip of league/season/game/<label file>"
    )
    parser.add_argument(
        "--predictions", required=True, help="folder or zip of league/season/game/<prediction file>"
    )
    parser.add_argument(
        "--task", default="action", choices=list(TASKS),
        help="action: SoccerNet-v2 (2 fps, loose); ball: 2024 ball (25 fps, 12 classes, at1); "
        "ball2023: 2023 ball (PASS, DRIVE); team_ball: 2025 Team mAP (25 fps, 12 classes, at1)",
    )
    parser.add_argument("--metric", default=None, choices=list(METRICS), help="default: the task's")
    parser.add_argument("--framerate", type=float, default=None, help="default: the task's")
    parser.add_argument(
        "--classes", default=None, choices=list(CLASS_PRESETS), help="default: the task's"
    )
    parser.add_argument(
        "--split", default=None, help="only this official split's games (default: all labelled)"
    )
    parser.add_argument("--label-file", default=None, help="default: the task's")
    parser.add_argument("--prediction-file", default=PREDICTION_FILE)
    args = parser.parse_args(argv)
    label_file, framerate, classes, metric = TASKS[args.task]
    label_file = args.label_file or label_file
    classes = CLASS_PRESETS[args.classes or classes]
    metric = args.metric or metric
    if args.framerate is not None:
        framerate = int(args.framerate) if float(args.framerate).is_integer() else args.framerate
    common = {
        "metric": metric, "framerate": framerate, "label_file": label_file,
        "prediction_file": args.prediction_file, "classes": classes, "games": args.split,
    }
    if args.task == "team_ball":
        results = evaluate_team(args.labels, args.predictions, **common)
        print(format_team_table(results, classes, metric=metric))
    else:
        results = evaluate(args.labels, args.predictions, **common)
        title = "Average-mAP" if args.task == "action" else "Ball action spotting mAP"
        print(format_table(results, classes, metric=metric, title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
