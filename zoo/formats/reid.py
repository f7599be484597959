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
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import mmap
import operator
import os
import pathlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

try:  # optional: reads large ground truths and rankings several times faster, same results
    import msgspec
except ModuleNotFoundError:
    msgspec = None

from zoo.formats.errors import FileFormatError
from zoo.formats.validate import entry_location, read_submission_json
from zoo.formats.validation import Problem

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
        dirnames.sort()
        rel_dir = pathlib.Path(dirpath).relative_to(folder).parts
        prefix = "/".join(((split,) if split == "train" else (split, subset)) + rel_dir)
        folders = dict(zip(("league", "season", "game", "action"), rel_dir))
        for filename in sorted(filenames):
            if not filename.endswith(".png"):
                continue  # not a sample (e.g. a bbox_info json)
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


if msgspec is not None:

    class _EvaluatedFields(msgspec.Struct, gc=False):
        """The fields of a bbox_info entry the evaluator reads; the others are skipped."""

        bbox_idx: int
        action_idx: int
        person_uid: int | str

    class _EvaluatedSubsets(msgspec.Struct, gc=False):
        query: dict[str, _EvaluatedFields]
        gallery: dict[str, _EvaluatedFields]

    class _EvaluatedSubsetsByIndex(msgspec.Struct, gc=False):
        """Keys read as ints: no string made per entry (a third of the decoding time)."""

        query: dict[int, _EvaluatedFields]
        gallery: dict[int, _EvaluatedFields]

    class _IntEvaluatedFields(msgspec.Struct, gc=False):
        """`_EvaluatedFields` of the usual files, whose person_uid are ints."""

        bbox_idx: int
        action_idx: int
        person_uid: int

    class _IntEvaluatedSubsetsByIndex(msgspec.Struct, gc=False):
        query: dict[int, _IntEvaluatedFields]
        gallery: dict[int, _IntEvaluatedFields]

    _BBOX_FIELDS_DECODER = msgspec.json.Decoder(_EvaluatedSubsets)
    _BBOX_BY_INDEX_DECODER = msgspec.json.Decoder(_EvaluatedSubsetsByIndex)
    _INT_BBOX_BY_INDEX_DECODER = msgspec.json.Decoder(_IntEvaluatedSubsetsByIndex)
    _BBOX_IDX = operator.attrgetter("bbox_idx")
    _ACTION_IDX = operator.attrgetter("action_idx")
    _PERSON_UID = operator.attrgetter("person_uid")
    _RANKING_DECODER = msgspec.json.Decoder(dict[str, list[int]])
    _RANKING_BY_INDEX_DECODER = msgspec.json.Decoder(dict[int, list[int]])
    _INT_LIST_DECODER = msgspec.json.Decoder(list[int])

# After a top-level subset key: the subset object and its first key, if any.
_SUBSET_FIRST_KEY = re.compile(rb'\s*:\s*\{\s*(?:"([^"]*)")?')
_OBJECT_START = re.compile(rb"\s*\{\s*")


class BboxColumns(NamedTuple):
    """The evaluated fields of one subset of a `<split>_bbox_info.json`, entries in file order.

    bbox_idx (each entry's key, as the file must have it), action_idx: [n] int64;
    person_uid: [n] int64 when every uid is an int, else [n] object holding the ints and strings
    as read (the official evaluator compares them with ==).
    """

    bbox_idx: np.ndarray
    action_idx: np.ndarray
    person_uid: np.ndarray


def _decimal_keys(keys: list[str]) -> list[int] | None:
    """The ints whose canonical decimal forms (str(int)) are `keys`, or None if a key is another
    form ("007", "+7", " 7", "-0", "1e2", ...). One msgspec parse instead of a str() per entry:
    with only digits, '-' and ',' present, an array of JSON integers accepts exactly the
    canonical forms and "-0", which is looked for apart.
    """
    joined = ",".join(keys).encode("ascii", "replace")
    if joined.translate(None, b"0123456789,-") or b"-0" in joined:
        return None
    try:
        numbers = _INT_LIST_DECODER.decode(b"[" + joined + b"]")
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return numbers if len(numbers) == len(keys) else None


def _first_key_of(data: bytes, subset: str, guess: int) -> bytes | None:
    """The text of the first key of the top-level object `subset` (b"" when it is empty), or
    None where it is not found; for `_zero_keys_written_plainly`, whose file has no escapes and
    no object but the top level, the subsets and their entries. There the only `"gallery"`
    followed by `: {` is the top-level key, wherever it is found, so the search may begin at
    `guess` (where the other subset is expected to end) and go on round the file.
    """
    name = b'"' + subset.encode() + b'"'
    top = _OBJECT_START.match(data)
    if top and data[top.end() : top.end() + len(name)] == name:  # the file's first key
        spans = [(top.end(), top.end() + len(name))]
    else:
        spans = [(guess, len(data)), (0, guess + len(name))]
    for start, end in spans:
        at = data.find(name, start, end)
        while at >= 0:
            found = _SUBSET_FIRST_KEY.match(data, at + len(name))
            if found:  # a string "gallery" elsewhere is followed by ',', '}' or ']'
                return found[1] or b""
            at = data.find(name, at + 1, end)
    return None


def _zero_keys_written_plainly(data: bytes, document) -> bool:
    """Whether a key 0 of either subset is written "0", not "-0", in an escape-free file whose
    only objects are the top level, the two subsets and their entries.

    msgspec reads a JSON object key as an int when its text is a JSON integer, so "-0" is the
    one non-canonical key it lets through; `read_bbox_info` refuses it. Key 0 usually comes
    first in its subset, and the subset's first key is found cheaply; otherwise the whole file
    is searched for "-0".
    """
    sizes = {subset: len(getattr(document, subset)) for subset in ("query", "gallery")}
    for subset, other in (("query", "gallery"), ("gallery", "query")):
        entries = getattr(document, subset)
        if 0 not in entries:
            continue
        first = None
        if next(iter(entries)) == 0:
            # entries of about the same size: the other subset's share of the file, less a bit
            guess = len(data) * sizes[other] // max(1, sizes[subset] + sizes[other]) * 9 // 10
            first = _first_key_of(data, subset, guess)
        if first != b"0" and data.find(b'"-0"') >= 0:
            return False
    return True


def _count_byte(data: bytes, byte: int, chunk: int = 1 << 18) -> int:
    """How many times `byte` occurs in `data`: numpy compares, chunk by chunk into one buffer
    that stays in cache (twice as fast as bytes.count, and no file-sized temporary)."""
    values = np.frombuffer(data, np.uint8)
    equal = np.empty(min(chunk, len(values)), bool)
    total = 0
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        total += int(np.count_nonzero(np.equal(part, byte, out=equal[: len(part)])))
    return total


@contextlib.contextmanager
def _mapped(path: str | os.PathLike):
    """The bytes of a file, mapped rather than read: a ground truth of tens of megabytes is
    then neither copied nor given fresh memory, which costs more than the searches on it."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:  # an empty file cannot be mapped
            yield b""
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def read_bbox_columns_fast(path: str | os.PathLike) -> dict[str, BboxColumns] | None:
    """bbox_idx, action_idx and person_uid of every query and gallery entry as arrays, or None
    when this fast reader cannot vouch for the file: msgspec is not installed, or the file is not
    plainly valid (any type error, a key that is not its entry's bbox_idx, an entry given twice,
    an int beyond 64 bits, any other object than the entries). Then `read_bbox_info` reads it,
    or says what is wrong.

    Returns {"query": BboxColumns, "gallery": BboxColumns}. Like the official reader (json.load)
    and unlike `read_bbox_info`, a field repeated inside one entry is taken at its last value,
    and the fields the evaluator does not read are not checked.
    """
    if msgspec is None:
        return None
    with _mapped(path) as data:
        return _bbox_columns(data)


def _person_uids(values, count: int, all_ints: bool) -> np.ndarray:
    """person_uid of the entries `values`: [count] int64, or object (strings, ints beyond 64
    bits) holding them as read, for the official's == comparison."""
    if all_ints:
        try:
            return np.fromiter(map(_PERSON_UID, values), np.int64, count)
        except OverflowError:
            pass
    # not np.array(values) alone: numpy would turn 5 and "5" into one string, equal
    uid_list = list(map(_PERSON_UID, values))
    uids = np.array(uid_list)
    return uids if uids.dtype.kind == "i" else np.array(uid_list, object)


def _bbox_columns(data) -> dict[str, BboxColumns] | None:
    """`read_bbox_columns_fast` of the file's bytes (bytes or a read-only mmap)."""
    # Without escapes (the usual case) keys are read straight as ints; with them ("\u0030" is
    # also "0") as strings, checked to be the canonical decimal form of their entry's bbox_idx.
    plain = data.find(b"\\") < 0
    decoders = [_BBOX_BY_INDEX_DECODER] if plain else [_BBOX_FIELDS_DECODER]
    if plain:  # int person_uid first: they go to an array without a list between
        decoders.insert(0, _INT_BBOX_BY_INDEX_DECODER)
    for decoder in decoders:
        try:
            document = decoder.decode(data)
            break
        except msgspec.ValidationError:  # a string person_uid? (else the next one fails too)
            continue
        except msgspec.DecodeError:
            return None
    else:
        return None
    int_uids = decoder is _INT_BBOX_BY_INDEX_DECODER
    columns = {}
    try:
        for subset in ("query", "gallery"):
            entries = getattr(document, subset)
            count, values = len(entries), entries.values()
            bbox = np.fromiter(map(_BBOX_IDX, values), np.int64, count)
            if plain:  # each key is its entry's bbox_idx
                same = np.array_equal(np.fromiter(entries, np.int64, count), bbox)
            else:
                same = _decimal_keys(list(entries)) == bbox.tolist()
            if not same:
                return None
            uids = _person_uids(values, count, int_uids)
            action = np.fromiter(map(_ACTION_IDX, values), np.int64, count)
            columns[subset] = BboxColumns(bbox, action, uids)
    except OverflowError:  # an int beyond 64 bits where one is needed: the exact reader says so
        return None
    # An entry given twice leaves one dict item but two objects: count the objects, all '{'
    # (any '{' inside a string, or any other object, only makes the counts differ).
    if _count_byte(data, ord("{")) != 3 + len(document.query) + len(document.gallery):
        return None
    if plain and not _zero_keys_written_plainly(data, document):
        return None
    return columns


def read_bbox_fields_fast(path: str | os.PathLike) -> dict[str, tuple[list, list, list]] | None:
    """`read_bbox_columns_fast` as lists: {"query": (bbox_idx, action_idx, person_uid), ...},
    or None when it cannot vouch for the file."""
    columns = read_bbox_columns_fast(path)
    if columns is None:
        return None
    return {
        subset: (c.bbox_idx.tolist(), c.action_idx.tolist(), c.person_uid.tolist())
        for subset, c in columns.items()
    }


def read_ranking_fast(path: str | os.PathLike) -> dict[str, list[int]] | None:
    """A `ranking_results.json` of decimal query keys and integer lists, or None when msgspec is
    not installed or the file is anything else (a non-integer, a key of another form, a key
    given twice): the exact reader then takes over. Values are the JSON integers as written
    (bools and floats are not integers here).
    """
    if msgspec is None:
        return None
    data = pathlib.Path(path).read_bytes()
    try:
        document = _RANKING_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if "," in "".join(document):
        return None
    # With comma-free keys and integer lists, every comma separates two list items or two
    # entries: fewer entries than that means a key was given twice (json keeps its last value).
    separators = sum(map(len, document.values())) - sum(1 for r in document.values() if r)
    if document and data.count(b",") - separators + 1 != len(document):
        return None
    return document


def read_ranking_by_index_fast(path: str | os.PathLike) -> dict[int, list[int]] | None:
    """`read_ranking_fast` with the query keys read as ints, for the evaluator's fast path: None
    also for a file with escapes or a '-' anywhere (a negative id, or a "-0" key that would read
    as 0), which the exact reader then reports.
    """
    if msgspec is None:
        return None
    data = pathlib.Path(path).read_bytes()
    if b"\\" in data or b"-" in data:
        return None
    # The lists hold ints only, no cycle: pause the cyclic collector, which thousands of new
    # lists would otherwise start again and again (a quarter of the decoding time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        document = _RANKING_BY_INDEX_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    finally:
        if collecting:
            gc.enable()
    # Int keys hold no comma: every comma separates two list items or two entries, and fewer
    # entries than that means a key was given twice (json keeps its last value).
    lengths = list(map(len, document.values()))
    separators = sum(lengths) - (len(lengths) - lengths.count(0))
    if document and _count_byte(data, ord(",")) - separators + 1 != len(document):
        return None
    return document


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


# ----------------------------------------------------------------------- submission validation


@dataclasses.dataclass(frozen=True)
class _Truth:
    """What a ranking is checked against: the action of every query and gallery sample."""

    location: str
    query_actions: dict[int, int]
    gallery_actions: dict[int, int]

    def gallery_by_action(self) -> dict[int, list[int]]:
        by_action: dict[int, list[int]] = {}
        for g, action in self.gallery_actions.items():
            by_action.setdefault(action, []).append(g)
        return by_action


def _truth_of(document: dict, location: str) -> _Truth:
    return _Truth(
        location,
        {q: e["action_idx"] for q, e in document["query"].items()},
        {g: e["action_idx"] for g, e in document["gallery"].items()},
    )


def _validation_truth(groundtruth: str | os.PathLike) -> _Truth:
    """The queries and gallery samples to check a ranking against.

    groundtruth: `<split>_bbox_info.json` (or a zip holding it), a folder holding one, or a
    query/gallery split folder of thumbnails (`valid`, `test` or `challenge`, whose actions are in
    the file names: the challenge split, with hidden identities, can be checked so too).
    """
    groundtruth = pathlib.Path(groundtruth)
    if groundtruth.is_dir():
        found = sorted(groundtruth.glob("*_bbox_info.json"))
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise ReidFormatError(groundtruth, f"several bbox_info files ({names}); give one")
        if found:
            groundtruth = found[0]
        elif (groundtruth / "query").is_dir() and (groundtruth / "gallery").is_dir():
            split = groundtruth.name
            if split not in ("valid", "test", "challenge"):
                raise ReidFormatError(
                    groundtruth,
                    "a folder of query/ and gallery/ thumbnails must be the split folder named "
                    "valid, test or challenge",
                )
            samples = list_split(groundtruth.parent, split)
            return _Truth(
                str(groundtruth),
                {s.bbox_idx: s.action_idx for s in samples if s.subset == "query"},
                {s.bbox_idx: s.action_idx for s in samples if s.subset == "gallery"},
            )
        else:
            raise ReidFormatError(
                groundtruth,
                "expected a <split>_bbox_info.json in it, or query/ and gallery/ thumbnail folders",
            )
    if groundtruth.suffix != ".zip":
        return _truth_of(read_bbox_info(groundtruth), str(groundtruth))
    location, document, problems = read_submission_json(groundtruth, what="bbox_info file")
    if problems:
        raise ReidFormatError(groundtruth, "; ".join(map(str, problems)))
    return _truth_of(parse_bbox_info(document, path=location), location)


def _not_an_index(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} is a JSON boolean, not a gallery bbox_idx"
    if isinstance(value, float) and value.is_integer():
        return f"{value!r} is a float; write the integer {int(value)}"
    if isinstance(value, str):
        return f"{value!r} is a string; gallery ids must be JSON integers"
    if type(value) is int:
        return f"{value} is negative, not a bbox_idx"
    return f"{json.dumps(value)[:40]} is not an integer gallery bbox_idx"


def validate_submission(
    path: str | os.PathLike, *, groundtruth: str | os.PathLike | None = None
) -> list[Problem]:
    """Every problem of a ReID submission (`ranking_results.json`), each with its location.

    path: the JSON file, or a folder or zip holding `ranking_results.json`.
    groundtruth: optional; see `_validation_truth` for the forms it may take. Without it only the
    form is checked: an object of decimal query bbox_idx keys, each mapped to a list of distinct
    non-negative JSON integers. With it, each of the official evaluator's refusals becomes a
    located problem: a query without a ranking, a gallery id that is no gallery sample or is from
    another action than the query's, one ranked twice, same-action samples left out; plus what
    the official evaluator silently ignores: rankings of queries that are not in the ground truth.
    Returns `zoo.formats.validation.Problem`s (empty when valid). Raises FileNotFoundError /
    `ReidFormatError` when `path` does not exist or the ground truth cannot be read.
    """
    truth = _validation_truth(groundtruth) if groundtruth is not None else None
    location, document, problems = read_submission_json(
        path, expected_name=RANKING_FILE, what="ranking file"
    )
    if document is None:
        return problems
    if not isinstance(document, dict):
        kind = type(document).__name__
        found = f"expected an object {{query bbox_idx: [gallery bbox_idx, ...]}}, found a {kind}"
        return problems + [Problem(location, found)]
    by_action = truth.gallery_by_action() if truth is not None else {}
    for key, ranking in document.items():
        where = entry_location(location, key)
        query = int(key) if _NUMBER.fullmatch(key) and str(int(key)) == key else None
        action = None
        if query is None:
            problems.append(
                Problem(where, f"{key!r} is not a query bbox_idx (decimal digits, no leading zero)")
            )
        elif truth is not None:
            action = truth.query_actions.get(query)
            if action is None:
                problems.append(
                    Problem(
                        where,
                        f"not a query of {truth.location}; the official evaluator ignores it "
                        "(a ranking of another split?)",
                    )
                )
        if not isinstance(ranking, list):
            kind = type(ranking).__name__
            problems.append(Problem(where, f"expected a list of gallery bbox_idx, found a {kind}"))
            continue
        first_at: dict[int, int] = {}
        for position, g in enumerate(ranking):
            at = entry_location(location, key, position)
            if not _is_int(g) or g < 0:
                problems.append(Problem(at, _not_an_index(g)))
                continue
            if g in first_at:
                problems.append(
                    Problem(at, f"gallery sample {g} is ranked again (first at [{first_at[g]}])")
                )
                continue
            first_at[g] = position
            if truth is None:
                continue
            g_action = truth.gallery_actions.get(g)
            if g_action is None:
                problems.append(Problem(at, f"{g} is not a gallery sample of {truth.location}"))
            elif action is not None and g_action != action:
                problems.append(
                    Problem(
                        at,
                        f"gallery sample {g} is from action {g_action}, not from the query's "
                        f"action {action}; rank only same-action samples",
                    )
                )
        if action is not None:
            missing = [g for g in by_action.get(action, ()) if g not in first_at]
            if missing:
                listed = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
                problems.append(
                    Problem(
                        where,
                        f"{len(missing)} gallery sample{'s' if len(missing) > 1 else ''} of "
                        f"action {action} not ranked ({listed}); every one must be ranked once",
                    )
                )
    if truth is not None:
        for query, action in truth.query_actions.items():
            if str(query) not in document:
                problems.append(
                    Problem(
                        entry_location(location, str(query)),
                        f"missing: query {query} (action {action}) has no ranking; every query "
                        "needs one",
                    )
                )
    elif not document:
        problems.append(Problem(location, "holds no query"))
    return problems
