"""The official file formats of SoccerNet-v3 player re-identification (ReID).

On disk (under the dataset root, `soccernetv3/reid/` after unzipping the official downloads):

  train:            train/<league>/<season>/<game>/<action>/<name>.png
  valid, test:      {split}/{query,gallery}/<league>/<season>/<game>/<action>/<name>.png
  challenge:        challenge/{query,gallery}/<name>.png

A labelled thumbnail's name carries its annotations in 8 '-'-separated fields:

  <bbox_idx>-<action_idx>-<person_uid>-<frame_idx>-<class>-<ID>-<UAI>-<H>x<W>.png
  e.g. 54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png

`class` is the person class with '_' for spaces ("Player_team_left"), `ID` the jersey number, a
letter when the number is never seen in the action, or "None"; `UAI` the SoccerNet-v3 annotation
id. A challenge thumbnail's name only has `<bbox_idx>-<action_idx>-<H>x<W>.png`. `bbox_idx` is the
sample's index in its train, query or gallery list; a person's `person_uid` only holds inside one
action, and evaluation only ever compares samples of the same action.

The ground truth of a query/gallery split is `<split>_bbox_info.json`,
`{"query": {"<bbox_idx>": entry}, "gallery": {...}}`, and a submission is
`ranking_results.json`, `{"<query bbox_idx>": [gallery bbox_idx, ...]}`: per query, every
gallery sample of the query's action, best match first. The official evaluator reads only
`bbox_idx`, `action_idx` and `person_uid` of an entry, and only those are required when reading.
The official code that writes the file is not public; `ENTRY_FIELDS` are the fields third-party
users report in the real files: the file-name annotations under the keys of the official torchreid
fork's name parser (`frame_idx`, `clazz`, `id`, `UAI`), `height`, `width`, and `relative_path`,
written here as the action folder relative to the subset folder ("<league>/<season>/<game>/
<action>"). Their exact spelling in the real files (e.g. `id` as a string) is unverified.

Departures from the official torchreid fork's name parser, all on names it mishandles: a UAI that
itself contains '-' is kept whole (the fork rejects the name), only the final ".png" is removed
(the fork cuts at the first '.'), and a malformed number or size raises `ReidFormatError` naming
the file instead of a bare `ValueError`.

Beside this module: `zoo.formats.reid_fast` (the evaluator's msgspec readers of the same files)
and `zoo.formats.reid_submission` (`validate_submission`, every problem of a ranking file).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zoo.formats.archive import is_hidden
from zoo.formats.errors import FileFormatError

SPLITS = ("train", "valid", "test", "challenge")
SUBSETS = ("train", "query", "gallery")
# The ten person classes of the dataset documentation, as written in file names.
ROLES = (
    "Player_team_left",
    "Player_team_right",
    "Goalkeeper_team_left",
    "Goalkeeper_team_right",
    "Main_referee",
    "Side_referee",
    "Staff_members",
    "Player_team_unknown_1",
    "Player_team_unknown_2",
    "Goalkeeper_team_unknown",
)
RANKING_FILE = "ranking_results.json"
# Fields of one `<split>_bbox_info.json` entry, in the order they are written.
ENTRY_FIELDS = (
    "bbox_idx",
    "action_idx",
    "person_uid",
    "frame_idx",
    "clazz",
    "id",
    "UAI",
    "relative_path",
    "height",
    "width",
)
# The only fields the official evaluator reads.
REQUIRED_ENTRY_FIELDS = ("bbox_idx", "action_idx", "person_uid")

_FOLDER_DEPTH = 4  # <league>/<season>/<game>/<action>
_NUMBER = re.compile(r"[0-9]+")
_SIZE = re.compile(r"([0-9]+)x([0-9]+)")
_SPACE = re.compile(r"\s")
# Fast paths of `parse_filename`; names they refuse go through the field-by-field diagnosis.
_LABELLED_NAME = re.compile(
    r"(?P<bbox_idx>[0-9]+)-(?P<action_idx>[0-9]+)-(?P<person_uid>[0-9]+)-(?P<frame_idx>[0-9]+)-"
    r"(?P<role>[^-\s]+)-(?P<jersey>[^-\s]+)-(?P<uai>\S+)-(?P<height>[0-9]+)x(?P<width>[0-9]+)\.png"
)
_CHALLENGE_NAME = re.compile(
    r"(?P<bbox_idx>[0-9]+)-(?P<action_idx>[0-9]+)-(?P<height>[0-9]+)x(?P<width>[0-9]+)\.png"
)
_NAME_FIELDS = (
    "bbox_idx", "action_idx", "person_uid", "frame_idx", "role", "jersey", "uai", "height", "width"
)
_INT_FIELDS = ("bbox_idx", "action_idx", "person_uid", "frame_idx", "height", "width")


class ReidFormatError(FileFormatError):
    """A ReID file or file name that does not follow the official format."""


def bbox_info_file(split: str) -> str:
    """Name of a split's ground-truth file, e.g. `test_bbox_info.json`."""
    return f"{split}_bbox_info.json"


@dataclasses.dataclass(frozen=True, slots=True)
class ReidSample:
    """One player thumbnail of the official ReID tree."""

    path: str  # relative to the dataset root, '/'-separated: "valid/query/<league>/.../<name>.png"
    split: str  # train, valid, test or challenge
    subset: str  # "train", "query" or "gallery"
    bbox_idx: int
    action_idx: int
    person_uid: int | None  # None for challenge samples
    frame_idx: int | None
    role: str | None  # the class field as in the name, e.g. "Player_team_left"
    jersey: str | None  # the ID field: a number, a letter, or "None"
    uai: str | None
    height: int
    width: int
    league: str | None = None  # folder parts; None in the flat challenge layout
    season: str | None = None
    game: str | None = None
    action: str | None = None

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def relative_path(self) -> str:
        """The action folder relative to the subset folder ("" in the flat challenge layout)."""
        parts = (self.league, self.season, self.game, self.action)
        return "/".join(p for p in parts if p is not None)


def parse_filename(name: str | os.PathLike, *, challenge: bool = False) -> dict:
    """Annotations of one thumbnail file name (a bare name or a path; only its last part is read).

    Returns a dict with the `ReidSample` keys bbox_idx, action_idx, person_uid, frame_idx, role,
    jersey, uai, height, width; the five annotation fields are None for a challenge name.
    Raises `ReidFormatError` naming `name` when the name does not have the expected form.
    """
    try:
        return _parse_name(os.path.basename(os.fspath(name)), challenge)
    except _NameError as error:
        raise ReidFormatError(name, str(error)) from None


class _NameError(Exception):
    """A file name problem, before the path it belongs to is known."""


def _parse_name(base: str, challenge: bool) -> dict:
    match = (_CHALLENGE_NAME if challenge else _LABELLED_NAME).fullmatch(base)
    if match is not None and int(match["height"]) > 0 and int(match["width"]) > 0:
        found = match.groupdict()
        return {
            key: (int(found[key]) if key in _INT_FIELDS else found[key]) if key in found else None
            for key in _NAME_FIELDS
        }
    return _diagnose_name(base, challenge)  # raises, saying what is wrong


def _diagnose_name(base: str, challenge: bool) -> dict:
    if not base.endswith(".png"):
        raise _NameError("a ReID sample file name must end with '.png'")
    parts = base[: -len(".png")].split("-")
    if challenge:
        if len(parts) != 3:
            hint = " (it looks like a labelled name)" if len(parts) >= 8 else ""
            raise _NameError(
                f"expected the challenge name <bbox_idx>-<action_idx>-<H>x<W>.png, got "
                f"{len(parts)} '-'-separated fields{hint}",
            )
        bbox, action, size = parts
        person = frame = role = jersey = uai = None
    else:
        if len(parts) < 8:
            hint = ""
            if len(parts) == 3:
                hint = " (it looks like a challenge name; pass challenge=True)"
            raise _NameError(
                "expected <bbox_idx>-<action_idx>-<person_uid>-<frame_idx>-<class>-<ID>-<UAI>-"
                f"<H>x<W>.png, got {len(parts)} '-'-separated fields{hint}",
            )
        bbox, action, person, frame, role, jersey = parts[:6]
        uai = "-".join(parts[6:-1])  # a UAI containing '-' stays whole
        size = parts[-1]
        for field, text in (("class", role), ("ID", jersey), ("UAI", uai)):
            if not text or _SPACE.search(text):
                raise _NameError(f"the {field} field {text!r} is empty or has spaces")
    numbers = {}
    for field, text in (
        ("bbox_idx", bbox),
        ("action_idx", action),
        ("person_uid", person),
        ("frame_idx", frame),
    ):
        if text is None:
            numbers[field] = None
        elif _NUMBER.fullmatch(text):
            numbers[field] = int(text)
        else:
            raise _NameError(f"{field} {text!r} is not a non-negative integer")
    match = _SIZE.fullmatch(size)
    if match is None or int(match[1]) == 0 or int(match[2]) == 0:
        raise _NameError(f"the size field {size!r} is not <height>x<width> (positive)")
    return dict(
        **numbers,
        role=role,
        jersey=jersey,
        uai=uai,
        height=int(match[1]),
        width=int(match[2]),
    )


def format_filename(
    bbox_idx: int,
    action_idx: int,
    height: int,
    width: int,
    *,
    person_uid: int | None = None,
    frame_idx: int | None = None,
    role: str | None = None,
    jersey: str | None = None,
    uai: str | None = None,
) -> str:
    """The official file name of a thumbnail: the challenge form when `person_uid` is None."""
    if person_uid is None:
        name = f"{bbox_idx}-{action_idx}-{height}x{width}.png"
        challenge = True
    else:
        name = (
            f"{bbox_idx}-{action_idx}-{person_uid}-{frame_idx}-{role}-{jersey}-{uai}-"
            f"{height}x{width}.png"
        )
        challenge = False
    fields = parse_filename(name, challenge=challenge)  # refuse what could not be read back
    given = dict(
        bbox_idx=bbox_idx,
        action_idx=action_idx,
        person_uid=person_uid,
        frame_idx=frame_idx,
        role=role,
        jersey=jersey,
        uai=uai,
        height=height,
        width=width,
    )
    if fields != given:
        raise ValueError(f"fields {given} do not survive the file name {name!r}")
    return name


def _subset_folders(root: pathlib.Path, split: str) -> list[tuple[str, pathlib.Path]]:
    if split == "train":
        return [("train", root / "train")]
    return [(subset, root / split / subset) for subset in ("query", "gallery")]


def _list_subset(root: pathlib.Path, split: str, subset: str, folder: pathlib.Path):
    depth = 0 if split == "challenge" else _FOLDER_DEPTH
    layout = "<name>.png" if depth == 0 else "<league>/<season>/<game>/<action>/<name>.png"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: SoccerNet ReID {split} folder not found")
    samples: list[ReidSample] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        rel_dir = pathlib.Path(dirpath).relative_to(folder).parts
        prefix = "/".join(((split,) if split == "train" else (split, subset)) + rel_dir)
        folders = dict(zip(("league", "season", "game", "action"), rel_dir))
        for filename in sorted(filenames):
            if not filename.endswith(".png") or is_hidden(filename):
                continue  # not a sample (e.g. a bbox_info json, a macOS "._x.png")
            if len(rel_dir) != depth:
                file = os.path.join(dirpath, filename)
                raise ReidFormatError(file, f"sample not at {folder}/{layout}")
            try:
                fields = _parse_name(filename, split == "challenge")
            except _NameError as error:
                raise ReidFormatError(os.path.join(dirpath, filename), str(error)) from None
            samples.append(
                ReidSample(
                    path=f"{prefix}/{filename}",
                    split=split,
                    subset=subset,
                    **fields,
                    **folders,
                )
            )
    if not samples:
        raise FileNotFoundError(f"{folder}: no .png samples in the SoccerNet ReID {split} folder")
    samples.sort(key=lambda s: s.bbox_idx)
    for previous, sample in zip(samples, samples[1:]):
        if previous.bbox_idx == sample.bbox_idx:
            raise ReidFormatError(
                root / sample.path,
                f"bbox_idx {sample.bbox_idx} is also used by {root / previous.path} "
                f"in the same {subset} list",
            )
    return samples


def list_split(root: str | os.PathLike, split: str) -> list[ReidSample]:
    """Every thumbnail of one split of the official tree under `root` (the folder holding
    train/, valid/, test/, challenge/).

    Returns the samples sorted by (subset, bbox_idx), query before gallery. Raises
    FileNotFoundError naming the folder when a split or subset folder is missing or holds no
    .png, and `ReidFormatError` for a malformed name, a sample at the wrong depth, or two samples
    of one subset sharing a bbox_idx.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown ReID split {split!r}; expected one of {SPLITS}")
    root = pathlib.Path(root)
    if not (root / split).is_dir():
        raise FileNotFoundError(f"{root / split}: SoccerNet ReID {split} folder not found")
    samples: list[ReidSample] = []
    for subset, folder in _subset_folders(root, split):
        samples.extend(_list_subset(root, split, subset, folder))
    return samples


def _entry(sample: ReidSample, subset: str) -> dict:
    if sample.subset != subset:
        raise ValueError(f"{sample.path}: a {sample.subset} sample given as a {subset} sample")
    if sample.person_uid is None:
        raise ValueError(f"{sample.path}: a challenge sample (no person_uid) has no ground truth")
    return {
        "bbox_idx": sample.bbox_idx,
        "action_idx": sample.action_idx,
        "person_uid": sample.person_uid,
        "frame_idx": sample.frame_idx,
        "clazz": sample.role,
        "id": sample.jersey,
        "UAI": sample.uai,
        "relative_path": sample.relative_path,
        "height": sample.height,
        "width": sample.width,
    }


def bbox_info(query: Sequence[ReidSample], gallery: Sequence[ReidSample]) -> dict:
    """The `<split>_bbox_info.json` document of labelled query and gallery samples.

    `{"query": {"<bbox_idx>": entry}, "gallery": {...}}`, entries with the `ENTRY_FIELDS` keys,
    ordered by bbox_idx. Raises ValueError for a challenge sample, a sample of the wrong subset,
    or a bbox_idx used twice in one subset.
    """
    document = {}
    for subset, samples in (("query", query), ("gallery", gallery)):
        entries = {}
        for sample in sorted(samples, key=lambda s: s.bbox_idx):
            key = str(sample.bbox_idx)
            if key in entries:
                raise ValueError(f"{sample.path}: bbox_idx {key} is twice in the {subset} list")
            entries[key] = _entry(sample, subset)
        document[subset] = entries
    return document


def write_bbox_info(
    path: str | os.PathLike, query: Sequence[ReidSample], gallery: Sequence[ReidSample]
) -> pathlib.Path:
    """Write `bbox_info(query, gallery)` to `path`; returns the path."""
    path = pathlib.Path(path)
    document = bbox_info(query, gallery)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(document, f)
    return path


def _no_duplicate_keys(path: Any):
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        document = {}
        for key, value in pairs:
            if key in document:
                raise ReidFormatError(path, f"the JSON key {key!r} appears twice in one object")
            document[key] = value
        return document

    return hook


def load_json(path: str | os.PathLike) -> Any:
    """A JSON file as Python objects; a duplicated key or invalid JSON raises `ReidFormatError`."""
    try:
        with open(path) as f:
            return json.load(f, object_pairs_hook=_no_duplicate_keys(path))
    except json.JSONDecodeError as error:
        raise ReidFormatError(path, f"not valid JSON ({error})") from None


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is not a bbox index


_OPTIONAL_TYPES = {
    "frame_idx": (int,),
    "clazz": (str,),
    "id": (str, int),
    "UAI": (str,),
    "relative_path": (str,),
    "height": (int,),
    "width": (int,),
}


def parse_bbox_info(document: Any, *, path: Any = "<bbox_info>") -> dict[str, dict[int, dict]]:
    """Validate a `<split>_bbox_info.json` document; see `read_bbox_info`."""
    if not isinstance(document, dict) or not {"query", "gallery"} <= set(document):
        raise ReidFormatError(path, 'expected an object with "query" and "gallery" entries')
    parsed = {}
    for subset in ("query", "gallery"):
        entries = document[subset]
        if not isinstance(entries, dict):
            raise ReidFormatError(path, f'"{subset}" must map bbox_idx strings to entries')
        out = {}
        for key, entry in entries.items():
            where = f'"{subset}" entry {key!r}'
            if not isinstance(entry, dict):
                raise ReidFormatError(path, f"{where} is not an object")
            missing = [f for f in REQUIRED_ENTRY_FIELDS if f not in entry]
            if missing:
                raise ReidFormatError(path, f"{where} lacks {', '.join(missing)}")
            for field in ("bbox_idx", "action_idx"):
                if not _is_int(entry[field]):
                    raise ReidFormatError(path, f"{where}: {field} {entry[field]!r} is not an int")
            uid = entry["person_uid"]
            if not (_is_int(uid) or isinstance(uid, str)):
                raise ReidFormatError(path, f"{where}: person_uid {uid!r} is not an int or string")
            if key != str(entry["bbox_idx"]):
                problem = f"{where} has bbox_idx {entry['bbox_idx']}, not its key"
                raise ReidFormatError(path, problem)
            for field, types in _OPTIONAL_TYPES.items():
                value = entry.get(field)
                if value is not None and type(value) not in types:
                    raise ReidFormatError(path, f"{where}: {field} {value!r} has the wrong type")
            out[entry["bbox_idx"]] = entry
        parsed[subset] = out
    return parsed


def read_bbox_info(path: str | os.PathLike) -> dict[str, dict[int, dict]]:
    """Read and validate a `<split>_bbox_info.json` file.

    Returns `{"query": {bbox_idx: entry}, "gallery": {bbox_idx: entry}}` with int keys, in file
    order, entries as written. Every entry must have int `bbox_idx` equal to its key, int
    `action_idx` and an int (or string) `person_uid`; the other `ENTRY_FIELDS` are optional but
    type-checked. Raises `ReidFormatError` naming the file otherwise.
    """
    return parse_bbox_info(load_json(path), path=path)


def _as_index(value: Any, *, path: Any, where: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ReidFormatError(path, f"{where}: {value!r} is not an integer bbox_idx")
    index = value.__index__()
    if index < 0:
        raise ReidFormatError(path, f"{where}: bbox_idx {index} is negative")
    return index


def write_ranking(
    path: str | os.PathLike, rankings: Mapping[int, Iterable[int]]
) -> pathlib.Path:
    """Write `ranking_results.json`: per query bbox_idx, its gallery bbox_idx list, best first.

    Keys and items may be Python or numpy integers (a 1-D int array per query works); queries are
    written in increasing bbox_idx order. Raises `ReidFormatError` for a non-integer or negative
    index or a gallery sample listed twice for one query. Returns the path.
    """
    path = pathlib.Path(path)
    document = {}
    for query, ranking in rankings.items():
        q = _as_index(query, path=path, where="query key")
        where = f"ranking of query {q}"
        gallery = [_as_index(g, path=path, where=where) for g in ranking]
        if len(set(gallery)) != len(gallery):
            seen = set()
            twice = next(g for g in gallery if g in seen or seen.add(g))
            raise ReidFormatError(path, f"{where} lists gallery sample {twice} twice")
        if q in document:
            raise ReidFormatError(path, f"query {q} is given twice")
        document[q] = gallery
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump({str(q): document[q] for q in sorted(document)}, f)
    return path


def read_ranking(path: str | os.PathLike) -> dict[int, list[int]]:
    """Read and validate a `ranking_results.json` file: `{query bbox_idx: [gallery bbox_idx]}`.

    Keys must be decimal integers, values lists of ints (JSON true/false or 1.0 are refused),
    without repeats. Raises `ReidFormatError` naming the file otherwise. Whether the lists hold
    exactly the right gallery samples is the evaluator's check (`zoo.metrics.reid`).
    """
    document = load_json(path)
    if not isinstance(document, dict):
        raise ReidFormatError(path, "expected an object mapping query bbox_idx to gallery lists")
    rankings = {}
    for key, ranking in document.items():
        if not _NUMBER.fullmatch(key) or str(int(key)) != key:
            raise ReidFormatError(path, f"query key {key!r} is not a decimal bbox_idx")
        if not isinstance(ranking, list):
            raise ReidFormatError(path, f"the ranking of query {key} is not a list")
        for g in ranking:
            if not _is_int(g) or g < 0:
                problem = f"the ranking of query {key} holds {g!r}, not a bbox_idx"
                raise ReidFormatError(path, problem)
        if len(set(ranking)) != len(ranking):
            raise ReidFormatError(path, f"the ranking of query {key} lists a gallery sample twice")
        rankings[int(key)] = ranking
    return rankings
