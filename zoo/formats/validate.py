"""Check a submission before uploading it: `python -m zoo.formats.validate <task> <zip-or-dir>`.

    python -m zoo.formats.validate jersey predictions.zip --groundtruth test/test_gt.json
    python -m zoo.formats.validate reid ranking_results.json --groundtruth reid/challenge
    python -m zoo.formats.validate action_spotting results/ --max-problems 20

Each task's `zoo.formats.<module>.validate_submission(path, *, groundtruth=None)` (imported only
when its task is asked for) lists every problem of the submission; this prints them as
`location: message`, then one summary line. Exit status: 0 for a valid submission, 1 when there
is any problem, 2 for a usage error (unknown task, a path that does not exist, a ground truth that
cannot be read, a task whose module has no validator).

The module also holds what the JSON-file validators share: finding the submitted JSON file in a
file, a folder or a zip, and reading it into a document plus the problems met on the way
(`read_submission_json`, `entry_location`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import sys
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from zoo.formats.archive import Archive
from zoo.formats.errors import FileFormatError
from zoo.formats.validation import Problem

# task -> (module holding `validate_submission`, extra keyword arguments it is called with).
TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "action_spotting": ("zoo.formats.spotting_submission", {"task": "action_spotting"}),
    "ball_spotting": ("zoo.formats.spotting_submission", {"task": "ball_spotting"}),
    "ball_spotting_2023": ("zoo.formats.spotting_submission", {"task": "ball_spotting_2023"}),
    "team_ball_spotting": ("zoo.formats.spotting_submission", {"task": "team_ball_spotting"}),
    "captioning": ("zoo.formats.captioning", {}),
    "calibration": ("zoo.formats.calibration", {}),
    "reid": ("zoo.formats.reid_submission", {}),
    "tracking": ("zoo.formats.tracking", {}),
    "jersey": ("zoo.formats.jersey", {}),
}

USAGE_ERROR = 2


class NoValidator(LookupError):
    """A task whose module cannot be imported or has no `validate_submission`."""


def validator(task: str) -> Callable[..., list[Problem]]:
    """The task's `validate_submission` with its extra arguments bound; imports its module now."""
    if task not in TASKS:
        raise NoValidator(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    module_name, extra = TASKS[task]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or "?"
        if missing == module_name or module_name.startswith(missing + "."):
            raise NoValidator(f"task {task}: module {module_name} does not exist") from None
        raise NoValidator(
            f"task {task}: {module_name} needs {missing}, which is not installed"
        ) from None
    function = getattr(module, "validate_submission", None)
    if not callable(function):
        raise NoValidator(f"task {task}: {module_name} has no validate_submission")

    def validate_task(path, *, groundtruth=None):
        return function(path, groundtruth=groundtruth, **extra)

    return validate_task


def validate(
    task: str, path: str | os.PathLike, *, groundtruth: str | os.PathLike | None = None
) -> list[Problem]:
    """Every problem of the submission at `path` for `task` (an empty list when it is valid)."""
    return list(validator(task)(path, groundtruth=groundtruth))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.formats.validate",
        description="List every problem of a SoccerNet challenge submission before uploading it.",
    )
    parser.add_argument("task", choices=list(TASKS), help="the challenge task")
    parser.add_argument("submission", help="the submission: a zip, a folder or a file")
    parser.add_argument(
        "--groundtruth",
        help="labels (file, folder or zip) to check that every game, query or tracklet is there",
    )
    parser.add_argument(
        "--max-problems",
        type=int,
        default=None,
        metavar="N",
        help="print at most N problems (all are still counted)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on a usage error, 0 for --help
        return int(exit_.code or 0)
    if args.max_problems is not None and args.max_problems < 0:
        print("error: --max-problems must be >= 0", file=sys.stderr)
        return USAGE_ERROR
    for what, path in (("submission", args.submission), ("ground truth", args.groundtruth)):
        if path is not None and not os.path.exists(path):
            print(f"error: {what} {path} does not exist", file=sys.stderr)
            return USAGE_ERROR
    try:
        problems = validate(args.task, args.submission, groundtruth=args.groundtruth)
    except NoValidator as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (FileFormatError, OSError) as error:  # the ground truth (or a path) is unusable
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR

    shown = problems if args.max_problems is None else problems[: args.max_problems]
    for problem in shown:
        print(problem)
    if problems:
        plural = "s" if len(problems) > 1 else ""
        summary = f"{len(problems)} problem{plural} in {args.task} submission {args.submission}"
        if len(shown) < len(problems):
            summary += f" ({len(shown)} shown)"
        print(summary)
        return 1
    coverage = "" if args.groundtruth else " (coverage not checked: give --groundtruth)"
    print(f"{args.submission}: a valid {args.task} submission{coverage}")
    return 0


# ----------------------------------------------------------------- shared by the JSON validators


def entry_location(file_location: str, *keys: Any) -> str:
    """`file["key"][3]`: an entry of a JSON document, strings quoted as JSON writes them."""
    return file_location + "".join(
        f"[{json.dumps(k)}]" if isinstance(k, str) else f"[{k}]" for k in keys
    )


def _pick(candidates: list[str], expected_name: str | None, where: str, what: str):
    """The one submitted file among `candidates` (paths inside a folder or zip), or a Problem."""
    if expected_name is not None:
        at_root = [c for c in candidates if c == expected_name]
        if at_root:
            return at_root[0]
        candidates = [c for c in candidates if pathlib.PurePosixPath(c).name == expected_name]
        if not candidates:
            return Problem(where, f"no {expected_name} in it; the {what} must be named so")
    if not candidates:
        return Problem(where, f"no .json file in it; expected the {what}")
    if len(candidates) > 1:
        listed = ", ".join(candidates[:5]) + (" ..." if len(candidates) > 5 else "")
        return Problem(where, f"{len(candidates)} candidate files ({listed}); expected one {what}")
    return candidates[0]


def read_submission_json(
    path: str | os.PathLike, *, expected_name: str | None = None, what: str = "submission file"
) -> tuple[str, Any, list[Problem]]:
    """Find and parse the one JSON file of a submission given as a file, a folder or a zip.

    A folder or zip must hold exactly one `.json` file (anywhere below it), or, when
    `expected_name` is given, a file of that name (at its root, else exactly one elsewhere).
    Returns (location, document, problems): location names the file (`archive.zip:member` inside
    a zip), document is the parsed JSON (None when it could not be read), problems lists what went
    wrong reading it, each duplicated key of an object included (JSON readers keep only its last
    value). Raises FileNotFoundError when `path` does not exist.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file() and not zipfile.is_zipfile(path):
        location, data = str(path), path.read_bytes()
    else:
        try:
            with Archive(path) as archive:
                members = sorted(m for m in archive.members() if m.endswith(".json"))
                chosen = _pick(members, expected_name, str(path), what)
                if isinstance(chosen, Problem):
                    return str(path), None, [chosen]
                location, data = archive.where(chosen), archive.read(chosen)
        except FileFormatError as error:  # a zip that cannot be opened
            return str(path), None, [Problem(str(path), error.problem)]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as error:
            return str(path), None, [Problem(str(path), f"cannot read the zip ({error})")]
    document, problems = parse_json_bytes(data, location)
    return location, document, problems


def parse_json_bytes(data: bytes, location: str) -> tuple[Any, list[Problem]]:
    """JSON bytes -> (document or None, problems), duplicate keys reported, not silently merged."""
    duplicates: list[str] = []

    def keep_first_seen(pairs):
        document = {}
        for key, value in pairs:
            if key in document:
                duplicates.append(key)
            document[key] = value
        return document

    try:
        text = data.decode("utf-8-sig")  # a UTF-8 BOM is harmless; anything else is not UTF-8
    except UnicodeDecodeError as error:
        return None, [Problem(location, f"not UTF-8 text ({error.reason} at byte {error.start})")]
    try:
        document = json.loads(text)
        # Each pair of an object in the text has a ':' (so has a string holding one): as many
        # as the top-level keys read means no nested object and no repeated key. Otherwise read
        # again, noting the repeated keys (the slower way).
        if not isinstance(document, dict) or text.count(":") != len(document):
            document = json.loads(text, object_pairs_hook=keep_first_seen)
    except json.JSONDecodeError as error:
        return None, [
            Problem(
                f"{location} line {error.lineno} column {error.colno}",
                f"not valid JSON: {error.msg}",
            )
        ]
    problems = [
        Problem(
            entry_location(location, key),
            "the key appears more than once in one object; JSON readers keep only its last value",
        )
        for key in dict.fromkeys(duplicates)
    ]
    return document, problems


if __name__ == "__main__":
    sys.exit(main())
