"""Check a ReID submission (`ranking_results.json`) before uploading it: `validate_submission`
lists every problem, each located at its query or ranked item (`ranking_results.json["12"][3]`).

With a ground truth, each refusal of the official evaluator becomes a located problem, and so do
the rankings it silently ignores. `python -m zoo.formats.validate reid <file>` prints them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

from zoo.formats.archive import is_hidden
from zoo.formats.reid import (
    _NUMBER,
    RANKING_FILE,
    ReidFormatError,
    _is_int,
    list_split,
    parse_bbox_info,
    read_bbox_info,
)
from zoo.formats.validate import entry_location, read_submission_json
from zoo.formats.validation import Problem


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
        found = sorted(p for p in groundtruth.glob("*_bbox_info.json") if not is_hidden(p.name))
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
