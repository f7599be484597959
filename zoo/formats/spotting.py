"""Official SoccerNet-v2 action-spotting files: `Labels-v2.json` in, `results_spotting.json` out.

Games live at `<root>/<league>/<season>/<game>/` and are named by that relative path
(`league/season/game`). A label file holds

    {"annotations": [{"gameTime": "1 - 05:24", "label": "Corner", "position": "324000",
                      "team": "home", "visibility": "visible"}, ...], ...}

and a prediction file (one per game, zipped as `league/season/game/results_spotting.json` for
the challenge server) holds

    {"UrlLocal": "...", "predictions": [{"gameTime": "1 - 0:31", "label": "Ball out of play",
     "position": "31500", "half": "1", "confidence": "0.0066"}, ...]}

Ball action spotting uses the same files: `Labels-ball.json` (2023: two halves, PASS / DRIVE;
2024 and 2025: one video per game, every event in half 1, gameTime minutes past 60 and even 100,
12 classes; 2025 adds "team": "left" / "right" to labels and predictions, `read_*(team=True)`).

Parsing follows the official evaluator (`SoccerNet.Evaluation.ActionSpotting`) field by field, but
input it would silently misread or crash on raises `SpottingFormatError` naming the file.
Beside this module: `zoo.formats.spotting_fast` (labels as arrays, the metrics' fast reader) and
`zoo.formats.spotting_submission` (`validate_submission` lists every problem of a submission zip,
each with its location).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import math
import os
import pathlib
import re
import types
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from zoo.formats.errors import FileFormatError
from zoo.formats.game_tree import zip_game_files

# Official index order (`EVENT_DICTIONARY_V2` of the SoccerNet package).
CLASSES_V2: tuple[str, ...] = (
    "Penalty",
    "Kick-off",
    "Goal",
    "Substitution",
    "Offside",
    "Shots on target",
    "Shots off target",
    "Clearance",
    "Ball out of play",
    "Throw-in",
    "Foul",
    "Indirect free-kick",
    "Direct free-kick",
    "Corner",
    "Yellow card",
    "Red card",
    "Yellow->red card",
)
# Ball action spotting (REFERENCE.md §3.1): the 2023 classes (`EVENT_DICTIONARY_BALL` of the
# SoccerNet package) and the 12 classes of 2024 and 2025 (sn-teamspotting `class.txt` order).
CLASSES_BALL_2023: tuple[str, ...] = ("PASS", "DRIVE")
CLASSES_BALL: tuple[str, ...] = (
    "PASS",
    "DRIVE",
    "HEADER",
    "HIGH PASS",
    "OUT",
    "CROSS",
    "THROW IN",
    "SHOT",
    "BALL PLAYER BLOCK",
    "PLAYER SUCCESSFUL TACKLE",
    "FREE KICK",
    "GOAL",
)
BALL_LABEL_FILE = "Labels-ball.json"
BALL_FRAMERATE = 25
# Team sides of the 2025 labels and predictions, in the order of the 24 class x team columns.
TEAMS: tuple[str, ...] = ("left", "right")

# Official per-half feature files: kind -> (feature dimension, frames per second).
# The TFDS builder has one config per entry; the synthetic generator writes the same files.
FEATURE_KINDS: Mapping[str, tuple[int, int]] = types.MappingProxyType({
    "ResNET_TF2_PCA512": (512, 2),
    "ResNET_TF2": (2048, 2),
    "baidu_soccer_embeddings": (8576, 1),
})

LABEL_FILE = "Labels-v2.json"
PREDICTION_FILE = "results_spotting.json"

UNKNOWN_LABEL_POLICIES = ("error", "warn", "ignore")

# "H - MM:SS": minutes may have one digit, and three in the single-video ball games of 2024 and
# 2025 (one of them runs 101.8 minutes). The official reader slices gameTime[-5:-3] and
# gameTime[-2:]; that agrees with these groups for up to two minute digits, and with three it
# reads only the last two, which matters only for a label without a position (refused there).
_GAME_TIME = re.compile(r"([12]) - (\d{1,3}):([0-5]\d)")
# Parsed gameTimes; bounded, as the pattern accepts only 2 * 1110 * 60 strings.
_GAME_TIMES: dict[str, tuple[int, int]] = {}
_HALVES = {"1": 1, "2": 2, 1: 1, 2: 2}
_TEAM_INDEX = {team: i for i, team in enumerate(TEAMS)}


def _is_team(value: Any) -> bool:
    return isinstance(value, str) and value in _TEAM_INDEX


class SpottingFormatError(FileFormatError):
    """A spotting label or prediction file that does not follow the official format."""


@dataclasses.dataclass(frozen=True, slots=True)
class Annotation:
    """One ground-truth action of a `Labels-v2.json` file."""

    half: int  # 1 or 2
    game_time_s: int  # seconds into the half, from gameTime "H - MM:SS"
    position_ms: int | None  # milliseconds into the half, None when the file has no position
    label: str
    visibility: str  # "visible" or "not shown"
    team: str  # as written ("home", "away", "not applicable", ...), "" when absent

    @property
    def visible(self) -> bool:
        return self.visibility != "not shown"

    def frame(self, framerate: float) -> int:
        """Frame index at `framerate`, as the official evaluator computes it (before clipping)."""
        if self.position_ms is not None:
            return int(framerate * (self.position_ms / 1000))
        return int(framerate * self.game_time_s)


class PredictionArrays(NamedTuple):
    """The predictions of one game, one entry per prediction, in file order."""

    half: np.ndarray  # [N] int64, 1 or 2
    position_ms: np.ndarray  # [N] int64, milliseconds into the half
    class_index: np.ndarray  # [N] int64, index into the class list
    confidence: np.ndarray  # [N] float64
    team: np.ndarray  # [N] int64: 0 left, 1 right (2025 form), -1 where not read


def parse_game_time(text: str, *, path: Any) -> tuple[int, int]:
    """Parses a gameTime string "H - MM:SS" into (half, seconds into the half).

    Raises:
      SpottingFormatError naming `path` when the text is not of that form or the half is not 1 or 2.
    """
    if type(text) is str and text in _GAME_TIMES:
        return _GAME_TIMES[text]
    match = _GAME_TIME.fullmatch(text) if type(text) is str else None
    if match is None:
        raise SpottingFormatError(
            path, f'malformed gameTime {text!r}; expected "H - MM:SS" with half H in {{1, 2}}'
        )
    half, minutes, seconds = match.groups()
    parsed = _GAME_TIMES[text] = int(half), 60 * int(minutes) + int(seconds)
    return parsed


def _integer(value: Any) -> int:
    """int() as the official reader applies it, refusing what it would truncate silently."""
    if type(value) is not str and type(value) is not int:  # bool and float excluded
        raise ValueError(value)
    return int(value)


def _check_policy(on_unknown_label: str) -> None:
    if on_unknown_label not in UNKNOWN_LABEL_POLICIES:
        raise ValueError(
            f"on_unknown_label must be one of {UNKNOWN_LABEL_POLICIES}, got {on_unknown_label!r}"
        )


def _unknown_labels(
    path: Any, unknown: collections.Counter, classes: Sequence[str], on_unknown_label: str
) -> None:
    if not unknown or on_unknown_label == "ignore":
        return
    listed = ", ".join(f"{label!r} (x{count})" for label, count in unknown.items())
    if on_unknown_label == "error":
        raise SpottingFormatError(
            path, f"unknown label(s) {listed}; valid labels are {list(classes)}"
        )
    warnings.warn(f"{path}: skipping unknown label(s) {listed}", stacklevel=3)


def _load_json(path: Any) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise SpottingFormatError(path, f"invalid JSON: {e}") from e
    except UnicodeDecodeError as e:
        raise SpottingFormatError(path, f"not UTF-8 text: {e}") from e


def _entries(document: Any, key: str, path: Any) -> list:
    if not isinstance(document, Mapping) or key not in document:
        raise SpottingFormatError(path, f'missing top-level key "{key}"')
    entries = document[key]
    if not isinstance(entries, list):
        raise SpottingFormatError(path, f'"{key}" must be a list, got {type(entries).__name__}')
    return entries


def parse_labels(
    document: Any,
    *,
    path: Any,
    classes: Sequence[str] = CLASSES_V2,
    on_unknown_label: str = "error",
    team: bool = False,
) -> list[Annotation]:
    """The annotations of an already decoded `Labels-v2.json` document (see `read_labels`)."""
    _check_policy(on_unknown_label)
    known = set(classes)
    unknown: collections.Counter = collections.Counter()
    annotations = []
    for i, entry in enumerate(_entries(document, "annotations", path)):
        if not isinstance(entry, dict):
            raise SpottingFormatError(path, f"annotation {i} is not an object")
        if "gameTime" not in entry or "label" not in entry:
            missing = "gameTime" if "gameTime" not in entry else "label"
            raise SpottingFormatError(path, f'annotation {i} has no "{missing}"')
        half, game_time_s = parse_game_time(entry["gameTime"], path=path)
        label = entry["label"]
        if not isinstance(label, str):
            raise SpottingFormatError(path, f"annotation {i}: label {label!r} is not text")
        if label not in known:
            unknown[label] += 1
            continue
        position = entry.get("position")
        position_ms = None
        if position is not None or "position" in entry:
            try:
                position_ms = _integer(position)
            except ValueError:
                raise SpottingFormatError(
                    path, f"annotation {i}: position {position!r} is not an integer"
                ) from None
            if position_ms < 0:
                raise SpottingFormatError(path, f"annotation {i}: negative position {position_ms}")
        elif game_time_s >= 100 * 60:
            # The official reader would take the minutes from the last two digits only.
            raise SpottingFormatError(
                path,
                f"annotation {i}: gameTime {entry['gameTime']!r} has 100 minutes or more and no "
                f'"position"; the official evaluator would misread it (add a position in ms)',
            )
        # The official evaluator treats only "not shown" as unshown.
        visibility = "not shown" if entry.get("visibility") == "not shown" else "visible"
        side = entry.get("team")
        if team and not _is_team(side):
            # The 2025 evaluator looks up "LABEL-<team>" and raises KeyError on anything else.
            raise SpottingFormatError(
                path, f"annotation {i}: team {side!r} is not one of {list(TEAMS)}"
            )
        annotations.append(
            Annotation(
                half=half,
                game_time_s=game_time_s,
                position_ms=position_ms,
                label=label,
                visibility=visibility,
                team="" if side is None else str(side),
            )
        )
    _unknown_labels(path, unknown, classes, on_unknown_label)
    return annotations


def read_labels(
    path: str | os.PathLike,
    *,
    classes: Sequence[str] = CLASSES_V2,
    on_unknown_label: str = "error",
    team: bool = False,
) -> list[Annotation]:
    """Reads the annotations of a `Labels-v2.json` (or `Labels-ball.json`) file, in file order.

    Args:
      path: the label file.
      classes: the valid labels.
      on_unknown_label: what to do with a label not in `classes`: "error" raises, "warn" warns
        (naming the file) and skips it, "ignore" skips it silently as the official evaluator does.
      team: require "team" "left" or "right" on every annotation (the 2025 labels).

    Raises:
      SpottingFormatError naming the file for bad JSON, a missing "annotations" key, a malformed
      gameTime, a non-integer or negative position, a gameTime of 100 minutes or more without a
      position, a missing or invalid team (with `team`), or (by default) an unknown label.
    """
    return parse_labels(
        _load_json(path), path=path, classes=classes, on_unknown_label=on_unknown_label, team=team
    )


def write_labels(
    path: str | os.PathLike,
    annotations: Sequence[Annotation],
    *,
    url_local: str = "",
) -> None:
    """Writes annotations as an official `Labels-v2.json` (gameTime "H - MM:SS", position string).

    `read_labels(path)` gives the annotations back. Parent folders are created.
    """
    entries = []
    for annotation in annotations:
        minutes, seconds = divmod(annotation.game_time_s, 60)
        # Three minute digits only with a position (see _GAME_TIME).
        limit = 1000 if annotation.position_ms is not None else 100
        if annotation.half not in (1, 2) or not 0 <= minutes < limit:
            raise ValueError(f"cannot write gameTime for {annotation}")
        game_time = f"{annotation.half} - {minutes:02d}:{seconds:02d}"
        entry = {"gameTime": game_time, "label": annotation.label}
        if annotation.position_ms is not None:
            entry["position"] = str(annotation.position_ms)
        entry["team"] = annotation.team
        entry["visibility"] = annotation.visibility
        entries.append(entry)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"UrlLocal": url_local, "annotations": entries}, f, indent=4)


def _entry_error(
    path: Any, entries: list, classes: Sequence[str], team: bool = False
) -> SpottingFormatError:
    """Finds the first bad prediction entry and describes it (the slow path of parsing)."""
    required = ("position", "label", "confidence", "team") if team else (
        "position", "label", "half", "confidence"
    )
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            return SpottingFormatError(path, f"prediction {i} is not an object")
        for key in required:
            if key not in entry:
                return SpottingFormatError(path, f'prediction {i} has no "{key}"')
        if team and not _is_team(entry["team"]):
            return SpottingFormatError(
                path, f"prediction {i}: team {entry['team']!r} is not one of {list(TEAMS)}"
            )
        try:
            position = _integer(entry["position"])
        except ValueError:
            return SpottingFormatError(
                path, f"prediction {i}: position {entry['position']!r} is not an integer"
            )
        if position < 0:
            return SpottingFormatError(path, f"prediction {i}: negative position {position}")
        try:
            half = _integer(entry.get("half", 1))
        except ValueError:
            half = None
        if half not in (1, 2):
            return SpottingFormatError(
                path, f"prediction {i}: half {entry['half']!r} is not 1 or 2"
            )
        confidence = entry["confidence"]
        try:
            if isinstance(confidence, bool) or not isinstance(confidence, (int, float, str)):
                raise ValueError(confidence)
            if math.isnan(float(confidence)):
                raise ValueError(confidence)
        except (ValueError, OverflowError):
            return SpottingFormatError(
                path, f"prediction {i}: confidence {confidence!r} is not a number"
            )
        if not isinstance(entry["label"], str):
            return SpottingFormatError(
                path, f"prediction {i}: label {entry['label']!r} is not text"
            )
    return SpottingFormatError(path, "malformed predictions")


def parse_predictions(
    document: Any,
    *,
    path: Any,
    classes: Sequence[str] = CLASSES_V2,
    on_unknown_label: str = "error",
    team: bool = False,
) -> PredictionArrays:
    """The predictions of an already decoded `results_spotting.json` (see `read_predictions`)."""
    _check_policy(on_unknown_label)
    entries = _entries(document, "predictions", path)
    # Fast path: whole-column conversions; any failure falls back to an entry-by-entry diagnosis.
    try:
        positions = [entry["position"] for entry in entries]
        # The 2025 (team) evaluator never reads "half": one video per game, everything in half 1.
        halves = [entry.get("half", 1) for entry in entries] if team else [
            entry["half"] for entry in entries
        ]
        if team:
            sides = np.array([_TEAM_INDEX[entry["team"]] for entry in entries], dtype=np.int64)
        else:
            sides = np.full(len(entries), -1, dtype=np.int64)
        confidences = [entry["confidence"] for entry in entries]
        labels = [entry["label"] for entry in entries]
        if not set(map(type, positions)) | set(map(type, halves)) <= {int, str}:
            raise ValueError
        if not set(map(type, confidences)) <= {int, float, str}:
            raise ValueError
        if not set(map(type, labels)) <= {str}:
            raise ValueError
        position_ms = np.array(list(map(int, positions)), dtype=np.int64)
        half = np.array(list(map(_HALVES.get, halves)), dtype=np.int64)  # None (bad) -> TypeError
        confidence = np.array(list(map(float, confidences)), dtype=np.float64)
        if (position_ms < 0).any():
            raise ValueError
        if np.isnan(confidence).any():
            raise ValueError
    except (KeyError, TypeError, ValueError, OverflowError):
        raise _entry_error(path, entries, classes, team) from None

    index = {label: i for i, label in enumerate(classes)}
    class_index = np.array(list(map(index.get, labels, itertools.repeat(-1))), dtype=np.int64)
    unknown_mask = class_index < 0
    if unknown_mask.any():
        unknown = collections.Counter(label for label, bad in zip(labels, unknown_mask) if bad)
        _unknown_labels(path, unknown, classes, on_unknown_label)
        keep = ~unknown_mask
        half, position_ms, class_index, confidence, sides = (
            half[keep], position_ms[keep], class_index[keep], confidence[keep], sides[keep]
        )
    return PredictionArrays(half, position_ms, class_index, confidence, sides)


def read_predictions(
    path: str | os.PathLike,
    *,
    classes: Sequence[str] = CLASSES_V2,
    on_unknown_label: str = "error",
    team: bool = False,
) -> PredictionArrays:
    """Reads a `results_spotting.json` file into arrays.

    "position" and "half" must be integers or integer strings (the official reader applies int(),
    so "31500.5" is an error there too); "confidence" a number or a number string.

    Args:
      team: read the 2025 team form: every prediction needs "team" "left" or "right" (the
        official evaluator raises KeyError otherwise); "half" may be absent (taken as 1), as the
        2025 evaluator never reads it. Without it, `team` comes back as -1 everywhere.

    Raises:
      SpottingFormatError naming the file for bad JSON, a missing key, a non-integer or negative
      position, a half other than 1 or 2, a confidence that is not a number (NaN included), a
      missing or invalid team (when `team`), or (by default) an unknown label. Unknown labels are
      skipped with "warn" / "ignore".
    """
    return parse_predictions(
        _load_json(path), path=path, classes=classes, on_unknown_label=on_unknown_label, team=team
    )


def position_frames(position_ms: np.ndarray, framerate: float) -> np.ndarray:
    """Frames of millisecond positions exactly as the official evaluators compute them,
    int(framerate * (position / 1000)), before any clipping.

    The order of the float operations matters: at 25 fps, 8040 ms is frame 200 here (as in the
    official), while int(25 * 8040 / 1000) would be 201.
    """
    return (framerate * (np.asarray(position_ms, dtype=np.int64) / 1000)).astype(np.int64)


def positions_ms(frame: np.ndarray, framerate: float) -> np.ndarray:
    """Milliseconds of frames: the baselines' int(frame / framerate * 1000), moved up by the
    fewest milliseconds that make the official reader, int(framerate * (ms / 1000)), give the frame
    back. At 2 fps nothing moves; at 25 fps, frame 201 -> 8039 ms would read back as frame 200.
    """
    frame = np.asarray(frame)
    positions = (frame / framerate * 1000).astype(np.int64)
    for _ in range(1000):
        short = (framerate * (positions / 1000)).astype(np.int64) < frame
        if not short.any():
            return positions
        positions[short] += 1
    raise ValueError(f"cannot express frames at framerate {framerate} in milliseconds")


def write_predictions(
    path: str | os.PathLike,
    *,
    url_local: str,
    half: int | Sequence[int] | np.ndarray,
    frame: Sequence[int] | np.ndarray,
    class_index: Sequence[int] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    framerate: float = 2,
    classes: Sequence[str] = CLASSES_V2,
    team: Sequence[int] | np.ndarray | None = None,
) -> None:
    """Writes one game's predictions as the official baselines do: positions, halves and
    confidences as strings, position = int(frame / framerate * 1000) milliseconds (nudged up by a
    millisecond or two where the official reader would otherwise give back the previous frame,
    which happens at 25 fps but never at 2 fps).

    The three official forms:
      * action spotting (2 fps, `CLASSES_V2`) and ball spotting 2023 (25 fps,
        `CLASSES_BALL_2023`): two halves per game;
      * ball spotting 2024 (25 fps, `CLASSES_BALL`): one video per game, `half=1`; gameTime
        minutes run past 60 ("1 - 96:30");
      * team ball spotting 2025: as 2024 plus `team`, written as "team": "left" / "right".
    Strings are what the SoccerNet package reads; the 2025 evaluator applies int() to position
    and stores confidence in a float array, so it reads them too (its own writer, sn-teamspotting
    `store_json_snb`, writes numbers).

    Args:
      path: the output file; parent folders are created.
      url_local: the game, `league/season/game`.
      half, frame, class_index, confidence: arrays of equal length N, one entry per prediction
        (`half` may be a single int for all); half in {1, 2}, frame >= 0 at `framerate`,
        class_index into `classes`.
      team: None, or [N] sides: 0 left, 1 right (every prediction needs one in 2025).
    """
    frame, class_index, confidence = (
        np.asarray(a).reshape(-1) for a in (frame, class_index, confidence)
    )
    half = np.asarray(half).reshape(-1)
    if half.size == 1 and len(frame) != 1:
        half = np.full(len(frame), half.item())
    arrays = {"half": half, "frame": frame, "class_index": class_index, "confidence": confidence}
    if team is not None:
        arrays["team"] = team = np.asarray(team).reshape(-1)
    if len({len(a) for a in arrays.values()}) != 1:
        listed = ", ".join(f"{name} {len(a)}" for name, a in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have equal lengths, got {listed}")
    if not np.isin(half, (1, 2)).all():
        raise ValueError(f"half must be 1 or 2, got {sorted(set(half.tolist()) - {1, 2})}")
    if (frame < 0).any():
        raise ValueError("frames must be >= 0")
    if ((class_index < 0) | (class_index >= len(classes))).any():
        raise ValueError(f"class_index must be in [0, {len(classes)})")
    if np.isnan(confidence.astype(np.float64)).any():
        raise ValueError("confidence must not be NaN")
    if team is not None and not np.isin(team, (0, 1)).all():
        raise ValueError(f"team must be 0 (left) or 1 (right), got {sorted(set(team.tolist()) - {0, 1})}")
    positions = positions_ms(frame, framerate)
    sides = team.tolist() if team is not None else itertools.repeat(None)
    predictions = []
    for h, f, c, p, ms, side in zip(
        half.tolist(), frame.tolist(), class_index.tolist(), confidence.tolist(),
        positions.tolist(), sides,
    ):
        seconds = int(f // framerate)
        entry = {
            "gameTime": f"{h} - {seconds // 60}:{seconds % 60:02d}",
            "label": classes[c],
            "position": str(ms),
            "half": str(h),
            "confidence": str(float(p)),
        }
        if side is not None:
            entry["team"] = TEAMS[side]
        predictions.append(entry)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"UrlLocal": url_local, "predictions": predictions}, f, indent=4)


def zip_predictions(
    predictions_dir: str | os.PathLike,
    zip_path: str | os.PathLike,
    prediction_file: str = PREDICTION_FILE,
) -> pathlib.Path:
    """Zips every `league/season/game/<prediction_file>` under `predictions_dir` for submission.

    The entries are the paths relative to `predictions_dir`, which is the layout the challenge
    server expects. Raises SpottingFormatError when there is no such file or one is not exactly
    three folders deep.
    """
    return zip_game_files(predictions_dir, zip_path, prediction_file, error=SpottingFormatError)
