"""Team mAP@1 of the 2025 Team Ball Action Spotting challenge, equal to the official evaluator.

  * `evaluate_team` (files) / `team_average_map` (events in memory);
  * `python -m zoo.metrics.spotting --task team_ball ...` prints `format_team_table`.

The official evaluator (sn-teamspotting `util/eval.py::mAPevaluateCodabench` with
`util/score.py::compute_amAP`) turns every game into ONE vector of 120*60*25 frames, ignoring
the predictions' "half" and keeping only the labels of half 1, with 2*C columns: class k of team
"left" in column 2k, of team "right" in column 2k+1. It runs the SoccerNet `average_mAP` on
those columns and weights each class's left and right AP by their ground-truth counts:

  AP_k = (AP_2k * N_2k + AP_2k+1 * N_2k+1) / (N_2k + N_2k+1),   Team mAP = mean_k AP_k,

where N is the column sum of the label vectors over all games. Labels marked "not shown" are
-1 in those vectors, so they SUBTRACT from N (an official bug, reproduced: a team side whose GTs
are all unshown gets a negative weight). When N_2k + N_2k+1 == 0 (no GT of class k at all, or
as many unshown as visible ones) AP_k is NaN (0/0) or +-inf, and so is the Team mAP, as in the
official. The same weighting gives mAP_visible and mAP_unshown (from the per-column visible and
unshown APs; so no 17/13 factor on the team mAP_unshown, even with several tolerances). A second
pass with the team ignored (C columns; a later event of either team overwrites an earlier one
in the same frame and class) gives mAP_no_team, mAP_per_class_no_team and mAP_visible_no_team.

Where the official raises KeyError, or silently drops or misplaces events, `evaluate_team` raises
`SpottingFormatError` naming the file and the entry (see its docstring).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from zoo.formats.archive import Archive
from zoo.formats.game_tree import games_to_evaluate
from zoo.formats.spotting import (
    BALL_FRAMERATE,
    BALL_LABEL_FILE,
    CLASSES_BALL,
    PREDICTION_FILE,
    TEAMS,
    SpottingFormatError,
    parse_predictions,
)
from zoo.formats.spotting_fast import parse_label_arrays
from zoo.metrics.spotting_events import (
    Events,
    metric_deltas,
    prediction_frames,
    score_events,
    vector_size,
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
    team_events: Events, plain_events: Events, *, framerate: float, metric: str,
    classes: Sequence[str],
) -> dict:
    """The 2025 keys from the 2C-column (class x team) and C-column (team ignored) events."""
    team = score_events(team_events, framerate=framerate, metric=metric)
    plain = score_events(plain_events, framerate=framerate, metric=metric)
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
        self.team = Events(len(TEAMS) * num_classes, self.size)
        self.plain = Events(num_classes, self.size)

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
    metric_deltas(metric)
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
    module docstring for its exact semantics, bugs included) on every key.

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
    metric_deltas(metric)
    classes = tuple(classes) if classes is not None else CLASSES_BALL
    builder = _TeamEventsBuilder(len(classes), framerate)
    with (
        Archive(labels_dir, error=SpottingFormatError) as labels_tree,
        Archive(predictions_dir, error=SpottingFormatError) as predictions_tree,
    ):
        if isinstance(games, str) and label_file != BALL_LABEL_FILE:
            raise ValueError("a split name needs label_file=Labels-ball.json; pass the games")
        games = games_to_evaluate(
            labels_tree, predictions_tree, games, label_file=label_file,
            prediction_file=prediction_file, split_task="ball",
        )
        for number, game in enumerate(games):
            member = f"{game}/{label_file}"
            path = labels_tree.where(member)
            labels = parse_label_arrays(
                labels_tree.read_json(member), path=path, classes=classes, team=True
            )
            if (labels.half != 1).any():
                i = int(np.argmax(labels.half != 1))  # no label is skipped: i is its index
                raise SpottingFormatError(
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
            member = f"{game}/{prediction_file}"
            path = predictions_tree.where(member)
            predictions = parse_predictions(
                predictions_tree.read_json(member), path=path, classes=classes, team=True
            )
            if (predictions.half != 1).any():
                i = int(np.argmax(predictions.half != 1))
                raise SpottingFormatError(
                    path,
                    f"prediction {i}: half {int(predictions.half[i])}; the 2025 games are one "
                    "video each, all in half 1 (the official evaluator ignores half)",
                )
            builder.add(
                number,
                labels,
                TeamEvents(
                    prediction_frames(predictions.position_ms, framerate, builder.size),
                    predictions.class_index,
                    predictions.team,
                    predictions.confidence,
                ),
            )
    return _score_team_events(
        builder.team, builder.plain, framerate=framerate, metric=metric, classes=classes
    )


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
