"""The metrics' fast reader of spotting labels: a `Labels-v2.json` document as arrays.

`parse_label_arrays` converts the annotations column by column instead of entry by entry, and
accepts and refuses exactly what `zoo.formats.spotting.parse_labels` does: any entry the
column-wise conversion cannot take goes through `parse_labels`, whose error names the file and
the annotation.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from zoo.formats.spotting import (
    _GAME_TIMES,
    _TEAM_INDEX,
    CLASSES_V2,
    Annotation,
    _check_policy,
    _entries,
    _unknown_labels,
    parse_game_time,
    parse_labels,
    position_frames,
)


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
