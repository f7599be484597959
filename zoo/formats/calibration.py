"""The official file formats of the SoccerNet camera calibration task (REFERENCE.md §5).

Ground truth: per image `<idx>.json` (idx: digits, e.g. `00042`) beside `<idx>.jpg`, mapping a
line class (`zoo.geometry.pitch.LINE_CLASSES`) to the annotated points of that pitch element,
normalised to [0, 1] by the image size:

  {"Side line top": [{"x": 0.12, "y": 0.31}, {"x": 0.97, "y": 0.28}], "Circle central": [...]}

A split folder (`valid/`) also holds `match_info.json`, which is not an annotation. The official
ground-truth zip has one folder level, `<split>/<idx>.json`.

Prediction: per image `camera_<idx>.json`, a dict with `pan_degrees`, `tilt_degrees`,
`roll_degrees`, `position_meters` [3], `x_focal_length`, `y_focal_length`, `principal_point` [2],
`radial_distortion` [6], `tangential_distortion` [2], `thin_prism_distortion` [4]
(`zoo.geometry.camera`). A submission is a zip of these files, flat (`camera_00001.json`) or
under the split folder (`valid/camera_00001.json`, the EvalAI layout). Cameras must be expressed
for 960x540 images: the evaluator projects with the given focal lengths and principal point.

Readers check files fully and raise `CalibrationFormatError` naming the file (`archive.zip:member`
inside a zip). They are stricter than the official evaluator, which crashes on a missing key or a
short list but accepts longer lists, booleans and non-finite numbers: here those are errors too.
Implausible values (a focal length <= 0, a principal point outside the image) are read as they
are, since the evaluator scores them, and reported by `validate_submission`.
Files whose names are neither annotations nor cameras are skipped by the readers (the evaluator
never opens them) and reported by `validate_submission`.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from zoo.formats.archive import Archive
from zoo.formats.errors import FileFormatError
from zoo.formats.validation import Problem
from zoo.geometry.camera import JSON_FIELDS, Camera
from zoo.geometry.pitch import CLASS_INDEX

ANNOTATION_NAME = re.compile(r"(?P<idx>[0-9]+)\.json")
CAMERA_NAME = re.compile(r"camera_(?P<idx>[0-9]+)\.json")
# Files of a split folder that are neither images nor annotations.
COMPANION_FILES = frozenset({"match_info.json"})
IMAGE_WIDTH, IMAGE_HEIGHT = 960, 540


class CalibrationFormatError(FileFormatError):
    """A calibration annotation or camera file that does not follow the official format."""


def annotation_file_name(idx: str) -> str:
    return f"{idx}.json"


def camera_file_name(idx: str) -> str:
    return f"camera_{idx}.json"


# ----------------------------------------------------------------------------- folders and zips


def _split_member(name: str) -> tuple[str | None, str]:
    """(folder or None, file name) of a member at depth 0 or 1; deeper members get folder '/'."""
    parts = name.split("/")
    if len(parts) == 1:
        return None, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "/", parts[-1]


def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise CalibrationFormatError(where, f"not UTF-8 text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise CalibrationFormatError(
            where, f"not valid JSON (line {error.lineno} column {error.colno}: {error.msg})"
        ) from None


_NUMBER_TYPES = (int, float)  # exact types: bool, a subclass of int, is no number here


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        return False


# ------------------------------------------------------------------------------------ annotations


def parse_annotation(document: Any, *, where: Any = "<annotation>") -> dict[str, np.ndarray]:
    """Class -> normalised points [n, 2] float64 (x, y) of one annotation document, in file order.

    Raises `CalibrationFormatError` naming `where` for anything but an object of known classes,
    each a list of {"x": number, "y": number} objects with finite values.
    """
    if not isinstance(document, dict):
        raise CalibrationFormatError(
            where, f"expected an object of line classes, got {type(document).__name__}"
        )
    lines = {}
    for name, points in document.items():
        if name not in CLASS_INDEX:
            raise CalibrationFormatError(where, f"unknown line class {name!r}")
        if not isinstance(points, list):
            raise CalibrationFormatError(
                where, f"{name!r}: expected a list of points, got {type(points).__name__}"
            )
        try:
            coordinates = [(point["x"], point["y"]) for point in points]
            valid = all(
                type(x) in _NUMBER_TYPES and type(y) in _NUMBER_TYPES for x, y in coordinates
            )
        except (TypeError, KeyError, IndexError):
            valid = False
        if not valid:
            i, point = next(
                (i, p)
                for i, p in enumerate(points)
                if not isinstance(p, dict) or not all(_is_number(p.get(k)) for k in ("x", "y"))
            )
            raise CalibrationFormatError(
                where, f'{name!r}[{i}]: expected {{"x": number, "y": number}}, got {point!r}'
            )
        try:
            array = np.array(coordinates, np.float64).reshape(-1, 2)
        except OverflowError:
            array = np.full((1, 2), np.inf)
        if not np.isfinite(array).all():
            raise CalibrationFormatError(where, f"{name!r}: non-finite coordinates")
        lines[name] = array
    return lines


def read_annotation(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """One `<idx>.json` file: class -> normalised points [n, 2]."""
    return parse_annotation(_load_json(pathlib.Path(path).read_bytes(), str(path)), where=path)


def _annotation_members(tree: Archive) -> list[tuple[str, str]]:
    """(idx, member) of every annotation file at depth 0 or 1, in tree order."""
    found, seen = [], {}
    for name in tree.members():
        folder, base = _split_member(name)
        match = ANNOTATION_NAME.fullmatch(base)
        if folder == "/" or match is None:
            if base.endswith(".json") and base not in COMPANION_FILES:
                raise CalibrationFormatError(
                    tree.where(name),
                    "not an annotation file: expected <idx>.json (digits) at most one folder deep",
                )
            continue
        idx = match["idx"]
        if idx in seen:
            raise CalibrationFormatError(
                tree.where(name), f"image {idx} is also annotated in {seen[idx]}"
            )
        seen[idx] = name
        found.append((idx, name))
    return found


def read_annotations(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Every `<idx>.json` of a split folder, a parent of split folders, or a zip of them.

    Returns idx -> (class -> normalised points [n, 2]), in zip order (the order the official
    evaluator walks) or sorted by file path for a folder. Images (`.jpg`), `match_info.json` and
    other non-JSON files are skipped; any other `.json` file raises `CalibrationFormatError`.
    """
    with Archive(path, error=CalibrationFormatError) as tree:
        members = _annotation_members(tree)
        if not members:
            raise CalibrationFormatError(tree.path, "no <idx>.json annotation file in it")
        return {
            idx: parse_annotation(
                _load_json(tree.read(name), tree.where(name)), where=tree.where(name)
            )
            for idx, name in members
        }


def annotation_document(lines: Mapping[str, Any]) -> dict[str, list[dict[str, float]]]:
    """The JSON dict of one annotation from class -> points [n, 2] (normalised)."""
    document = {}
    for name, points in lines.items():
        if name not in CLASS_INDEX:
            raise ValueError(f"unknown line class {name!r}")
        document[name] = [
            {"x": float(x), "y": float(y)} for x, y in np.asarray(points, np.float64).reshape(-1, 2)
        ]
    return document


def write_annotations(
    path: str | os.PathLike,
    annotations: Mapping[str, Mapping[str, Any]],
    *,
    split: str | None = None,
) -> pathlib.Path:
    """Write `<idx>.json` files into a folder, or a zip when `path` ends with `.zip`.

    With `split`, files go under `<split>/` (the layout of the official ground-truth zip, which
    the official evaluator requires).
    """
    return _write_tree(
        path,
        (
            (annotation_file_name(idx), annotation_document(lines))
            for idx, lines in annotations.items()
        ),
        split,
    )


# ---------------------------------------------------------------------------------------- cameras


def camera_problems(document: Any) -> list[tuple[tuple, str]]:
    """Every problem of one camera document as (entry, message): entry the keys leading to the
    value, e.g. ("position_meters", 1), or () for the whole file.

    Structure (an object with every key, numbers, lists of the right length, finite values) and,
    when the structure is sound, plausibility: positive focal lengths, a principal point inside
    the 960x540 image (the evaluator scores such cameras, but they cannot be meant).
    """
    problems = _structure_problems(document)
    if problems:
        return problems
    for key in ("x_focal_length", "y_focal_length"):
        if document[key] <= 0:
            problems.append(((key,), f"a focal length must be positive, got {document[key]!r}"))
    cx, cy = document["principal_point"]
    if not (0 <= cx <= IMAGE_WIDTH and 0 <= cy <= IMAGE_HEIGHT):
        problems.append(
            (
                ("principal_point",),
                (
                    f"({cx}, {cy}) is outside the {IMAGE_WIDTH}x{IMAGE_HEIGHT} image; the evaluator "
                    f"does not rescale cameras: express them for {IMAGE_WIDTH}x{IMAGE_HEIGHT} images"
                ),
            )
        )
    return problems


def _structure_problems(document: Any) -> list[tuple[tuple, str]]:
    if not isinstance(document, dict):
        return [((), f"expected an object of camera parameters, got {type(document).__name__}")]
    problems = []
    for key, length in JSON_FIELDS.items():
        if key not in document:
            problems.append(((), f"missing key {key!r}"))
            continue
        value = document[key]
        if length is None:
            if not _is_number(value):
                problems.append(((key,), f"expected a number, got {value!r}"))
            elif not _is_finite(value):
                problems.append(((key,), f"not finite: {value!r}"))
            continue
        if not isinstance(value, list):
            problems.append(((key,), f"expected a list of {length} numbers, got {value!r}"))
            continue
        if len(value) != length:
            problems.append(((key,), f"expected {length} numbers, got {len(value)}"))
        for i, item in enumerate(value):
            if not _is_number(item):
                problems.append(((key, i), f"expected a number, got {item!r}"))
            elif not _is_finite(item):
                problems.append(((key, i), f"not finite: {item!r}"))
    return problems


def parse_camera(document: Any, *, where: Any = "<camera>") -> Camera:
    """A `Camera` from one camera document; raises `CalibrationFormatError` naming `where` on the
    first structural problem (missing key, wrong type or length, non-finite number). Implausible
    values (a focal length <= 0, ...) are read as they are: the evaluator scores them."""
    for entry, message in _structure_problems(document)[:1]:
        named = "".join(f"[{k}]" if isinstance(k, int) else k for k in entry)
        raise CalibrationFormatError(where, f"{named}: {message}" if entry else message)
    return Camera.from_json(document)


def read_camera(path: str | os.PathLike) -> Camera:
    """One `camera_<idx>.json` file."""
    return parse_camera(_load_json(pathlib.Path(path).read_bytes(), str(path)), where=path)


def _camera_members(tree: Archive) -> dict[str, str]:
    """idx -> member of every `camera_<idx>.json` at depth 0 or 1; an image's second one raises."""
    members: dict[str, str] = {}
    for name in tree.members():
        folder, base = _split_member(name)
        match = CAMERA_NAME.fullmatch(base)
        if folder == "/" or match is None:
            continue
        idx = match["idx"]
        if idx in members:
            raise CalibrationFormatError(
                tree.where(name), f"a second camera for image {idx} (first: {members[idx]})"
            )
        members[idx] = name
    return members


def read_cameras(
    path: str | os.PathLike, indices: Iterable[str] | None = None
) -> dict[str, Camera]:
    """Cameras of a submission folder or zip, flat or under one split folder: idx -> `Camera`.

    With `indices`, only those images' files are read (those absent are left out), as the official
    evaluator opens only the files of ground-truth images.
    """
    with Archive(path, error=CalibrationFormatError) as tree:
        members = _camera_members(tree)
        if indices is not None:
            members = {idx: members[idx] for idx in indices if idx in members}
        return {
            idx: parse_camera(_load_json(tree.read(name), tree.where(name)), where=tree.where(name))
            for idx, name in members.items()
        }


def write_camera(path: str | os.PathLike, camera: Camera | Mapping[str, Any]) -> pathlib.Path:
    """Write one `camera_<idx>.json` file."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_camera_document(camera), indent=1))
    return path


def _camera_document(camera: Camera | Mapping[str, Any]) -> dict[str, Any]:
    document = camera.to_json() if isinstance(camera, Camera) else dict(camera)
    parse_camera(document, where="<camera to write>")  # refuse what could not be read back
    return document


def write_cameras(
    path: str | os.PathLike,
    cameras: Mapping[str, Camera | Mapping[str, Any]],
    *,
    split: str | None = None,
) -> pathlib.Path:
    """Write a submission: `camera_<idx>.json` files in a zip (when `path` ends with `.zip`, the
    official upload) or a folder; flat, or under `<split>/` for the EvalAI layout."""
    for idx in cameras:
        if not re.fullmatch(r"[0-9]+", str(idx)):
            raise ValueError(f"image index {idx!r} is not made of digits")
    return _write_tree(
        path, ((camera_file_name(idx), _camera_document(c)) for idx, c in cameras.items()), split
    )


def _write_tree(path, documents: Iterable[tuple[str, Any]], split: str | None) -> pathlib.Path:
    path = pathlib.Path(path)
    prefix = f"{split}/" if split else ""
    if path.suffix == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, document in documents:
                archive.writestr(prefix + name, json.dumps(document))
    else:
        folder = path / split if split else path
        folder.mkdir(parents=True, exist_ok=True)
        for name, document in documents:
            (folder / name).write_text(json.dumps(document))
    return path


# ------------------------------------------------------------------------------------- validation


def validate_submission(
    path: str | os.PathLike, *, groundtruth: str | os.PathLike | None = None
) -> list[Problem]:
    """Every problem of a calibration submission (zip or folder); an empty list when valid.

    Checks names (`camera_<idx>.json`, flat or one folder deep, each image once), each file
    (UTF-8 JSON object, every key, numbers, list lengths, finite values, positive focal lengths,
    a principal point inside the 960x540 image) and, with `groundtruth` (annotation folder or
    zip), that every camera is for a ground-truth image, that a split folder is named as the
    ground truth's, and which ground-truth images have no camera (allowed, but each one lowers
    completeness).
    """
    from zoo.formats.validate import entry_location, parse_json_bytes  # shared JSON reporting

    path = pathlib.Path(path)
    try:
        tree = Archive(path, error=CalibrationFormatError)
    except (CalibrationFormatError, FileNotFoundError) as error:
        return [
            Problem(str(path), str(error.problem if isinstance(error, FileFormatError) else error))
        ]
    problems: list[Problem] = []
    cameras: dict[str, str] = {}
    folders: set[str] = set()
    with tree:
        for name in tree.members():
            where = tree.where(name)
            folder, base = _split_member(name)
            match = CAMERA_NAME.fullmatch(base)
            if match is None:
                problems.append(
                    Problem(
                        where,
                        "not a camera file: expected camera_<idx>.json, <idx> the image's digits",
                    )
                )
                continue
            if folder == "/":
                problems.append(
                    Problem(where, "too deep: camera files go at the root or in one split folder")
                )
                continue
            idx = match["idx"]
            if idx in cameras:
                problems.append(
                    Problem(where, f"a second camera for image {idx} (first: {cameras[idx]})")
                )
                continue
            cameras[idx] = name
            if folder is not None:
                folders.add(folder)
            try:
                data = tree.read(name)
            except (zipfile.BadZipFile, OSError) as error:  # a damaged member
                problems.append(Problem(where, f"cannot be read ({error})"))
                continue
            document, read_problems = parse_json_bytes(data, where)
            problems.extend(read_problems)
            if document is None:
                continue
            for entry, message in camera_problems(document):
                problems.append(Problem(entry_location(where, *entry), message))
        if not cameras and not problems:
            problems.append(Problem(str(path), "no camera_<idx>.json file in it"))
    if groundtruth is None:
        return problems

    with Archive(groundtruth, error=CalibrationFormatError) as truth:
        members = _annotation_members(truth)
        if not members:
            raise CalibrationFormatError(truth.path, "no <idx>.json annotation file in it")
    truth_indices = {idx for idx, _ in members}
    truth_splits = {_split_member(name)[0] for _, name in members} - {None}
    for idx, name in cameras.items():
        if idx not in truth_indices:
            problems.append(
                Problem(tree.where(name), f"image {idx} is not in the ground truth {groundtruth}")
            )
    for folder in sorted(folders - truth_splits) if truth_splits else []:
        problems.append(
            Problem(
                f"{path}:{folder}/" if tree.is_zip else str(path / folder),
                f"split folder {folder!r} is not the ground truth's "
                f"({', '.join(sorted(truth_splits))}); "
                "EvalAI looks for <split>/camera_<idx>.json",
            )
        )
    missing = [idx for idx, _ in members if idx not in cameras]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        problems.append(
            Problem(
                str(path),
                f"{len(missing)} of {len(members)} ground-truth images have no camera ({shown}); "
                "each counts as missed and lowers completeness",
            )
        )
    return problems
