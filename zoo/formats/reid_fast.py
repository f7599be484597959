"""The fast readers of the ReID evaluator: the fields it reads from `<split>_bbox_info.json` and
`ranking_results.json`, decoded by msgspec straight into typed values and arrays.

Each reader returns None when it cannot vouch for the file (msgspec is not installed, or the file
is anything but plainly valid); the exact readers of `zoo.formats.reid` (`read_bbox_info`,
`read_ranking`) then read it, or say what is wrong. On every file the fast readers accept they
give what the exact readers give (`tests/test_metrics_reid.py` compares them).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import operator
import os
import pathlib
import re
from typing import NamedTuple

import numpy as np

try:  # optional: reads large ground truths and rankings several times faster, same results
    import msgspec
except ModuleNotFoundError:
    msgspec = None

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
