"""The official file formats of SoccerNet jersey number recognition (the 2023 challenge).

On disk, one folder per split (`train/`, `test/`, `challenge/`), each with one folder of
thumbnails per player tracklet, named after the tracklet id:

  <split>/images/<tracklet_id>/<tracklet_id>_<k>.jpg
  <split>/<split>_gt.json          (train and test only; the challenge labels are hidden)

The ground truth is a one-level JSON object `{"<tracklet_id>": <int jersey number>}`, with -1
for a tracklet whose number is never visible. A submission has exactly the same form, one entry
per tracklet of the split; the official evaluator (`SoccerNet.Evaluation.JerseyNumber`) refuses a
missing tracklet or a value that is not a Python int (so `"10"` or `10.0` are refused).

What counts as a valid number here, and why: a football shirt number has at most two digits, so
the ground truth can only hold -1 or 0..99 (0 is rare but possible). The official evaluator
accepts any int and simply scores one outside that range as wrong; `validate_submission` reports
such a number as a problem since it can never be right. Tracklet ids of the official data are
folder names of decimal digits; without a ground truth to compare with, `validate_submission`
reports keys of another form.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from zoo.formats.archive import is_hidden
from zoo.formats.errors import FileFormatError
from zoo.formats.validate import entry_location, parse_json_bytes, read_submission_json
from zoo.formats.validation import Problem

SPLITS = ("train", "test", "challenge")
ILLEGIBLE = -1  # the number is not visible anywhere in the tracklet
MIN_NUMBER, MAX_NUMBER = 0, 99
IMAGES_FOLDER = "images"

_TRACKLET_ID = re.compile(r"[0-9]+")


class JerseyFormatError(FileFormatError):
    """A jersey-number ground truth or prediction file that does not follow the official format."""


def groundtruth_file(split: str) -> str:
    """The ground-truth file of a split, relative to the dataset root: `test/test_gt.json`."""
    if split not in SPLITS:
        raise ValueError(f"unknown jersey split {split!r}; expected one of {SPLITS}")
    return f"{split}/{split}_gt.json"


def is_jersey_number(value: Any) -> bool:
    """True for -1 or an int 0..99 (a bool is no number)."""
    return type(value) is int and (value == ILLEGIBLE or MIN_NUMBER <= value <= MAX_NUMBER)


def all_jersey_numbers(values: list) -> bool:
    """`is_jersey_number` of every value, checked at once."""
    if set(map(type, values)) - {int}:  # a bool's type is bool, not int
        return False
    try:
        numbers = np.array(values, np.int64)
    except OverflowError:
        return False
    return bool(
        np.all((numbers == ILLEGIBLE) | ((numbers >= MIN_NUMBER) & (numbers <= MAX_NUMBER)))
    )


def describe_value(value: Any) -> str:
    """Why a JSON value is no jersey number, said so that the fix is plain."""
    if isinstance(value, bool):
        return f"{str(value).lower()} is a JSON boolean, not a jersey number"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return f"{value!r} is a float; write the integer {int(value)}"
        return f"{value!r} is a float, not a jersey number"
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?[0-9]+", text):
            return f"{value!r} is a string; write the integer {int(text)} without quotes"
        return f"{value!r} is a string, not a jersey number"
    if value is None:
        return "null is not a jersey number; write -1 for a number that is not visible"
    if type(value) is int:
        return (
            f"{value} is outside -1 (not visible) and {MIN_NUMBER}..{MAX_NUMBER}, so it can never "
            "be right"
        )
    return f"a JSON {type(value).__name__} is not a jersey number"


def _groundtruth_problem(number: Any) -> str:
    if type(number) is int:
        return f"{number} is not a jersey number (-1 or {MIN_NUMBER}..{MAX_NUMBER})"
    return describe_value(number)


def load_json(path: str | os.PathLike) -> Any:
    """A JSON file as Python objects; invalid JSON or a duplicated key raises `JerseyFormatError`."""
    path = pathlib.Path(path)
    document, problems = parse_json_bytes(path.read_bytes(), str(path))
    if problems:
        detail = (f"{p.location.removeprefix(str(path)).strip()}: {p.message}" for p in problems)
        raise JerseyFormatError(path, "; ".join(d.removeprefix(": ") for d in detail))
    return document


def read_groundtruth(path: str | os.PathLike) -> dict[str, int]:
    """Read `<split>_gt.json`: `{tracklet_id: number}` in file order.

    Every value must be -1 or an int 0..99 (not a bool); the file must hold at least one tracklet.
    Raises `JerseyFormatError` naming the file and the first bad tracklet otherwise.
    """
    document = load_json(path)
    if not isinstance(document, dict):
        raise JerseyFormatError(path, "expected a JSON object mapping tracklet ids to numbers")
    if not document:
        raise JerseyFormatError(path, "holds no tracklet")
    if not all_jersey_numbers(list(document.values())):
        tracklet, number = next((t, n) for t, n in document.items() if not is_jersey_number(n))
        raise JerseyFormatError(path, f"tracklet {tracklet!r}: {_groundtruth_problem(number)}")
    return dict(document)


def read_predictions(path: str | os.PathLike) -> dict[str, int]:
    """Read a prediction file: `{tracklet_id: number}` with int values (not bools), file order.

    Numbers outside -1/0..99 are kept (the official evaluator scores them as wrong); see
    `validate_submission` to have them reported. Raises `JerseyFormatError` naming the file and
    the first non-int value, a duplicated key, or a document that is no object.
    """
    document = load_json(path)
    if not isinstance(document, dict):
        raise JerseyFormatError(path, "expected a JSON object mapping tracklet ids to numbers")
    for tracklet, number in document.items():
        if type(number) is not int:
            raise JerseyFormatError(path, f"tracklet {tracklet!r}: {describe_value(number)}")
    return dict(document)


def _as_number(value: Any, *, path: Any, tracklet: str) -> int:
    # numpy integers are welcome; bools, floats and strings are what the official evaluator refuses
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise JerseyFormatError(path, f"tracklet {tracklet!r}: {describe_value(value)}")
    number = value.__index__()
    if not is_jersey_number(number):
        raise JerseyFormatError(path, f"tracklet {tracklet!r}: {describe_value(number)}")
    return number


def _tracklet_key(key: Any, *, path: Any) -> str:
    if isinstance(key, bool) or not (isinstance(key, str) or hasattr(key, "__index__")):
        raise JerseyFormatError(path, f"tracklet id {key!r} is neither a string nor an integer")
    text = key if isinstance(key, str) else str(key.__index__())
    if not text:
        raise JerseyFormatError(path, "an empty tracklet id")
    return text


def _numeric_first(key: str):
    return (0, int(key), key) if _TRACKLET_ID.fullmatch(key) else (1, 0, key)


def write_predictions(path: str | os.PathLike, predictions: Mapping[Any, Any]) -> pathlib.Path:
    """Write a submission file `{"<tracklet_id>": number}`, tracklets in increasing id order.

    Keys may be strings or integers (written as strings); values Python or numpy integers, -1 or
    0..99. Raises `JerseyFormatError` for anything else or for two keys naming one tracklet.
    Returns the path.
    """
    path = pathlib.Path(path)
    document: dict[str, int] = {}
    for key, value in predictions.items():
        tracklet = _tracklet_key(key, path=path)
        if tracklet in document:
            raise JerseyFormatError(path, f"tracklet {tracklet!r} is given twice")
        document[tracklet] = _as_number(value, path=path, tracklet=tracklet)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump({k: document[k] for k in sorted(document, key=_numeric_first)}, f)
    return path


def tracklet_ids(split_folder: str | os.PathLike) -> list[str]:
    """The tracklet ids of a split folder: the names of the folders in `<split>/images/`.

    Raises FileNotFoundError when there is no `images/` folder or it holds no tracklet folder.
    """
    images = pathlib.Path(split_folder) / IMAGES_FOLDER
    if not images.is_dir():
        raise FileNotFoundError(f"{images}: no {IMAGES_FOLDER}/ folder of tracklets")
    folders = (p.name for p in images.iterdir() if p.is_dir() and not is_hidden(p.name))
    ids = sorted(folders, key=_numeric_first)
    if not ids:
        raise FileNotFoundError(f"{images}: no tracklet folder in it")
    return ids


_FRAME = re.compile(r"(.+)_([0-9]+)\.jpe?g", re.IGNORECASE)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def frame_index(name: str, tracklet: str) -> int | None:
    """k of an official frame name `<tracklet>_<k>.jpg`, or None for a name of another form."""
    match = _FRAME.fullmatch(name)
    return int(match.group(2)) if match and match.group(1) == tracklet else None


def tracklet_frames(folder: str | os.PathLike) -> list[pathlib.Path]:
    """The images of one tracklet folder, in frame order.

    Official names `<tracklet>_<k>.jpg` are ordered by k; other image names (`.jpg`, `.jpeg`,
    `.png`, e.g. crops a user cut from their own video) come after them by name. Raises
    `JerseyFormatError` naming the folder when it holds no image.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise JerseyFormatError(folder, "not a folder of tracklet images")
    images = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise JerseyFormatError(folder, "a tracklet folder with no image (.jpg, .jpeg or .png) in it")

    def order(path: pathlib.Path):
        k = frame_index(path.name, folder.name)
        return (0, k, path.name) if k is not None else (1, 0, path.name)

    return sorted(images, key=order)


def tracklet_folders(folder: str | os.PathLike) -> dict[str, pathlib.Path]:
    """{tracklet id: folder} of a folder of tracklets: a split folder (with `images/`) or the
    `images/` folder itself (any folder whose sub-folders are tracklets).

    Raises `JerseyFormatError` naming the folder when it has no tracklet folder in it.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise JerseyFormatError(folder, "no such folder of tracklets")
    if (folder / IMAGES_FOLDER).is_dir():
        folder = folder / IMAGES_FOLDER
    tracklets = {p.name: p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if not tracklets:
        raise JerseyFormatError(
            folder, "no tracklet folder in it; expected one folder of crops per tracklet "
            f"(<tracklet>/<tracklet>_<k>.jpg), or a split folder with an {IMAGES_FOLDER}/ folder of them")
    return {t: tracklets[t] for t in sorted(tracklets, key=_numeric_first)}


def _expected_tracklets(groundtruth: str | os.PathLike) -> tuple[str, list[str]]:
    """(what was read, tracklet ids) from a ground-truth file, a zip of one, or a split folder.

    A split folder is read through its `*_gt.json` when it has one, else through `images/`
    (the challenge split, whose labels are hidden, still lists its tracklets there).
    """
    groundtruth = pathlib.Path(groundtruth)
    if groundtruth.is_dir():
        gt_files = sorted(p for p in groundtruth.glob("*_gt.json") if not is_hidden(p.name))
        if len(gt_files) > 1:
            names = ", ".join(p.name for p in gt_files)
            raise JerseyFormatError(groundtruth, f"several ground-truth files ({names}); give one")
        if not gt_files:
            return str(groundtruth / IMAGES_FOLDER), tracklet_ids(groundtruth)
        groundtruth = gt_files[0]
    if groundtruth.is_file() and groundtruth.suffix != ".zip":
        return str(groundtruth), list(read_groundtruth(groundtruth))
    location, document, problems = read_submission_json(groundtruth, what="ground-truth file")
    if problems:
        raise JerseyFormatError(groundtruth, "; ".join(map(str, problems)))
    if not isinstance(document, dict) or not document:
        raise JerseyFormatError(location, "expected a non-empty object of tracklet numbers")
    for tracklet, number in document.items():
        if not is_jersey_number(number):
            problem = _groundtruth_problem(number)
            raise JerseyFormatError(location, f"tracklet {tracklet!r}: {problem}")
    return location, list(document)


def validate_submission(
    path: str | os.PathLike, *, groundtruth: str | os.PathLike | None = None
) -> list[Problem]:
    """Every problem of a jersey-number submission, each with its location.

    path: the prediction JSON file, or a folder or zip holding exactly one `.json` file.
    groundtruth: optional `<split>_gt.json` (or a zip of it), or a split folder (its `*_gt.json`,
    else its `images/<tracklet_id>/` folders); with it, missing and extra tracklets are reported.
    Reports: unreadable or non-object JSON, duplicated keys, values that are not JSON integers
    (strings, floats, booleans, null, ...), numbers outside -1 and 0..99, keys that are not
    tracklet ids, missing and extra tracklets. Raises FileNotFoundError / `JerseyFormatError`
    when `path` does not exist or the ground truth cannot be read.
    """
    expected = None
    if groundtruth is not None:
        truth_location, expected = _expected_tracklets(groundtruth)
    location, document, problems = read_submission_json(path, what="jersey prediction file")
    if document is None:
        return problems
    if not isinstance(document, dict):
        kind = type(document).__name__
        problems.append(
            Problem(location, f"expected a JSON object {{tracklet id: number}}, found a {kind}")
        )
        return problems
    expected_set = set(expected) if expected is not None else None
    for tracklet, number in document.items():
        where = entry_location(location, tracklet)
        if expected_set is not None:
            if tracklet not in expected_set:
                problems.append(
                    Problem(where, f"not a tracklet of the ground truth {truth_location}")
                )
        elif not _TRACKLET_ID.fullmatch(tracklet):
            problems.append(
                Problem(where, f"{tracklet!r} is not a tracklet id (a folder name of digits)")
            )
        if not is_jersey_number(number):
            problems.append(Problem(where, describe_value(number)))
    if expected is not None:
        for tracklet in expected:
            if tracklet not in document:
                problems.append(
                    Problem(
                        entry_location(location, tracklet),
                        "missing: every tracklet needs a number (-1 when it is not visible)",
                    )
                )
    elif not document:
        problems.append(Problem(location, "holds no tracklet"))
    return problems
