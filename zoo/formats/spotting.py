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
`validate_submission` instead lists every problem of a submission zip, each with its location.
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
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from zoo.formats import splits
from zoo.formats.errors import FileFormatError
from zoo.formats.game_tree import zip_game_files
from zoo.formats.validation import Problem

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


class LabelArrays(NamedTuple):
    """The annotations of one game as arrays, in file order (what the metrics read)."""

    half: np.ndarray  # [N] int64, 1 or 2
    game_time_s: np.ndarray  # [N] int64, seconds into the half from gameTime
    position_ms: np.ndarray  # [N] int64, milliseconds into the half, -1 where absent
    class_index: np.ndarray  # [N] int64, index into the class list
    visible: np.ndarray  # [N] bool, False for "not shown"
    team: np.ndarray  # [N] int64: 0 left, 1 right (when read with team=True), else -1

    def frames(self, framerate: float) -> np.ndarray:
        """[N] frames at `framerate`, as the official evaluators compute them (before clipping):
        int(framerate * (position / 1000)), or int(framerate * seconds) without a position."""
        from_position = position_frames(self.position_ms, framerate)
        from_game_time = (framerate * self.game_time_s).astype(np.int64)
        return np.where(self.position_ms >= 0, from_position, from_game_time)


_ABSENT = object()


def _label_arrays(
    annotations: Sequence[Annotation], classes: Sequence[str], team: bool
) -> LabelArrays:
    index = {label: i for i, label in enumerate(classes)}
    return LabelArrays(
        np.array([a.half for a in annotations], dtype=np.int64),
        np.array([a.game_time_s for a in annotations], dtype=np.int64),
        np.array([-1 if a.position_ms is None else a.position_ms for a in annotations],
                 dtype=np.int64),
        np.array([index[a.label] for a in annotations], dtype=np.int64),
        np.array([a.visible for a in annotations], dtype=bool),
        np.array([_TEAM_INDEX[a.team] if team else -1 for a in annotations], dtype=np.int64),
    )


def parse_label_arrays(
    document: Any,
    *,
    path: Any,
    classes: Sequence[str] = CLASSES_V2,
    on_unknown_label: str = "error",
    team: bool = False,
) -> LabelArrays:
    """`parse_labels` as arrays, column by column (the fast path of the metrics).

    Accepts and refuses exactly what `parse_labels` does, with the same errors: any entry the
    column-wise conversion cannot take goes through `parse_labels` for its diagnosis.
    """
    _check_policy(on_unknown_label)
    entries = _entries(document, "annotations", path)
    try:
        texts = [entry["gameTime"] for entry in entries]
        labels = [entry["label"] for entry in entries]
        positions = [entry.get("position", _ABSENT) for entry in entries]
        if not set(map(type, texts)) | set(map(type, labels)) <= {str}:
            raise TypeError
        parsed = list(map(_GAME_TIMES.get, texts))
        if None in parsed:  # not seen before: parse (and remember) them
            parsed = [p or parse_game_time(t, path=path) for p, t in zip(parsed, texts)]
        times = np.array(parsed, dtype=np.int64).reshape(-1, 2)
        has_position = np.array([p is not _ABSENT for p in positions], dtype=bool)
        if not set(map(type, positions)) <= {int, str, object}:
            raise TypeError  # floats, None, ...: parse_labels names them
        position_ms = np.array(
            [int(p) if p is not _ABSENT else -1 for p in positions], dtype=np.int64
        )
        if (position_ms[has_position] < 0).any():
            raise ValueError
        visible = np.array([entry.get("visibility") != "not shown" for entry in entries], bool)
        sides = np.array(
            [_TEAM_INDEX[entry.get("team")] for entry in entries] if team else [-1] * len(entries),
            dtype=np.int64,
        )
        index = {label: i for i, label in enumerate(classes)}
        class_index = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
        known = class_index >= 0
        if (known & ~has_position & (times[:, 1] >= 100 * 60)).any():
            raise ValueError  # misread by the official: parse_labels says so
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        annotations = parse_labels(
            document, path=path, classes=classes, on_unknown_label=on_unknown_label, team=team
        )
        return _label_arrays(annotations, classes, team)
    if not known.all():
        unknown = collections.Counter(label for label, k in zip(labels, known) if not k)
        _unknown_labels(path, unknown, classes, on_unknown_label)
    return LabelArrays(
        times[known, 0], times[known, 1], position_ms[known], class_index[known], visible[known],
        sides[known],
    )


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


# ------------------------------------------------------------------------------------------------
# Submission validation
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _SubmissionRules:
    classes: tuple[str, ...]
    framerate: int  # of the official evaluation vectors (for the overwrite check)
    halves: tuple[int, ...]  # allowed values of "half"
    team: bool  # 2025: "team" required, "half" not read by the evaluator
    label_file: str  # of the ground truth


SUBMISSION_TASKS: Mapping[str, _SubmissionRules] = types.MappingProxyType({
    "action_spotting": _SubmissionRules(CLASSES_V2, 2, (1, 2), False, LABEL_FILE),
    "ball_spotting_2023": _SubmissionRules(CLASSES_BALL_2023, BALL_FRAMERATE, (1, 2), False,
                                           BALL_LABEL_FILE),
    "ball_spotting": _SubmissionRules(CLASSES_BALL, BALL_FRAMERATE, (1,), False, BALL_LABEL_FILE),
    "team_ball_spotting": _SubmissionRules(CLASSES_BALL, BALL_FRAMERATE, (1,), True,
                                           BALL_LABEL_FILE),
})
_VECTOR_MS = 120 * 60 * 1000  # the official vectors cover 120 minutes
# gameTime as writers produce it: "H - M:SS", "H - MM:SS", "1 - 96:30", sn-teamspotting "1 - 5:7".
_LOOSE_GAME_TIME = re.compile(r"(\d) - (\d+):(\d{1,2})")


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _suggest(value: str, choices: Sequence[str]) -> str:
    """A "did you mean 'PASS'?" hint when `value` differs from one of `choices` only in case,
    spaces or punctuation ("Pass", "high_pass", "Throw in"); else ""."""
    matches = [c for c in choices if _fold(c) == _fold(value)]
    if not matches:
        return ""
    return f"; did you mean {matches[0]!r}? (names are case- and spelling-sensitive)"


class _Submission:
    """The files of a submission zip or folder, by their path inside it."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.zip = None
        if path.is_dir():
            self.members = sorted(
                p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()
            )
        else:
            self.zip = zipfile.ZipFile(path)
            self.members = [name for name in self.zip.namelist() if not name.endswith("/")]

    def location(self, member: str) -> str:
        return f"{self.path}:{member}" if self.zip else str(self.path / member)

    def read(self, member: str) -> bytes:
        if self.zip:
            return self.zip.read(member)
        return (self.path / member).read_bytes()

    def close(self) -> None:
        if self.zip:
            self.zip.close()


def _groundtruth_games(
    groundtruth: Any, label_file: str, task: str
) -> tuple[list[str], list[Problem]]:
    """The games of the ground truth (labels folder or zip, or an official split name)."""
    if isinstance(groundtruth, str) and groundtruth in splits.SPLITS + ("val",) and not (
        os.path.exists(groundtruth)
    ):
        split = "valid" if groundtruth == "val" else groundtruth
        return list(splits.list_games(split, "spotting" if task == "action_spotting" else "ball")), []
    root = pathlib.Path(groundtruth)
    if root.is_dir():
        files = root.rglob(label_file)
        return sorted(p.parent.relative_to(root).as_posix() for p in files), []
    if zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as archive:
            names = archive.namelist()
        return sorted(n[: -len(label_file) - 1] for n in names if n.endswith("/" + label_file)), []
    return [], [Problem(str(groundtruth), "ground truth is neither a folder, a zip nor a split name")]


def validate_submission(
    path: str | os.PathLike,
    *,
    groundtruth: str | os.PathLike | None = None,
    task: str = "action_spotting",
) -> list[Problem]:
    """Every problem of a spotting submission, as the challenge server would meet it.

    Args:
      path: the submission zip (or a folder with the same layout): one
        `league/season/game/results_spotting.json` per game and nothing else.
      groundtruth: optional labels folder or zip (`league/season/game/Labels-v2.json` or
        `Labels-ball.json`), or an official split name ("test", "challenge", ...): then every game
        must be there, and no other.
      task: "action_spotting" (17 classes, halves 1 and 2), "ball_spotting_2023" (PASS, DRIVE,
        halves 1 and 2), "ball_spotting" (2024: 12 classes, one video per game, half 1) or
        "team_ball_spotting" (2025: as 2024, plus "team" "left"/"right"; "half" may be absent).

    Returns:
      `zoo.formats.validation.Problem`s, each located at its file (`zip:member`) and entry
      (`predictions[12].position`); empty when the submission is valid. Checked: the path is a
      zip or folder, the layout, missing and extra games and files, JSON, the "predictions" list,
      missing keys, unknown labels (with a hint for case or spelling: "Pass" for "PASS"), positions
      (integer milliseconds, >= 0, within the 120-minute vectors), halves, confidences (numbers,
      not NaN, >= 0: the evaluator drops negative ones), teams, gameTime against position, and
      predictions the evaluator overwrites (a later one in the same frame, class and half).
    """
    if task not in SUBMISSION_TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(SUBMISSION_TASKS)}")
    rules = SUBMISSION_TASKS[task]
    path = pathlib.Path(path)
    if not path.exists():
        return [Problem(str(path), "does not exist")]
    if not path.is_dir() and not zipfile.is_zipfile(path):
        return [Problem(str(path), "is not a zip file (the challenge server takes a .zip of "
                                   f"league/season/game/{PREDICTION_FILE})")]
    problems: list[Problem] = []
    try:
        submission = _Submission(path)
    except (zipfile.BadZipFile, OSError) as e:
        return [Problem(str(path), f"cannot be read as a zip file: {e}")]
    try:
        games = {}
        for name, count in collections.Counter(submission.members).items():
            if count > 1:
                problems.append(Problem(submission.location(name), f"appears {count} times in the zip"))
        for member in dict.fromkeys(submission.members):
            parts = member.split("/")
            where = submission.location(member)
            if "\\" in member:
                problems.append(Problem(where, "path uses backslashes; zip paths must use '/'"))
            elif parts[-1] != PREDICTION_FILE:
                problems.append(Problem(where, f"unexpected file; a submission holds only "
                                               f"league/season/game/{PREDICTION_FILE} files"))
            elif len(parts) != 4:
                hint = ""
                if len(parts) > 4:
                    hint = (f"; remove the leading folder {'/'.join(parts[:-4])}/ (zip the "
                            "contents of the predictions folder, not the folder)")
                problems.append(Problem(where, "wrong place: expected "
                                               f"league/season/game/{PREDICTION_FILE}{hint}"))
            else:
                games["/".join(parts[:3])] = member
        if not games:
            problems.append(Problem(str(path), f"no league/season/game/{PREDICTION_FILE} in it"))
        if groundtruth is not None:
            expected, gt_problems = _groundtruth_games(groundtruth, rules.label_file, task)
            problems += gt_problems
            if not gt_problems:
                for game in expected:
                    if game not in games:
                        problems.append(Problem(
                            submission.location(f"{game}/{PREDICTION_FILE}"),
                            "missing: the game is in the ground truth",
                        ))
                known = set(expected)
                for game, member in games.items():
                    if game not in known:
                        problems.append(Problem(
                            submission.location(member), "extra game: not in the ground truth"
                        ))
        for game, member in games.items():
            where = submission.location(member)
            try:
                document = json.loads(submission.read(member).decode("utf-8"))
            except UnicodeDecodeError as e:
                problems.append(Problem(where, f"not UTF-8 text: {e}"))
                continue
            except json.JSONDecodeError as e:
                problems.append(Problem(where, f"invalid JSON: {e}"))
                continue
            except (zipfile.BadZipFile, OSError) as e:
                problems.append(Problem(where, f"cannot be read: {e}"))
                continue
            problems += [Problem(f"{where}{entry}", message)
                         for entry, message in _document_problems(document, rules)]
    finally:
        submission.close()
    return problems


def _document_problems(document: Any, rules: _SubmissionRules) -> list[tuple[str, str]]:
    """(entry, message) of every problem of one decoded prediction file."""
    if not isinstance(document, Mapping):
        kind = type(document).__name__
        return [("", f'the top level must be an object with "predictions", got {kind}')]
    if "predictions" not in document:
        return [("", 'missing top-level key "predictions"')]
    entries = document["predictions"]
    if not isinstance(entries, list):
        return [(" predictions", f"must be a list, got {type(entries).__name__}")]
    problems = []
    cells = []  # (i, cell) of valid entries, for the overwrite check
    for i, entry in enumerate(entries):
        found, cell = _entry_problems(entry, rules)
        problems += [(f" predictions[{i}]{field}", message) for field, message in found]
        if cell is not None:
            cells.append((i, cell))
    # The official vectors keep the last prediction written to a cell: earlier ones are lost.
    last = {cell: i for i, cell in cells}
    lost = [i for i, cell in cells if last[cell] != i]
    if lost:
        unit = "(frame, class, team)" if rules.team else "(half, frame, class)"
        replacing = last[dict(cells)[lost[0]]]
        message = (
            f"{len(lost)} prediction(s) share their {unit} cell at {rules.framerate} fps with a "
            "later one, which replaces them in the official evaluator (apply NMS before "
            f"writing); the first is here, replaced by predictions[{replacing}]"
        )
        problems.append((f" predictions[{lost[0]}]", message))
    return problems


def _entry_problems(entry: Any, rules: _SubmissionRules) -> tuple[list[tuple[str, str]], Any]:
    """(field, message) problems of one prediction, and its evaluation cell when it is valid."""
    if not isinstance(entry, Mapping):
        return [("", f"must be an object, got {type(entry).__name__}")], None
    problems = []
    required = ("position", "label", "confidence") + (("team",) if rules.team else ("half",))
    for key in required:
        if key not in entry:
            problems.append(("", f'missing key "{key}"'))

    label = entry.get("label")
    if "label" in entry:
        if not isinstance(label, str):
            problems.append((".label", f"{label!r} is not text"))
        elif label not in rules.classes:
            hint = _suggest(label, rules.classes)
            valid = list(rules.classes)
            problems.append((".label", f"unknown label {label!r}{hint}; valid labels are {valid}"))

    position = None
    if "position" in entry:
        value = entry["position"]
        try:
            position = _integer(value)
        except ValueError:
            kind = "a float" if isinstance(value, float) else "not an integer"
            message = f'{value!r} is {kind}; write integer milliseconds into the half: "31500"'
            problems.append((".position", message))
        if position is not None and position < 0:
            problems.append((".position", f"negative position {position}"))
            position = None
        elif position is not None and position >= _VECTOR_MS:
            message = (
                f"{position} ms is past the 120-minute evaluation vector; the official evaluator "
                "moves it to its last frame (is it in milliseconds?)"
            )
            problems.append((".position", message))

    half = 1 if rules.team else None
    if "half" in entry:
        value = entry["half"]
        try:
            half = _integer(value)
        except ValueError:
            half = None
        if half not in rules.halves:
            expected = "1 (one video per game)" if rules.halves == (1,) else "1 or 2"
            problems.append((".half", f"{value!r} is not {expected}"))
            half = None

    confidence = None
    if "confidence" in entry:
        value = entry["confidence"]
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(value)
            confidence = float(value)
        except (ValueError, OverflowError):
            problems.append((".confidence", f"{value!r} is not a number"))
        if confidence is not None and math.isnan(confidence):
            problems.append((".confidence", "is NaN"))
            confidence = None
        elif confidence is not None and confidence < 0:
            message = f"{value!r} is negative: the official evaluator treats it as no prediction"
            problems.append((".confidence", message))

    team = None
    if rules.team and "team" in entry:
        team = entry["team"]
        if not _is_team(team):
            hint = _suggest(team, TEAMS) if isinstance(team, str) else ""
            problems.append((".team", f"{team!r} is not one of {list(TEAMS)}{hint}"))
            team = None

    if "gameTime" in entry:
        problems += _game_time_problems(entry["gameTime"], half, position)

    valid = not problems and None not in (position, half, confidence)
    cell = None
    if valid:
        frame = min(int(rules.framerate * (position / 1000)), 120 * 60 * rules.framerate - 1)
        cell = (frame, label, team) if rules.team else (half, frame, label)
    return problems, cell


def _game_time_problems(text: Any, half: int | None, position: int | None) -> list:
    """gameTime is not read by the evaluators, but one that disagrees with position or half
    points at a wrong unit or a wrong half."""
    match = _LOOSE_GAME_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(3)) >= 60:
        return [(".gameTime", f'{text!r} is not "H - M:SS"')]
    game_half, minutes, seconds = (int(g) for g in match.groups())
    problems = []
    if half is not None and game_half != half:
        problems.append((".gameTime", f"{text!r} is in half {game_half} but half is {half}"))
    # Writers floor or round the seconds: more than a second apart is a real disagreement.
    if position is not None and abs(60 * minutes + seconds - position / 1000) > 1:
        message = (
            f"{text!r} is {60 * minutes + seconds} s into the half but position {position} is "
            f"{position / 1000:g} s; the evaluator reads only position (milliseconds)"
        )
        problems.append((".gameTime", message))
    return problems
