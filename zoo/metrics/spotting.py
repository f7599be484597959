"""SoccerNet spotting metrics, equal to the official evaluators and much faster.

  * `evaluate` / `average_map`: Average-mAP of SoccerNet-v2 action spotting (loose, tight), and
    mAP@1 of ball action spotting 2023 / 2024 (the same evaluator on `Labels-ball.json` at 25 fps,
    metric "at1");
  * Team mAP@1 of the 2025 Team Ball Action Spotting challenge is in `zoo.metrics.team_spotting`;
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

The computation on sparse events, and how it is fast, is in `zoo.metrics.spotting_events`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from zoo.formats import spotting as formats
from zoo.formats.archive import Archive
from zoo.cli import user_errors
from zoo.formats.game_tree import games_at_hand, games_to_evaluate
from zoo.formats.spotting import (
    BALL_FRAMERATE,
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    LABEL_FILE,
    PREDICTION_FILE,
)
from zoo.formats.spotting_fast import parse_label_arrays
from zoo.metrics import team_spotting
from zoo.metrics.spotting_events import (  # METRICS, RESULT_KEYS: this module's API too
    METRICS,
    RESULT_KEYS,  # noqa: F401
    Events,
    last_write_wins,
    metric_deltas,
    prediction_frames,
    score_events,
    vector_size,
)


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
    frames = prediction_frames(position_ms, framerate, size)
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    # numpy does not promise which of repeated fancy indices is written last, so keep the last
    # prediction of every cell explicitly, as the official loop does.
    last = last_write_wins(((half - 1) * size + frames) * num_classes + class_index)
    vectors = np.full((2, size, num_classes), -1.0)
    vectors[half[last] - 1, frames[last], class_index[last]] = confidence[last]
    return vectors


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
    metric_deltas(metric)
    if len(game_labels) != len(game_predictions):
        raise ValueError(
            f"{len(game_labels)} label arrays but {len(game_predictions)} prediction arrays"
        )
    if not len(game_labels):
        raise ValueError("no games to evaluate")
    size = vector_size(framerate)
    num_classes = np.shape(game_labels[0])[-1]
    events = Events(num_classes, size)
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
    return score_events(events, framerate=framerate, metric=metric)


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
    metric_deltas(metric)
    ball = label_file == BALL_LABEL_FILE
    if framerate is None:
        framerate = BALL_FRAMERATE if ball else 2
    if classes is None:
        classes = CLASSES_BALL_2023 if ball else CLASSES_V2
    classes = tuple(classes)
    size = vector_size(framerate)
    with (
        Archive(labels_dir, error=formats.SpottingFormatError) as labels_tree,
        Archive(predictions_dir, error=formats.SpottingFormatError) as predictions_tree,
    ):
        games = games_to_evaluate(
            labels_tree, predictions_tree, games, label_file=label_file,
            prediction_file=prediction_file, split_task="ball" if ball else "spotting",
        )
        events = Events(len(classes), size)
        for number, game in enumerate(games):
            label_member, prediction_member = f"{game}/{label_file}", f"{game}/{prediction_file}"
            labels = parse_label_arrays(
                labels_tree.read_json(label_member),
                path=labels_tree.where(label_member),
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
                predictions_tree.read_json(prediction_member),
                path=predictions_tree.where(prediction_member),
                classes=classes,
                on_unknown_label=on_unknown_label,
            )
            events.add_predictions(
                2 * number + predictions.half - 1,
                prediction_frames(predictions.position_ms, framerate, size),
                predictions.class_index,
                predictions.confidence,
            )
    return score_events(events, framerate=framerate, metric=metric)


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
        "--split", default=None,
        help="this official split's games that --labels holds (default: the games of --predictions)")
    parser.add_argument("--label-file", default=None, help="default: the task's")
    parser.add_argument("--prediction-file", default=PREDICTION_FILE)
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    return user_errors(_score_command)(args)


def _score_command(args) -> int:
    label_file, framerate, classes, metric = TASKS[args.task]
    label_file = args.label_file or label_file
    classes = CLASS_PRESETS[args.classes or classes]
    metric = args.metric or metric
    if args.framerate is not None:
        framerate = int(args.framerate) if float(args.framerate).is_integer() else args.framerate
    games, note = games_at_hand(args.labels, args.predictions, args.split, label_file=label_file,
                                prediction_file=args.prediction_file,
                                split_task="spotting" if args.task == "action" else "ball")
    print(note)
    common = {
        "metric": metric, "framerate": framerate, "label_file": label_file,
        "prediction_file": args.prediction_file, "classes": classes, "games": games,
    }
    if args.task == "team_ball":
        results = team_spotting.evaluate_team(args.labels, args.predictions, **common)
        print(team_spotting.format_team_table(results, classes, metric=metric))
    else:
        results = evaluate(args.labels, args.predictions, **common)
        title = "Average-mAP" if args.task == "action" else "Ball action spotting mAP"
        print(format_table(results, classes, metric=metric, title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
