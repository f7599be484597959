"""Check a spotting submission zip before uploading it: `validate_submission` lists every
problem, each located at its file (`zip:member`) and entry (`predictions[12].position`).

The rules are the challenge servers': action spotting (SoccerNet-v2), ball action spotting 2023
and 2024, and team ball action spotting 2025 (`SUBMISSION_TASKS`); the files are those of
`zoo.formats.spotting`. `python -m zoo.formats.validate <task> <zip>` prints the problems.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import os
import pathlib
import re
import types
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from zoo.formats import splits
from zoo.formats.archive import Archive
from zoo.formats.game_tree import games_with
from zoo.formats.spotting import (
    BALL_FRAMERATE,
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    LABEL_FILE,
    PREDICTION_FILE,
    TEAMS,
    SpottingFormatError,
    _integer,
    _is_team,
)
from zoo.formats.validation import Problem


@dataclasses.dataclass(frozen=True)
class _SubmissionRules:
    classes: tuple[str, ...]
    framerate: int  # of the official evaluation vectors (for the overwrite check)
    halves: tuple[int, ...]  # allowed values of "half"
    team: bool  # 2025: "team" required, "half" not read by the evaluator
    label_file: str  # of the ground truth


SUBMISSION_TASKS: Mapping[str, _SubmissionRules] = types.MappingProxyType({
    "action_spotting": _SubmissionRules(CLASSES_V2, 2, (1, 2), False, LABEL_FILE),
    "ball_spotting_2023": _SubmissionRules(CLASSES_BALL_2023, BALL_FRAMERATE, (1, 2), False,
                                           BALL_LABEL_FILE),
    "ball_spotting": _SubmissionRules(CLASSES_BALL, BALL_FRAMERATE, (1,), False, BALL_LABEL_FILE),
    "team_ball_spotting": _SubmissionRules(CLASSES_BALL, BALL_FRAMERATE, (1,), True,
                                           BALL_LABEL_FILE),
})
_VECTOR_MS = 120 * 60 * 1000  # the official vectors cover 120 minutes
# gameTime as writers produce it: "H - M:SS", "H - MM:SS", "1 - 96:30", sn-teamspotting "1 - 5:7".
_LOOSE_GAME_TIME = re.compile(r"(\d) - (\d+):(\d{1,2})")


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _suggest(value: str, choices: Sequence[str]) -> str:
    """A "did you mean 'PASS'?" hint when `value` differs from one of `choices` only in case,
    spaces or punctuation ("Pass", "high_pass", "Throw in"); else ""."""
    matches = [c for c in choices if _fold(c) == _fold(value)]
    if not matches:
        return ""
    return f"; did you mean {matches[0]!r}? (names are case- and spelling-sensitive)"


def _groundtruth_games(
    groundtruth: Any, label_file: str, task: str
) -> tuple[list[str], list[Problem]]:
    """The games of the ground truth (labels folder or zip, or an official split name)."""
    if isinstance(groundtruth, str) and groundtruth in splits.SPLITS + ("val",) and not (
        os.path.exists(groundtruth)
    ):
        split = "valid" if groundtruth == "val" else groundtruth
        return list(splits.list_games(split, "spotting" if task == "action_spotting" else "ball")), []
    try:
        with Archive(groundtruth, error=SpottingFormatError) as labels:
            return games_with(labels, label_file), []
    except (FileNotFoundError, SpottingFormatError):
        problem = "ground truth is neither a folder, a zip nor a split name"
        return [], [Problem(str(groundtruth), problem)]


def validate_submission(
    path: str | os.PathLike,
    *,
    groundtruth: str | os.PathLike | None = None,
    task: str = "action_spotting",
) -> list[Problem]:
    """Every problem of a spotting submission, as the challenge server would meet it.

    Args:
      path: the submission zip (or a folder with the same layout): one
        `league/season/game/results_spotting.json` per game and nothing else.
      groundtruth: optional labels folder or zip (`league/season/game/Labels-v2.json` or
        `Labels-ball.json`), or an official split name ("test", "challenge", ...): then every game
        must be there, and no other.
      task: "action_spotting" (17 classes, halves 1 and 2), "ball_spotting_2023" (PASS, DRIVE,
        halves 1 and 2), "ball_spotting" (2024: 12 classes, one video per game, half 1) or
        "team_ball_spotting" (2025: as 2024, plus "team" "left"/"right"; "half" may be absent).

    Returns:
      `zoo.formats.validation.Problem`s, each located at its file (`zip:member`) and entry
      (`predictions[12].position`); empty when the submission is valid. Checked: the path is a
      zip or folder, the layout, missing and extra games and files, JSON, the "predictions" list,
      missing keys, unknown labels (with a hint for case or spelling: "Pass" for "PASS"), positions
      (integer milliseconds, >= 0, within the 120-minute vectors), halves, confidences (numbers,
      not NaN, >= 0: the evaluator drops negative ones), teams, gameTime against position, and
      predictions the evaluator overwrites (a later one in the same frame, class and half).
    """
    if task not in SUBMISSION_TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(SUBMISSION_TASKS)}")
    rules = SUBMISSION_TASKS[task]
    path = pathlib.Path(path)
    if not path.exists():
        return [Problem(str(path), "does not exist")]
    if not path.is_dir() and not zipfile.is_zipfile(path):
        return [Problem(str(path), "is not a zip file (the challenge server takes a .zip of "
                                   f"league/season/game/{PREDICTION_FILE})")]
    problems: list[Problem] = []
    try:
        submission = Archive(path, error=SpottingFormatError)
    except SpottingFormatError as e:
        return [Problem(str(path), e.problem)]
    with submission:
        members = submission.members()
        games = {}
        for name, count in collections.Counter(members).items():
            if count > 1:
                where = submission.where(name)
                problems.append(Problem(where, f"appears {count} times in the zip"))
        for member in dict.fromkeys(members):
            parts = member.split("/")
            where = submission.where(member)
            if "\\" in member:
                problems.append(Problem(where, "path uses backslashes; zip paths must use '/'"))
            elif parts[-1] != PREDICTION_FILE:
                problems.append(Problem(where, f"unexpected file; a submission holds only "
                                               f"league/season/game/{PREDICTION_FILE} files"))
            elif len(parts) != 4:
                hint = ""
                if len(parts) > 4:
                    hint = (f"; remove the leading folder {'/'.join(parts[:-4])}/ (zip the "
                            "contents of the predictions folder, not the folder)")
                problems.append(Problem(where, "wrong place: expected "
                                               f"league/season/game/{PREDICTION_FILE}{hint}"))
            else:
                games["/".join(parts[:3])] = member
        if not games:
            problems.append(Problem(str(path), f"no league/season/game/{PREDICTION_FILE} in it"))
        if groundtruth is not None:
            expected, gt_problems = _groundtruth_games(groundtruth, rules.label_file, task)
            problems += gt_problems
            if not gt_problems:
                for game in expected:
                    if game not in games:
                        problems.append(Problem(
                            submission.where(f"{game}/{PREDICTION_FILE}"),
                            "missing: the game is in the ground truth",
                        ))
                known = set(expected)
                for game, member in games.items():
                    if game not in known:
                        problems.append(Problem(
                            submission.where(member), "extra game: not in the ground truth"
                        ))
        for game, member in games.items():
            where = submission.where(member)
            try:
                document = json.loads(submission.read(member).decode("utf-8"))
            except UnicodeDecodeError as e:
                problems.append(Problem(where, f"not UTF-8 text: {e}"))
                continue
            except json.JSONDecodeError as e:
                problems.append(Problem(where, f"invalid JSON: {e}"))
                continue
            except (zipfile.BadZipFile, OSError) as e:
                problems.append(Problem(where, f"cannot be read: {e}"))
                continue
            problems += [Problem(f"{where}{entry}", message)
                         for entry, message in _document_problems(document, rules)]
    return problems


def _document_problems(document: Any, rules: _SubmissionRules) -> list[tuple[str, str]]:
    """(entry, message) of every problem of one decoded prediction file."""
    if not isinstance(document, Mapping):
        kind = type(document).__name__
        return [("", f'the top level must be an object with "predictions", got {kind}')]
    if "predictions" not in document:
        return [("", 'missing top-level key "predictions"')]
    entries = document["predictions"]
    if not isinstance(entries, list):
        return [(" predictions", f"must be a list, got {type(entries).__name__}")]
    problems = []
    cells = []  # (i, cell) of valid entries, for the overwrite check
    for i, entry in enumerate(entries):
        found, cell = _entry_problems(entry, rules)
        problems += [(f" predictions[{i}]{field}", message) for field, message in found]
        if cell is not None:
            cells.append((i, cell))
    # The official vectors keep the last prediction written to a cell: earlier ones are lost.
    last = {cell: i for i, cell in cells}
    lost = [i for i, cell in cells if last[cell] != i]
    if lost:
        unit = "(frame, class, team)" if rules.team else "(half, frame, class)"
        replacing = last[dict(cells)[lost[0]]]
        message = (
            f"{len(lost)} prediction(s) share their {unit} cell at {rules.framerate} fps with a "
            "later one, which replaces them in the official evaluator (apply NMS before "
            f"writing); the first is here, replaced by predictions[{replacing}]"
        )
        problems.append((f" predictions[{lost[0]}]", message))
    return problems


def _entry_problems(entry: Any, rules: _SubmissionRules) -> tuple[list[tuple[str, str]], Any]:
    """(field, message) problems of one prediction, and its evaluation cell when it is valid."""
    if not isinstance(entry, Mapping):
        return [("", f"must be an object, got {type(entry).__name__}")], None
    problems = []
    required = ("position", "label", "confidence") + (("team",) if rules.team else ("half",))
    for key in required:
        if key not in entry:
            problems.append(("", f'missing key "{key}"'))

    label = entry.get("label")
    if "label" in entry:
        if not isinstance(label, str):
            problems.append((".label", f"{label!r} is not text"))
        elif label not in rules.classes:
            hint = _suggest(label, rules.classes)
            valid = list(rules.classes)
            problems.append((".label", f"unknown label {label!r}{hint}; valid labels are {valid}"))

    position = None
    if "position" in entry:
        value = entry["position"]
        try:
            position = _integer(value)
        except ValueError:
            kind = "a float" if isinstance(value, float) else "not an integer"
            message = f'{value!r} is {kind}; write integer milliseconds into the half: "31500"'
            problems.append((".position", message))
        if position is not None and position < 0:
            problems.append((".position", f"negative position {position}"))
            position = None
        elif position is not None and position >= _VECTOR_MS:
            message = (
                f"{position} ms is past the 120-minute evaluation vector; the official evaluator "
                "moves it to its last frame (is it in milliseconds?)"
            )
            problems.append((".position", message))

    half = 1 if rules.team else None
    if "half" in entry:
        value = entry["half"]
        try:
            half = _integer(value)
        except ValueError:
            half = None
        if half not in rules.halves:
            expected = "1 (one video per game)" if rules.halves == (1,) else "1 or 2"
            problems.append((".half", f"{value!r} is not {expected}"))
            half = None

    confidence = None
    if "confidence" in entry:
        value = entry["confidence"]
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(value)
            confidence = float(value)
        except (ValueError, OverflowError):
            problems.append((".confidence", f"{value!r} is not a number"))
        if confidence is not None and math.isnan(confidence):
            problems.append((".confidence", "is NaN"))
            confidence = None
        elif confidence is not None and confidence < 0:
            message = f"{value!r} is negative: the official evaluator treats it as no prediction"
            problems.append((".confidence", message))

    team = None
    if rules.team and "team" in entry:
        team = entry["team"]
        if not _is_team(team):
            hint = _suggest(team, TEAMS) if isinstance(team, str) else ""
            problems.append((".team", f"{team!r} is not one of {list(TEAMS)}{hint}"))
            team = None

    if "gameTime" in entry:
        problems += _game_time_problems(entry["gameTime"], half, position)

    valid = not problems and None not in (position, half, confidence)
    cell = None
    if valid:
        frame = min(int(rules.framerate * (position / 1000)), 120 * 60 * rules.framerate - 1)
        cell = (frame, label, team) if rules.team else (half, frame, label)
    return problems, cell


def _game_time_problems(text: Any, half: int | None, position: int | None) -> list:
    """gameTime is not read by the evaluators, but one that disagrees with position or half
    points at a wrong unit or a wrong half."""
    match = _LOOSE_GAME_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(3)) >= 60:
        return [(".gameTime", f'{text!r} is not "H - M:SS"')]
    game_half, minutes, seconds = (int(g) for g in match.groups())
    problems = []
    if half is not None and game_half != half:
        problems.append((".gameTime", f"{text!r} is in half {game_half} but half is {half}"))
    # Writers floor or round the seconds: more than a second apart is a real disagreement.
    if position is not None and abs(60 * minutes + seconds - position / 1000) > 1:
        message = (
            f"{text!r} is {60 * minutes + seconds} s into the half but position {position} is "
            f"{position / 1000:g} s; the evaluator reads only position (milliseconds)"
        )
        problems.append((".gameTime", message))
    return problems
