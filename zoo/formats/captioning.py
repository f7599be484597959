# Over 600 lines: kept whole while the captioning task is written against its public names.
"""Official SoccerNet dense video captioning files: `Labels-caption.json` in,
`results_dense_captioning.json` out.

Games live at `<root>/<league>/<season>/<game>/` and are named by that relative path. A label file
holds

    {"annotations": [{"gameTime": "1 - 05:24", "label": "corner", "description": "...",
                      "identified": "...", "anonymized": "[PLAYER] ([TEAM]) takes the corner."},
                     ...], ...}

and a prediction file (one per game, zipped as `league/season/game/results_dense_captioning.json`
for the challenge server) holds

    {"UrlLocal": "league/season/game", "predictions": [{"gameTime": "1 - 0:31",
     "label": "comments", "position": "31500", "half": "1", "confidence": "0.0066",
     "comment": "[PLAYER] ([TEAM]) is booked after bringing down an opponent."}, ...]}

What the official evaluator (`SoccerNet.Evaluation.DenseVideoCaptioning`) reads, and nothing else:
`gameTime` (half = its first character, seconds = 60 * minutes + seconds of its last
space-separated word), `label` (an entry whose label is not a key of the caption dictionary, or
whose half is above 2, is skipped) and the text: `anonymized` for labels, `comment` for
predictions. `position`, `half` and `confidence` of a prediction are never read.

The prediction file name is a known pitfall: the challenge README and the devkit command line use
`results_dense_captioning.json`, but the pip evaluator's default is `results_caption.json`; pass
`prediction_file` explicitly to it.

Readers follow the official parsing, but what it would crash on or silently misread (a malformed
gameTime, half 0 that it files under half 2, a text that is not a string) raises
`CaptioningFormatError` naming the file and the entry.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zoo.formats.errors import FileFormatError
from zoo.formats.archive import Archive
from zoo.formats.game_tree import games_with, zip_game_files
from zoo.formats.validate import entry_location, parse_json_bytes
from zoo.formats.validation import Problem

LABEL_FILE = "Labels-caption.json"
PREDICTION_FILE = "results_dense_captioning.json"
# The pip evaluator's default `prediction_file`; the challenge and devkit use PREDICTION_FILE.
PIP_DEFAULT_PREDICTION_FILE = "results_caption.json"
PREDICTION_LABEL = "comments"

# Keys of the official EVENT_DICTIONARY_CAPTION_V1 / _V2: the caption types, all mapped to the one
# class "comments". Version 2 (the default of the official `evaluate`) adds the empty label.
CAPTION_LABELS_V1: frozenset[str] = frozenset(
    {
        "corner",
        "substitution",
        "y-card",
        "whistle",
        "soccer-ball",
        "injury",
        "penalty",
        "yr-card",
        "r-card",
        "soccer-ball-own",
        "penalty-missed",
        "comments",
    }
)
CAPTION_LABELS_V2: frozenset[str] = CAPTION_LABELS_V1 | {""}
CAPTION_LABELS = {1: CAPTION_LABELS_V1, 2: CAPTION_LABELS_V2}

SCORED_HALVES = (1, 2)  # the official skips entries of halves above 2
UNSCORED_POLICIES = ("error", "warn", "ignore")

# "H - M:SS": one half digit, then minutes and two-digit seconds. On every string this accepts,
# the official parse (int(t[0]); t.split(' ')[-1].split(':')) gives the same numbers.
_GAME_TIME = re.compile(r"([0-9]) - ([0-9]{1,3}):([0-5][0-9])")
# Characters the Stanford PTB tokenizer treats as line ends (the official wrapper only replaces
# "\n"): a caption holding one is split over two lines and every later caption of the batch is
# paired with the wrong tokens.
LINE_BREAKS = ("\r", "\x0b", "\x0c")


class CaptioningFormatError(FileFormatError):
    """A caption label or prediction file that does not follow the official format."""


@dataclasses.dataclass(frozen=True, slots=True)
class Annotation:
    """One ground-truth caption of a `Labels-caption.json` file."""

    half: int  # 1 or 2
    seconds: int  # into the half, from gameTime "H - MM:SS"
    label: str  # caption type: corner, whistle, comments, ...
    anonymized: str  # the text the evaluator scores against, with [PLAYER], [TEAM], ...
    description: str | None = None  # the original commentary, when the file has it
    identified: str | None = None  # names replaced by identified entities, when the file has it


@dataclasses.dataclass(frozen=True, slots=True)
class Prediction:
    """One predicted caption of a `results_dense_captioning.json` file."""

    half: int  # 1 or 2, from gameTime (the "half" field is not read by the evaluator)
    seconds: int  # into the half, from gameTime
    label: str
    comment: str
    confidence: float | None = None  # None when the entry has none


def parse_game_time(text: Any, *, path: Any, where: str = "") -> tuple[int, int]:
    """Parses a gameTime "H - M:SS" into (half, seconds into the half).

    Halves above 2 parse (the caller decides to skip them); half 0 does not: the official reader
    would file it under half 2.

    Raises:
      CaptioningFormatError naming `path` (and `where`, e.g. "annotation 3") when malformed.
    """
    match = _GAME_TIME.fullmatch(text) if type(text) is str else None
    prefix = f"{where}: " if where else ""
    if match is None:
        raise CaptioningFormatError(
            path, f'{prefix}malformed gameTime {text!r}; expected "H - M:SS", e.g. "1 - 05:24"'
        )
    half, minutes, seconds = (int(g) for g in match.groups())
    if half == 0:
        raise CaptioningFormatError(
            path, f"{prefix}gameTime {text!r} has half 0; halves start at 1"
        )
    return half, 60 * minutes + seconds


def _check_policy(on_unscored: str) -> None:
    if on_unscored not in UNSCORED_POLICIES:
        raise ValueError(f"on_unscored must be one of {UNSCORED_POLICIES}, got {on_unscored!r}")


def _entries(document: Any, key: str, path: Any) -> list:
    if not isinstance(document, Mapping) or key not in document:
        raise CaptioningFormatError(path, f'missing top-level key "{key}"')
    entries = document[key]
    if not isinstance(entries, list):
        raise CaptioningFormatError(path, f'"{key}" must be a list, got {type(entries).__name__}')
    return entries


def _report_unscored(path: Any, unscored: dict[str, list], on_unscored: str) -> None:
    """unscored: what -> [count, where it first is]."""
    if not unscored or on_unscored == "ignore":
        return
    listed = ", ".join(
        f"{what} (x{count}, first: {first})" for what, (count, first) in unscored.items()
    )
    message = f"entries the official evaluator skips: {listed}"
    if on_unscored == "error":
        raise CaptioningFormatError(
            path, f"{message}; pass on_unscored='ignore' to skip them as the official does"
        )
    warnings.warn(f"{path}: skipping {message}", stacklevel=4)


def _scored_entries(
    document: Any, *, key: str, path: Any, labels: frozenset[str], on_unscored: str, what: str
):
    """(index, entry, half, seconds) of every entry the official scores, in file order."""
    _check_policy(on_unscored)
    unscored: dict[str, list] = {}
    for i, entry in enumerate(_entries(document, key, path)):
        where = f"{what} {i}"
        if not isinstance(entry, Mapping):
            raise CaptioningFormatError(path, f"{where} is not an object")
        for field in ("gameTime", "label"):
            if field not in entry:
                raise CaptioningFormatError(path, f'{where} has no "{field}"')
        half, seconds = parse_game_time(entry["gameTime"], path=path, where=where)
        label = entry["label"]
        if not isinstance(label, str):
            raise CaptioningFormatError(path, f"{where}: label {label!r} is not text")
        skipped = (
            f"label {label!r}"
            if label not in labels
            else (f"half {half}" if half not in SCORED_HALVES else None)
        )
        if skipped is not None:
            unscored.setdefault(skipped, [0, where])[0] += 1
            continue
        yield i, entry, half, seconds
    _report_unscored(path, unscored, on_unscored)


def _text(entry: Mapping, field: str, *, path: Any, where: str, required: bool = True):
    if field not in entry:
        if required:
            raise CaptioningFormatError(path, f'{where} has no "{field}"')
        return None
    value = entry[field]
    if not isinstance(value, str):
        if not required and value is None:
            return None
        raise CaptioningFormatError(path, f'{where}: "{field}" {value!r} is not a string')
    return value


def parse_labels(
    document: Any, *, path: Any, version: int = 2, on_unscored: str = "error"
) -> list[Annotation]:
    """The scored annotations of an already decoded `Labels-caption.json` (see `read_labels`)."""
    labels = _caption_labels(version)
    annotations = []
    for i, entry, half, seconds in _scored_entries(
        document,
        key="annotations",
        path=path,
        labels=labels,
        on_unscored=on_unscored,
        what="annotation",
    ):
        where = f"annotation {i}"
        annotations.append(
            Annotation(
                half=half,
                seconds=seconds,
                label=entry["label"],
                anonymized=_text(entry, "anonymized", path=path, where=where),
                description=_text(entry, "description", path=path, where=where, required=False),
                identified=_text(entry, "identified", path=path, where=where, required=False),
            )
        )
    return annotations


def _caption_labels(version: int) -> frozenset[str]:
    if version not in CAPTION_LABELS:
        raise ValueError(f"caption dictionary version must be 1 or 2, got {version!r}")
    return CAPTION_LABELS[version]


def _load_json(path: Any) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise CaptioningFormatError(path, f"invalid JSON: {e}") from e
    except UnicodeDecodeError as e:
        raise CaptioningFormatError(path, f"not UTF-8 text: {e}") from e


def read_labels(
    path: str | os.PathLike, *, version: int = 2, on_unscored: str = "error"
) -> list[Annotation]:
    """Reads the annotations of a `Labels-caption.json` file that the evaluator scores, in file
    order.

    Args:
      path: the label file.
      version: caption dictionary (2, the official default, also accepts the empty label).
      on_unscored: what to do with an entry the official evaluator skips (a label outside the
        caption dictionary, a half above 2): "error" raises, "warn" warns and skips, "ignore"
        skips silently as the official does.

    Raises:
      CaptioningFormatError naming the file for bad JSON, a missing "annotations" key, a missing
      or malformed gameTime or label, a scored entry without a string "anonymized", or (by
      default) an entry the evaluator skips.
    """
    return parse_labels(_load_json(path), path=path, version=version, on_unscored=on_unscored)


def _is_number(value: Any) -> bool:
    """A JSON number or number string, not NaN (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return not math.isnan(float(value))
    except (ValueError, OverflowError):
        return False


def _confidence(value: Any, *, path: Any, where: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value):
        raise CaptioningFormatError(path, f"{where}: confidence {value!r} is not a number")
    return float(value)


def parse_predictions(
    document: Any, *, path: Any, version: int = 2, on_unscored: str = "error"
) -> list[Prediction]:
    """The scored predictions of an already decoded `results_dense_captioning.json`
    (see `read_predictions`)."""
    labels = _caption_labels(version)
    predictions = []
    for i, entry, half, seconds in _scored_entries(
        document,
        key="predictions",
        path=path,
        labels=labels,
        on_unscored=on_unscored,
        what="prediction",
    ):
        where = f"prediction {i}"
        predictions.append(
            Prediction(
                half=half,
                seconds=seconds,
                label=entry["label"],
                comment=_text(entry, "comment", path=path, where=where),
                confidence=_confidence(entry.get("confidence"), path=path, where=where),
            )
        )
    return predictions


def read_predictions(
    path: str | os.PathLike, *, version: int = 2, on_unscored: str = "error"
) -> list[Prediction]:
    """Reads the predictions of a `results_dense_captioning.json` file that the evaluator scores,
    in file order.

    Only gameTime, label and comment are required (the evaluator reads nothing else); a
    confidence, when present, must be a number or a number string.

    Raises:
      CaptioningFormatError naming the file for bad JSON, a missing "predictions" key, a missing
      or malformed gameTime or label, a scored entry without a string "comment", a confidence that
      is not a number, or (by default, see `read_labels`) an entry the evaluator skips.
    """
    return parse_predictions(_load_json(path), path=path, version=version, on_unscored=on_unscored)


def game_time(half: int, seconds: int) -> str:
    """The gameTime string of the official baseline, "H - MM:SS"."""
    minutes, seconds = divmod(int(seconds), 60)
    return f"{int(half)} - {minutes:02d}:{seconds:02d}"


def write_predictions(
    path: str | os.PathLike,
    *,
    url_local: str,
    half: Sequence[int] | np.ndarray,
    position_ms: Sequence[int] | np.ndarray,
    comments: Sequence[str],
    confidence: Sequence[float] | np.ndarray,
) -> None:
    """Writes one game's predicted captions as the official baseline does.

    Args:
      path: the output file; parent folders are created.
      url_local: the game, `league/season/game`.
      half, position_ms, comments, confidence: N entries each; half in {1, 2}, position_ms >= 0
        milliseconds into the half (gameTime gets its whole seconds: the evaluator reads only
        gameTime), comments the caption strings.
    """
    half = np.asarray(half).reshape(-1)
    position_ms = np.asarray(position_ms).reshape(-1)
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    comments = list(comments)
    lengths = {len(half), len(position_ms), len(comments), len(confidence)}
    if len(lengths) != 1:
        raise ValueError(
            f"half, position_ms, comments and confidence must have equal lengths, got "
            f"{len(half)}, {len(position_ms)}, {len(comments)}, {len(confidence)}"
        )
    if not np.isin(half, SCORED_HALVES).all():
        raise ValueError(f"half must be 1 or 2, got {sorted(set(half.tolist()) - {1, 2})}")
    if (position_ms < 0).any() or not np.issubdtype(position_ms.dtype, np.integer):
        raise ValueError("position_ms must be integers >= 0")
    if (position_ms >= 1000 * 1000 * 60).any():
        raise ValueError("position_ms beyond 999 minutes cannot be written as a gameTime")
    if np.isnan(confidence).any():
        raise ValueError("confidence must not be NaN")
    if not all(isinstance(c, str) for c in comments):
        raise ValueError("comments must be strings")
    predictions = [
        {
            "gameTime": game_time(h, ms // 1000),
            "label": PREDICTION_LABEL,
            "position": str(ms),
            "half": str(h),
            "confidence": str(p),
            "comment": c,
        }
        for h, ms, p, c in zip(half.tolist(), position_ms.tolist(), confidence.tolist(), comments)
    ]
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

    The entries are the paths relative to `predictions_dir`, the layout the challenge server
    reads. Raises CaptioningFormatError when there is no such file or one is not exactly three
    folders deep.
    """
    return zip_game_files(predictions_dir, zip_path, prediction_file, error=CaptioningFormatError)


# ----------------------------------------------------------------------- submission validation


def _submitted_files(path: pathlib.Path) -> tuple[list[tuple[str, str, bytes]], list[Problem]]:
    """(relative name, location, content) of every JSON file of a folder or zip, sorted by name."""
    try:
        with Archive(path, error=CaptioningFormatError) as archive:
            names = sorted(name for name in archive.members() if name.endswith(".json"))
            return [(name, archive.where(name), archive.read(name)) for name in names], []
    except CaptioningFormatError as error:  # a zip that cannot be opened
        return [], [Problem(str(path), error.problem)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as error:
        return [], [Problem(str(path), f"cannot read the zip ({error})")]


def _groundtruth_games(groundtruth: str | os.PathLike, label_file: str) -> set[str]:
    """The games (league/season/game) with a label file in a labels folder or zip."""
    root = pathlib.Path(groundtruth)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if root.is_file() and not zipfile.is_zipfile(root):
        raise CaptioningFormatError(root, f"expected a folder or zip of */*/*/{label_file}")
    with Archive(root, error=CaptioningFormatError) as archive:
        games = set(games_with(archive, label_file))
    if not games:
        raise CaptioningFormatError(root, f"holds no {label_file}")
    return games


def _integer_text(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value)
    return None


def _entry_problems(entry: Any, location: str, index: int) -> list[Problem]:
    """Problems of one prediction entry (location is the file's)."""
    where = entry_location(location, "predictions", index)
    if not isinstance(entry, Mapping):
        return [Problem(where, f"expected an object, found {type(entry).__name__}")]
    problems = []
    missing = [k for k in ("gameTime", "label", "comment") if k not in entry]
    for key in missing:
        problems.append(Problem(where, f'missing "{key}" (the evaluator needs it)'))
    half = seconds = None
    if "gameTime" in entry:
        try:
            half, seconds = parse_game_time(entry["gameTime"], path="")
        except CaptioningFormatError as error:
            problems.append(Problem(entry_location(where, "gameTime"), error.problem))
        else:
            if half not in SCORED_HALVES:
                problems.append(
                    Problem(
                        entry_location(where, "gameTime"),
                        f"half {half}: the evaluator skips halves above 2; use 1 or 2",
                    )
                )
    if "label" in entry:
        label = entry["label"]
        if not isinstance(label, str) or label not in CAPTION_LABELS_V2:
            problems.append(
                Problem(
                    entry_location(where, "label"),
                    f"{json.dumps(label)} is not a caption label, so the evaluator skips the "
                    f'prediction; write "{PREDICTION_LABEL}"',
                )
            )
    if "comment" in entry:
        comment = entry["comment"]
        at = entry_location(where, "comment")
        if not isinstance(comment, str):
            problems.append(Problem(at, f"expected a string caption, found {json.dumps(comment)}"))
        elif not comment.strip():
            problems.append(Problem(at, "empty caption"))
        elif any(c in comment for c in LINE_BREAKS):
            problems.append(
                Problem(
                    at,
                    "holds a carriage return, vertical tab or form feed: the official evaluator's "
                    "tokenizer breaks the line there and shifts every later caption; use spaces",
                )
            )
    if "half" in entry:
        value = _integer_text(entry["half"])
        at = entry_location(where, "half")
        if value not in SCORED_HALVES:
            problems.append(Problem(at, f"{json.dumps(entry['half'])} is not 1 or 2"))
        elif half is not None and value != half:
            problems.append(
                Problem(
                    at,
                    f"half {value} disagrees with gameTime {entry['gameTime']!r}; the evaluator "
                    "uses gameTime only",
                )
            )
    if "position" in entry:
        value = _integer_text(entry["position"])
        at = entry_location(where, "position")
        if value is None:
            problems.append(
                Problem(at, f"{json.dumps(entry['position'])} is not milliseconds (an integer)")
            )
        elif seconds is not None and value // 1000 != seconds:
            problems.append(
                Problem(
                    at,
                    f"{value} ms is second {value // 1000} of the half but gameTime "
                    f"{entry['gameTime']!r} says second {seconds}; the evaluator uses gameTime "
                    "only",
                )
            )
    if "confidence" in entry and not _is_number(entry["confidence"]):
        problems.append(
            Problem(
                entry_location(where, "confidence"),
                f"{json.dumps(entry['confidence'])} is not a number",
            )
        )
    return problems


def _file_problems(data: bytes, location: str) -> list[Problem]:
    document, problems = parse_json_bytes(data, location)
    if document is None:
        return problems
    if not isinstance(document, Mapping):
        return problems + [
            Problem(location, f"expected an object, found {type(document).__name__}")
        ]
    if "predictions" not in document:
        return problems + [Problem(location, 'missing top-level key "predictions"')]
    entries = document["predictions"]
    if not isinstance(entries, list):
        kind = type(entries).__name__
        return problems + [
            Problem(entry_location(location, "predictions"), f"expected a list, found {kind}")
        ]
    if "UrlLocal" in document and not isinstance(document["UrlLocal"], str):
        problems.append(Problem(entry_location(location, "UrlLocal"), "expected a string"))
    for i, entry in enumerate(entries):
        problems.extend(_entry_problems(entry, location, i))
    return problems


def validate_submission(
    path: str | os.PathLike,
    *,
    groundtruth: str | os.PathLike | None = None,
    prediction_file: str = PREDICTION_FILE,
    label_file: str = LABEL_FILE,
) -> list[Problem]:
    """Every problem of a dense-captioning submission, each with its location.

    path: the zip to upload (entries `league/season/game/results_dense_captioning.json` from its
      root), a folder of the same layout, or one prediction file.
    groundtruth: optional folder or zip of `league/season/game/Labels-caption.json`: then every
      labelled game needs a prediction file (the official evaluator stops with an error on the
      first missing one) and files of other games are reported (they are not scored).

    Checked in each file: valid UTF-8 JSON without duplicate keys, a "predictions" list, and per
    entry: gameTime "H - M:SS" with half 1 or 2, a caption label ("comments"), a non-empty string
    comment without line breaks the tokenizer would split; when present, half 1/2 agreeing with
    gameTime, position in milliseconds agreeing with gameTime, confidence a number. Returns the
    problems (empty when valid). Raises FileNotFoundError when `path` does not exist and
    CaptioningFormatError / FileNotFoundError when the ground truth cannot be read.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    expected = set() if groundtruth is None else _groundtruth_games(groundtruth, label_file)
    if path.is_file() and not zipfile.is_zipfile(path):
        return _file_problems(path.read_bytes(), str(path))

    files, problems = _submitted_files(path)
    submitted: set[str] = set()
    for name, location, data in files:
        parts = pathlib.PurePosixPath(name).parts
        if parts[-1] != prediction_file:
            hint = (
                f" ({PIP_DEFAULT_PREDICTION_FILE} is only the pip evaluator's default)"
                if parts[-1] == PIP_DEFAULT_PREDICTION_FILE
                else ""
            )
            problems.append(
                Problem(
                    location, f"not read: prediction files must be named {prediction_file}{hint}"
                )
            )
            continue
        if len(parts) != 4:
            problems.append(
                Problem(
                    location,
                    f"must be at <league>/<season>/<game>/{prediction_file} from the "
                    f"{'zip' if path.is_file() else 'folder'} root "
                    f"(found {len(parts) - 1} folders)",
                )
            )
            continue
        game = "/".join(parts[:3])
        submitted.add(game)
        if groundtruth is not None and game not in expected:
            problems.append(
                Problem(location, f"game {game} is not in {groundtruth}; it is not scored")
            )
        problems.extend(_file_problems(data, location))
    if not submitted and not problems:
        problems.append(Problem(str(path), f"holds no <league>/<season>/<game>/{prediction_file}"))
    for game in sorted(expected - submitted):
        problems.append(
            Problem(
                f"{path}:{game}/{prediction_file}"
                if path.is_file()
                else str(path / game / prediction_file),
                "missing: every game of the ground truth needs a prediction file",
            )
        )
    return problems
