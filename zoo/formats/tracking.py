# Over 600 lines: kept whole while the tracking task is written against its public names.
"""SoccerNet-Tracking files: MOT text files, `seqinfo.ini`, `gameinfo.ini`, seqmaps, submissions.

A sequence folder `SNMOT-XXX/` holds `gt/gt.txt`, `det/det.txt`, `seqinfo.ini` and
`gameinfo.ini`. MOT files have one box per line, 10 comma-separated columns:

    frame, track_id, x_topleft, y_topleft, width, height, confidence, class, -1, -1

frames are 1-based (1 .. seqLength of `seqinfo.ini`), boxes in pixels. The challenge accepts
`soccernet_mot_results.zip` holding one `SNMOT-XXX.txt` per sequence at the zip root.

Reading follows what the official evaluator (TrackEval `MotChallenge2DBox`, SoccerNet settings)
accepts, column by column:

  * columns 1-6 are frame, id and box; column 7 is the score of a tracker box, and for ground
    truth the "consider" flag: TrackEval casts it to int, so a GT row whose column 7 is below 1 in
    magnitude is not evaluated (see `gt_evaluated`). Column 8 is the class: TrackEval refuses a
    tracker file with a class above 1 and ignores the GT classes (no preprocessing). Columns 9-10
    are unused.
  * a tracker file needs at least 7 columns, a GT file 8 (TrackEval fails otherwise); a file
    with no byte at all holds no box.
  * a frame outside 1..seqLength, or the same track id twice in one frame, is refused by TrackEval
    too (for GT, zero-marked rows included).

Where TrackEval would silently truncate or misread, these readers refuse, naming the file and
line: non-integer frames or ids (TrackEval truncates 1.5 to 1), negative ids (they corrupt its
id relabelling), a tracker class between 1 and 2 (truncated to 1), NaN or infinite values, blank
lines, a column count that changes within a file, and separators other than commas (TrackEval
sniffs the separator from the first line).
`validate_submission` reports every problem of a submission instead of the first one.
"""

from __future__ import annotations

import configparser
import dataclasses
import io
import os
import pathlib
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from zoo.formats.archive import Archive, is_hidden
from zoo.formats.errors import FileFormatError
from zoo.formats.validation import Problem

MOT_COLUMNS = 10  # columns of the official files
MIN_TRACKER_COLUMNS = 7  # TrackEval reads column 7 of every tracker row
MIN_GT_COLUMNS = 8  # and column 8 (the class) of every GT row
GT_FILE = "gt/gt.txt"
SEQINFO_FILE = "seqinfo.ini"
GAMEINFO_FILE = "gameinfo.ini"
SUBMISSION_FILE = "soccernet_mot_results.zip"
SEQUENCE_NAME = re.compile(r"SNMOT-\d+")
_TRACKLET_KEY = re.compile(r"trackletID_(\d+)", re.IGNORECASE)


class TrackingFormatError(FileFormatError):
    """A tracking file that does not follow the official format; names the file and, for MOT
    text files, the 1-based line (`line`, None for a whole-file problem)."""

    def __init__(self, path: Any, problem: str, line: int | None = None):
        super().__init__(path, problem)
        self.line = line
        if line is not None:
            self.args = (f"{path}:line {line}: {problem}",)

    def __reduce__(self):
        return type(self), (self.path, self.problem, self.line)


class MotRows(NamedTuple):
    """The boxes of one MOT file, in file order (one entry per line)."""

    frame: np.ndarray  # [N] int64, 1-based frame number
    track_id: np.ndarray  # [N] int64, >= 0
    boxes: np.ndarray  # [N, 4] float64: x, y of the top-left corner, width, height (pixels)
    confidence: np.ndarray  # [N] float64, column 7: tracker score / GT "consider" flag
    class_id: np.ndarray  # [N] float64, column 8 (-1 in SoccerNet files; -1 when absent)

    @property
    def gt_evaluated(self) -> np.ndarray:
        """[N] bool: the GT rows TrackEval evaluates (column 7 truncated to int is not 0)."""
        return gt_evaluated(self.confidence)


def gt_evaluated(confidence: np.ndarray) -> np.ndarray:
    """[N] bool: GT rows kept by TrackEval without preprocessing: int(column 7) != 0."""
    return np.trunc(np.asarray(confidence, np.float64)) != 0


def empty_rows() -> MotRows:
    """A file without boxes."""
    return MotRows(
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros((0, 4)),
        np.zeros(0),
        np.zeros(0),
    )


@dataclasses.dataclass(frozen=True)
class SeqInfo:
    """The `[Sequence]` section of a `seqinfo.ini`; only `seq_length` is required (TrackEval
    reads nothing else)."""

    seq_length: int
    name: str | None = None
    frame_rate: float | None = None
    im_width: int | None = None
    im_height: int | None = None
    im_dir: str | None = None
    im_ext: str | None = None


@dataclasses.dataclass(frozen=True)
class Tracklet:
    """One `trackletID_<k>= <role>;<detail>` entry of a `gameinfo.ini`, e.g. `player team
    left;4`, `referee;main`, `ball;1`; `detail` is None when the value has no ';'."""

    role: str
    detail: str | None


@dataclasses.dataclass(frozen=True)
class GameInfo:
    """A `gameinfo.ini`: the tracklet roles (by track id) and every raw key of `[Sequence]`."""

    tracklets: dict[int, Tracklet]
    num_tracklets: int | None
    name: str | None
    fields: dict[str, str]  # every key as written, values stripped


# --------------------------------------------------------------------------- MOT text files


def _decode(data: bytes, path: Any) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TrackingFormatError(path, f"not UTF-8 text ({error})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it opens none
    return lines


def _line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _parse_fast(text: str) -> np.ndarray | None:
    """[N, C] float64 when every line is C comma-separated numbers, else None."""
    count = _line_count(text)
    if not count:
        return np.zeros((0, MOT_COLUMNS))
    try:
        with warnings.catch_warnings():  # "input contained no data": blank lines only
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(
                io.StringIO(text), delimiter=",", comments=None, ndmin=2, dtype=np.float64
            )
    except ValueError:
        return None
    # loadtxt skips blank lines: then its rows are no longer the file's lines.
    return table if table.shape[0] == count else None


def _parse_slow(
    lines: list[str], where: str
) -> tuple[list[tuple[int, list[float]]], list[Problem]]:
    """Line by line: (1-based line, values) of every line made of numbers, and the problems."""
    rows, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            problems.append(
                Problem(f"{where}:line {number}", "blank line (TrackEval cannot read it)")
            )
            continue
        fields = line.split(",")
        if len(fields) > 1 and not fields[-1].strip():
            fields.pop()  # one trailing comma is tolerated, as by TrackEval
        values = []
        for column, field in enumerate(fields, start=1):
            try:
                values.append(float(field))
            except ValueError:
                hint = ""
                if len(fields) == 1 and (" " in line.strip() or "\t" in line):
                    hint = " (columns must be separated by commas)"
                problems.append(
                    Problem(
                        f"{where}:line {number}",
                        f"column {column} {field.strip()!r} is not a number{hint}",
                    )
                )
                break
        else:
            rows.append((number, values))
    return rows, problems


def _check_rows(
    table: np.ndarray,
    line: np.ndarray,
    where: str,
    *,
    groundtruth: bool,
    seq_length: int | None,
    check_sizes: bool,
    detections: bool = False,
) -> list[Problem]:
    """Problems of parsed rows: table [M, 8] float64 (columns 1-8), line [M] their 1-based lines."""
    problems: list[Problem] = []

    def report(mask: np.ndarray, message) -> None:
        for i in np.flatnonzero(mask):
            problems.append(Problem(f"{where}:line {int(line[i])}", message(i)))

    finite = np.isfinite(table).all(axis=1)
    report(~finite, lambda i: f"non-finite value in columns 1-8: {table[i].tolist()}")
    table, line = table[finite], line[finite]

    frame, track = table[:, 0], table[:, 1]
    bad_frame = frame != np.floor(frame)
    report(bad_frame, lambda i: f"frame {float(frame[i])!r} is not an integer")
    low = ~bad_frame & (frame < 1)
    report(low, lambda i: f"frame {int(frame[i])}: frames are numbered from 1")
    high = np.zeros_like(low)
    if seq_length is not None:
        high = ~bad_frame & (frame > seq_length)
        report(high, lambda i: f"frame {int(frame[i])} is beyond seqLength {seq_length}")
    bad_id = track != np.floor(track)
    report(bad_id, lambda i: f"track id {float(track[i])!r} is not an integer")
    negative = ~bad_id & (track < (-1 if detections else 0))
    report(negative, lambda i: f"track id {int(track[i])} is negative")
    if not groundtruth:
        report(
            table[:, 7] > 1,
            lambda i: f"class column (8) is {table[i, 7]:g}; it must be <= 1 (use -1 or 1)",
        )
    if check_sizes:
        report(
            (table[:, 4] <= 0) | (table[:, 5] <= 0),
            lambda i: f"box width {table[i, 4]:g} / height {table[i, 5]:g} must be > 0",
        )

    if detections:  # detections have no identity (id -1): no duplicates to look for
        return problems
    ok = ~(bad_frame | low | high | bad_id | negative)
    frames, tracks, lines_ok = frame[ok].astype(np.int64), track[ok].astype(np.int64), line[ok]
    if len(tracks) and tracks.max() < 2**40 and frames.max() < 2**22:
        order = np.argsort(frames * 2**40 + tracks, kind="stable")  # stable: lines ascend
    else:
        order = np.lexsort((lines_ok, tracks, frames))
    frames, tracks, lines_ok = frames[order], tracks[order], lines_ok[order]
    repeat = (frames[1:] == frames[:-1]) & (tracks[1:] == tracks[:-1])
    if repeat.any():
        starts = np.flatnonzero(np.concatenate([[True], ~repeat]))  # first line of each pair
        for k in np.flatnonzero(repeat) + 1:
            first = starts[np.searchsorted(starts, k, side="right") - 1]
            problems.append(
                Problem(
                    f"{where}:line {int(lines_ok[k])}",
                    f"track id {int(tracks[k])} appears twice in frame {int(frames[k])} "
                    f"(also line {int(lines_ok[first])})",
                )
            )
    return problems


def _first_eight(values: list[float]) -> list[float]:
    # A 7-column tracker row has no class: TrackEval takes it as 1; -1 here (both pass).
    return (values + [-1.0] * MIN_GT_COLUMNS)[:MIN_GT_COLUMNS]


def scan_mot(
    text: str,
    *,
    where: str,
    groundtruth: bool = False,
    seq_length: int | None = None,
    submission: bool = False,
    detections: bool = False,
) -> tuple[MotRows | None, list[Problem]]:
    """Parse MOT text and list its problems, sorted by line.

    where: the file's name in problem locations (`file` or `zip:member`).
    groundtruth: GT rules (8+ columns, the class column unchecked) instead of tracker rules.
    seq_length: frames must be <= this when given.
    submission: the SoccerNet submission rules instead of the reader's: exactly 10 columns on
      every line (not just one count per file), width and height > 0.
    detections: `det/det.txt` rules: ids may be -1 and repeat within a frame.
    Returns (rows, problems); rows is None when there is any problem.
    """
    table = _parse_fast(text)
    problems: list[Problem] = []
    if table is not None:  # every line parsed, all with the same column count
        line = np.arange(1, len(table) + 1)
        counts = np.full(len(table), table.shape[1])
        if table.shape[1] >= MIN_GT_COLUMNS:
            first_eight = table[:, :MIN_GT_COLUMNS]
        else:
            first_eight = np.array([_first_eight(row) for row in table.tolist()]).reshape(-1, 8)
    else:
        parsed, problems = _parse_slow(_lines(text), where)
        line = np.array([number for number, _ in parsed], np.int64)
        counts = np.array([len(values) for _, values in parsed], np.int64)
        first_eight = np.array([_first_eight(values) for _, values in parsed]).reshape(-1, 8)

    needed = MIN_GT_COLUMNS if groundtruth else MIN_TRACKER_COLUMNS
    if submission:
        for i in np.flatnonzero(counts != MOT_COLUMNS):
            problems.append(
                Problem(
                    f"{where}:line {int(line[i])}",
                    f"{int(counts[i])} columns; the SoccerNet format has {MOT_COLUMNS} "
                    "(frame,id,x,y,w,h,score,-1,-1,-1)",
                )
            )
        usable = counts >= needed
    else:
        width = int(counts[0]) if len(counts) else MOT_COLUMNS
        for i in np.flatnonzero(counts != width):
            problems.append(
                Problem(
                    f"{where}:line {int(line[i])}",
                    f"{int(counts[i])} columns, but line {int(line[0])} has {width}",
                )
            )
        usable = counts == width
        if width < needed:
            kind = "ground-truth" if groundtruth else "tracker"
            problems.append(
                Problem(
                    f"{where}:line {int(line[0])}",
                    f"{width} columns; a {kind} file needs at least {needed} "
                    "(frame,id,x,y,w,h,conf,class,...)",
                )
            )
            usable = np.zeros_like(usable)
    problems.extend(
        _check_rows(
            first_eight[usable],
            line[usable],
            where,
            groundtruth=groundtruth,
            seq_length=seq_length,
            check_sizes=submission,
            detections=detections,
        )
    )
    if problems:
        return None, _sorted(problems)
    if not len(line):
        return empty_rows(), []
    return (
        MotRows(
            frame=first_eight[:, 0].astype(np.int64),
            track_id=first_eight[:, 1].astype(np.int64),
            boxes=np.ascontiguousarray(first_eight[:, 2:6]),
            confidence=first_eight[:, 6].copy(),
            class_id=first_eight[:, 7].copy(),
        ),
        [],
    )


def _line_of(problem: Problem) -> int:
    _, _, tail = problem.location.rpartition(":line ")
    return int(tail) if tail.isdigit() else 0


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=_line_of)


def _raise_first(path: Any, problems: list[Problem]) -> None:
    problem = problems[0]
    line = _line_of(problem) or None
    raise TrackingFormatError(path, problem.message, line)


def parse_mot(
    text: str,
    *,
    path: Any = "<mot>",
    groundtruth: bool = False,
    seq_length: int | None = None,
    detections: bool = False,
) -> MotRows:
    """`read_mot` on text already in memory."""
    rows, problems = scan_mot(
        text,
        where=str(path),
        groundtruth=groundtruth,
        seq_length=seq_length,
        detections=detections,
    )
    if problems:
        _raise_first(path, problems)
    return rows


def read_mot(
    path: str | os.PathLike,
    *,
    groundtruth: bool = False,
    seq_length: int | None = None,
    detections: bool = False,
) -> MotRows:
    """Read a MOT file (`gt.txt`, `det.txt` or a tracker's `SNMOT-XXX.txt`).

    groundtruth: check GT rules (8+ columns) instead of tracker rules (7+ columns, class <= 1).
    seq_length: refuse frames beyond it (the sequence's `seqinfo.ini` seqLength).
    detections: read a `det.txt`: ids may be -1 and repeat within a frame.
    Returns every row in file order (GT rows with column 7 = 0 included: see `gt_evaluated`).
    Raises `TrackingFormatError` naming the file and line of the first problem (see the module
    docstring for the rules).
    """
    with open(path, "rb") as f:
        text = _decode(f.read(), path)
    return parse_mot(
        text, path=path, groundtruth=groundtruth, seq_length=seq_length, detections=detections
    )


def _check_arrays(path: Any, frame, track_id, boxes, confidence):
    frame, track_id = np.asarray(frame), np.asarray(track_id)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
    n = len(boxes)
    if frame.shape != (n,) or track_id.shape != (n,):
        raise ValueError(
            f"{path}: frame {frame.shape}, track_id {track_id.shape} and boxes {boxes.shape} "
            "must be [N], [N] and [N, 4]"
        )
    confidence = np.ones(n) if confidence is None else np.asarray(confidence, np.float64)
    if confidence.shape != (n,):
        raise ValueError(f"{path}: confidence {confidence.shape} must be [{n}]")
    for name, values in (("frame", frame), ("track_id", track_id)):
        integral = values.dtype.kind == "f" and np.all(values == np.round(values))
        if n and values.dtype.kind not in "iu" and not integral:
            raise ValueError(f"{path}: {name} must hold integers")
    frame, track_id = frame.astype(np.int64), track_id.astype(np.int64)
    if n and frame.min() < 1:
        raise ValueError(f"{path}: frames are numbered from 1, got {frame.min()}")
    if n and track_id.min() < 0:
        raise ValueError(f"{path}: track ids must be >= 0, got {track_id.min()}")
    if not (np.isfinite(boxes).all() and np.isfinite(confidence).all()):
        raise ValueError(f"{path}: boxes and confidences must be finite")
    if n and (boxes[:, 2:] <= 0).any():
        i = int(np.flatnonzero((boxes[:, 2:] <= 0).any(axis=1))[0])
        raise ValueError(f"{path}: box {i} {boxes[i].tolist()} has a width or height <= 0")
    keys = frame * (int(track_id.max(initial=0)) + 1) + track_id
    unique, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        i = int(np.flatnonzero(keys == unique[counts > 1][0])[0])
        raise ValueError(f"{path}: track id {track_id[i]} appears twice in frame {frame[i]}")
    return frame, track_id, boxes, confidence


def format_mot(frame, track_id, boxes, confidence=None, *, path: Any = "<mot>") -> str:
    """The text `write_mot` writes."""
    frame, track_id, boxes, confidence = _check_arrays(path, frame, track_id, boxes, confidence)
    order = np.argsort(frame, kind="stable")  # by frame; same-frame rows keep their order
    lines = [
        f"{f},{i},{x!r},{y!r},{w!r},{h!r},{c!r},-1,-1,-1\n"
        for f, i, (x, y, w, h), c in zip(
            frame[order].tolist(),
            track_id[order].tolist(),
            boxes[order].tolist(),
            confidence[order].tolist(),
        )
    ]
    return "".join(lines)


def write_mot(
    path: str | os.PathLike,
    frame: Sequence[int] | np.ndarray,
    track_id: Sequence[int] | np.ndarray,
    boxes: Sequence | np.ndarray,
    confidence: Sequence[float] | np.ndarray | None = None,
) -> pathlib.Path:
    """Write one sequence's boxes as a 10-column MOT file (`frame,id,x,y,w,h,conf,-1,-1,-1`).

    frame [N] (1-based), track_id [N] (>= 0), boxes [N, 4] (x, y, w, h; w, h > 0), confidence [N]
    (default 1). Rows are written by frame, rows of one frame in the given order (the order the
    evaluator's per-frame matching sees); floats are written exactly (shortest round-trip form).
    Raises ValueError for anything the evaluator or the submission checks would refuse.
    """
    path = pathlib.Path(path)
    text = format_mot(frame, track_id, boxes, confidence, path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- ini files


def _ini(text: str, path: Any) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep the keys' case (trackletID_1)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        raise TrackingFormatError(
            path, f"not a valid ini file ({error})".replace("\n", " ")
        ) from None
    if "Sequence" not in parser:
        raise TrackingFormatError(path, "no [Sequence] section")
    return parser["Sequence"]


def _int_field(value: str, key: str, path: Any) -> int:
    try:
        return int(value)
    except ValueError:
        raise TrackingFormatError(path, f"{key} {value!r} is not an integer") from None


def parse_seqinfo(text: str, *, path: Any = "<seqinfo.ini>") -> SeqInfo:
    """`read_seqinfo` on text already in memory."""
    section = _ini(text, path)
    keys = {}
    for key, value in section.items():
        if key.lower() in keys:
            raise TrackingFormatError(path, f"key {key!r} is given twice (keys ignore case)")
        keys[key.lower()] = value.strip()
    if "seqlength" not in keys:
        raise TrackingFormatError(path, "no seqLength in [Sequence]; the evaluator needs it")
    seq_length = _int_field(keys["seqlength"], "seqLength", path)
    if seq_length < 1:
        raise TrackingFormatError(path, f"seqLength {seq_length} must be >= 1")
    frame_rate = None
    if "framerate" in keys:
        try:
            frame_rate = float(keys["framerate"])
        except ValueError:
            raise TrackingFormatError(
                path, f"frameRate {keys['framerate']!r} is not a number"
            ) from None
        frame_rate = int(frame_rate) if frame_rate.is_integer() else frame_rate
    sizes = {
        field: _int_field(keys[name.lower()], name, path) if name.lower() in keys else None
        for field, name in (("im_width", "imWidth"), ("im_height", "imHeight"))
    }
    return SeqInfo(
        seq_length=seq_length,
        name=keys.get("name"),
        frame_rate=frame_rate,
        im_dir=keys.get("imdir"),
        im_ext=keys.get("imext"),
        **sizes,
    )


def read_seqinfo(path: str | os.PathLike) -> SeqInfo:
    """Read a `seqinfo.ini`. Raises `TrackingFormatError` without a [Sequence] section or a
    positive integer seqLength, or with a non-numeric frameRate / imWidth / imHeight."""
    with open(path, "rb") as f:
        return parse_seqinfo(_decode(f.read(), path), path=path)


def format_seqinfo(info: SeqInfo) -> str:
    fields = [
        ("name", info.name),
        ("imDir", info.im_dir),
        ("frameRate", info.frame_rate),
        ("seqLength", info.seq_length),
        ("imWidth", info.im_width),
        ("imHeight", info.im_height),
        ("imExt", info.im_ext),
    ]
    return "[Sequence]\n" + "".join(f"{k}={v}\n" for k, v in fields if v is not None)


def write_seqinfo(path: str | os.PathLike, info: SeqInfo) -> pathlib.Path:
    """Write a `seqinfo.ini` (fields that are None are left out)."""
    if info.seq_length < 1:
        raise ValueError(f"{path}: seqLength must be >= 1, got {info.seq_length}")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_seqinfo(info))
    return path


def parse_gameinfo(text: str, *, path: Any = "<gameinfo.ini>") -> GameInfo:
    """`read_gameinfo` on text already in memory."""
    section = _ini(text, path)
    fields = {key: value.strip() for key, value in section.items()}
    tracklets: dict[int, Tracklet] = {}
    num_tracklets = None
    for key, value in fields.items():
        if key.lower() == "num_tracklets":
            num_tracklets = _int_field(value, key, path)
            continue
        match = _TRACKLET_KEY.fullmatch(key)
        if match is None:
            continue
        track = int(match[1])
        if track in tracklets:
            raise TrackingFormatError(path, f"tracklet {track} is described twice")
        role, sep, detail = value.partition(";")
        if not role.strip():
            raise TrackingFormatError(path, f"{key} has no role (expected '<role>;<detail>')")
        tracklets[track] = Tracklet(role.strip(), detail.strip() if sep else None)
    return GameInfo(
        tracklets=dict(sorted(tracklets.items())),
        num_tracklets=num_tracklets,
        name=fields.get("name"),
        fields=fields,
    )


def read_gameinfo(path: str | os.PathLike) -> GameInfo:
    """Read a `gameinfo.ini`: `trackletID_<k>= <role>;<detail>` entries by track id, plus
    `num_tracklets` and the raw fields. Raises `TrackingFormatError` without a [Sequence] section,
    for a non-integer num_tracklets, a tracklet described twice or one without a role. Whether
    num_tracklets equals the number of entries is not checked (the evaluator never reads it)."""
    with open(path, "rb") as f:
        return parse_gameinfo(_decode(f.read(), path), path=path)


def write_gameinfo(
    path: str | os.PathLike,
    tracklets: Mapping[int, Tracklet],
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write a `gameinfo.ini` with `num_tracklets` and one `trackletID_<k>= role;detail` line per
    tracklet, in track id order; `extra` adds other `[Sequence]` keys (e.g. actionClass)."""
    lines = ["[Sequence]"]
    if name is not None:
        lines.append(f"name={name}")
    lines += [f"{key}={value}" for key, value in (extra or {}).items()]
    lines.append(f"num_tracklets={len(tracklets)}")
    for track, tracklet in sorted(tracklets.items()):
        detail = "" if tracklet.detail is None else f";{tracklet.detail}"
        lines.append(f"trackletID_{int(track)}= {tracklet.role}{detail}")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# Roles of `gameinfo.ini` as detector classes: the role's first word picks the class
# ("player team left" -> player, "referee" -> referee, "ball" -> ball); anything else is "other".
ROLES = ("player", "goalkeeper", "referee", "ball", "other")


def role_class(role: str) -> int:
    """The class (index into ROLES) of a `gameinfo.ini` role such as `player team left`."""
    for index, name in enumerate(ROLES):
        if role.strip().lower().startswith(name):
            return index
    return ROLES.index("other")


# --------------------------------------------------------------------------- seqmaps and trees


def parse_seqmap(text: str, *, path: Any = "<seqmap>") -> tuple[str, ...]:
    """`read_seqmap` on text already in memory."""
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines or lines[0].split(",")[0].strip() != "name":
        # TrackEval skips the first line whatever it holds: without the header the first
        # sequence would silently go unevaluated.
        raise TrackingFormatError(path, "a seqmap starts with the header line 'name'")
    names = [line.split(",")[0].strip() for line in lines[1:]]
    names = [name for name in names if name]
    seen = set()
    for name in names:
        if name in seen:
            raise TrackingFormatError(path, f"sequence {name} is listed twice")
        if "/" in name or "\\" in name:
            raise TrackingFormatError(path, f"{name!r} is not a sequence name")
        seen.add(name)
    return tuple(names)


def read_seqmap(path: str | os.PathLike) -> tuple[str, ...]:
    """Read a seqmap (`SNMOT-test.txt`): the header line `name`, then one sequence per line.
    Raises `TrackingFormatError` without the header or with a sequence listed twice."""
    with open(path, "rb") as f:
        return parse_seqmap(_decode(f.read(), path), path=path)


def write_seqmap(path: str | os.PathLike, sequences: Iterable[str]) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("name\n" + "".join(f"{name}\n" for name in sequences))
    return path


def list_sequences(gt_dir: str | os.PathLike) -> tuple[str, ...]:
    """The sequences of a GT folder: its sub-folders holding a `seqinfo.ini`, sorted."""
    gt_dir = pathlib.Path(gt_dir)
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"{gt_dir}: no such ground-truth folder")
    found = gt_dir.glob(f"*/{SEQINFO_FILE}")
    return tuple(sorted(p.parent.name for p in found if not is_hidden(p.parent.name)))


def read_groundtruth(seq_dir: str | os.PathLike) -> tuple[SeqInfo, MotRows]:
    """A sequence folder's `seqinfo.ini` and `gt/gt.txt` (frames checked against seqLength)."""
    seq_dir = pathlib.Path(seq_dir)
    for needed in (SEQINFO_FILE, GT_FILE):
        if not (seq_dir / needed).is_file():
            raise FileNotFoundError(f"{seq_dir / needed}: missing (the evaluator needs it)")
    info = read_seqinfo(seq_dir / SEQINFO_FILE)
    rows = read_mot(seq_dir / GT_FILE, groundtruth=True, seq_length=info.seq_length)
    return info, rows


def read_results(path: str | os.PathLike, seq_lengths: Mapping[str, int]) -> dict[str, MotRows]:
    """A tracker's boxes per sequence from a folder of `<seq>.txt` or a submission zip (files at
    its root), for the sequences of `seq_lengths` (name -> seqLength); other files are ignored,
    as by the evaluator. Raises FileNotFoundError naming the missing sequences and
    `TrackingFormatError` for a bad file."""
    with Archive(path, error=TrackingFormatError) as files:
        missing = [seq for seq in seq_lengths if not files.has(f"{seq}.txt")]
        if missing:
            nested = [n for n in files.members() if n.endswith(f"/{missing[0]}.txt")]
            hint = f" (found {nested[0]}: files must be at the root)" if nested else ""
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise FileNotFoundError(f"{path}: no tracker file for {shown}{hint}")
        results = {}
        for seq, length in seq_lengths.items():
            name = f"{seq}.txt"
            where = files.where(name)
            results[seq] = parse_mot(
                _decode(files.read(name), where), path=where, seq_length=length
            )
        return results


def write_submission(
    path: str | os.PathLike, sequences: Mapping[str, MotRows | tuple]
) -> pathlib.Path:
    """Write `soccernet_mot_results.zip`: one `<seq>.txt` per sequence at the zip root.

    sequences: name -> `MotRows` (or a (frame, track_id, boxes[, confidence]) tuple) of the
    tracker's boxes. A folder `path` gets `soccernet_mot_results.zip` inside. Raises ValueError
    for a bad sequence name or rows `write_mot` refuses. Returns the zip's path.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / SUBMISSION_FILE
    texts = {}
    for name, rows in sequences.items():
        if not name or "/" in name or "\\" in name or name.endswith(".txt"):
            raise ValueError(f"{name!r} is not a sequence name (give SNMOT-XXX)")
        if isinstance(rows, MotRows):
            rows = (rows.frame, rows.track_id, rows.boxes, rows.confidence)
        texts[name] = format_mot(*rows, path=f"{path}:{name}.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in texts.items():
            archive.writestr(f"{name}.txt", text)
    return path


# --------------------------------------------------------------------------- validation


def _groundtruth_lengths(groundtruth: str | os.PathLike) -> dict[str, int | None]:
    """Sequence -> seqLength (None when unknown) from a GT folder, GT zip or seqmap file."""
    path = pathlib.Path(groundtruth)
    if path.is_file() and not zipfile.is_zipfile(path):
        return {name: None for name in read_seqmap(path)}
    with Archive(path, error=TrackingFormatError) as files:
        lengths = {}
        for name in files.members():
            parts = name.split("/")
            if parts[-1] == SEQINFO_FILE and len(parts) >= 2:
                where = files.where(name)
                info = parse_seqinfo(_decode(files.read(name), where), path=where)
                lengths[parts[-2]] = info.seq_length
        if not lengths:
            raise FileNotFoundError(f"{path}: no <sequence>/{SEQINFO_FILE} in the ground truth")
        return dict(sorted(lengths.items()))


def validate_submission(
    path: str | os.PathLike, *, groundtruth: str | os.PathLike | None = None
) -> list[Problem]:
    """Every problem of a tracking submission (`soccernet_mot_results.zip`, or a folder of the
    same files), each with its location (`zip:SNMOT-116.txt:line 40`). Empty when valid.

    Checked: the zip opens; files are `<seq>.txt` at the root; each line has exactly 10 numeric,
    finite, comma-separated columns; frames are integers from 1 (to seqLength when the ground
    truth is given); track ids are integers >= 0 and unique within a frame; the class column
    (8) is <= 1; width and height are > 0; no blank lines. An empty file is valid (no box).
    groundtruth: a GT folder or zip (`<seq>/seqinfo.ini`) or a seqmap file; then every sequence
    must have its file and no other `.txt` may be present.
    """
    path = pathlib.Path(path)
    problems: list[Problem] = []
    lengths: dict[str, int | None] | None = None
    if groundtruth is not None:
        lengths = _groundtruth_lengths(groundtruth)
    try:
        files = Archive(path, error=TrackingFormatError)
    except (FileNotFoundError, TrackingFormatError) as error:
        return [Problem(str(path), str(error).removeprefix(f"{path}: "))]
    with files:
        try:
            names = files.members()
        except (OSError, zipfile.BadZipFile) as error:
            return [Problem(str(path), f"cannot be read ({error})")]
        present = set()
        for name in names:
            where = files.where(name)
            if "/" in name:
                problems.append(
                    Problem(
                        where, "not at the root; the evaluator reads <seq>.txt files at the root"
                    )
                )
                continue
            if not name.endswith(".txt"):
                problems.append(Problem(where, "not a <sequence>.txt file"))
                continue
            seq = name[: -len(".txt")]
            if lengths is not None and seq not in lengths:
                problems.append(Problem(where, f"{seq} is not a sequence of the ground truth"))
                continue
            if lengths is None and not SEQUENCE_NAME.fullmatch(seq):
                problems.append(
                    Problem(where, f"{seq!r} is not a SoccerNet sequence name (SNMOT-XXX)")
                )
            present.add(seq)
            try:
                text = _decode(files.read(name), where)
            except TrackingFormatError as error:
                problems.append(Problem(where, error.problem))
                continue
            _, found = scan_mot(
                text,
                where=where,
                seq_length=None if lengths is None else lengths.get(seq),
                submission=True,
            )
            problems.extend(found)
        if lengths is not None:
            for seq in lengths:
                if seq not in present:
                    problems.append(
                        Problem(files.where(f"{seq}.txt"), "missing: every sequence needs a file")
                    )
    return problems
