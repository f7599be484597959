"""Spotting submission validators: every malformed case is reported, with its file and entry."""

import json
import zipfile

import numpy as np
import pytest

from zoo.formats import spotting, spotting_submission
from zoo.formats.splits import list_games
from zoo.formats.spotting import PREDICTION_FILE
from zoo.formats.spotting_submission import validate_submission
from zoo.formats.validation import Problem
from zoo.metrics import team_spotting as metrics

GAME = "england_efl/2019-2020/2019-10-01 - Reading - Fulham"
MEMBER = f"{GAME}/{PREDICTION_FILE}"


def make_zip(path, files):
    """A zip of {member: text or document}."""
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content if isinstance(content, (str, bytes)) else json.dumps(content))
    return path


def entry(task="action_spotting", **overrides):
    """A valid prediction of each task, with fields replaced (or removed with ...)."""
    base = {
        "action_spotting": {"gameTime": "1 - 0:31", "label": "Goal", "position": "31500",
                            "half": "1", "confidence": "0.5"},
        "ball_spotting_2023": {"gameTime": "2 - 0:31", "label": "PASS", "position": "31500",
                               "half": "2", "confidence": "0.5"},
        "ball_spotting": {"gameTime": "1 - 96:30", "label": "HIGH PASS", "position": "5790040",
                          "half": "1", "confidence": "0.5"},
        "team_ball_spotting": {"gameTime": "1 - 96:30", "label": "HIGH PASS",
                               "position": 5790040, "half": 1, "confidence": 0.5,
                               "team": "left"},
    }[task]
    merged = {**base, **overrides}
    return {k: v for k, v in merged.items() if v is not ...}


def problems_of(tmp_path, predictions, task="action_spotting", document=None):
    path = make_zip(tmp_path / "submission.zip",
                    {MEMBER: document if document is not None else {"predictions": predictions}})
    return validate_submission(path, task=task)


@pytest.mark.parametrize("task", list(spotting_submission.SUBMISSION_TASKS))
def test_a_valid_submission_has_no_problem(tmp_path, task):
    assert problems_of(tmp_path, [entry(task)], task) == []


@pytest.mark.parametrize(
    "task, overrides, field, problem",
    [
        ("action_spotting", {"position": ...}, "", 'missing key "position"'),
        ("action_spotting", {"label": ...}, "", 'missing key "label"'),
        ("action_spotting", {"half": ...}, "", 'missing key "half"'),
        ("action_spotting", {"confidence": ...}, "", 'missing key "confidence"'),
        ("team_ball_spotting", {"team": ...}, "", 'missing key "team"'),
        ("action_spotting", {"label": "Throw in"}, ".label",
         "unknown label 'Throw in'; did you mean 'Throw-in'?"),
        ("action_spotting", {"label": "goal"}, ".label", "did you mean 'Goal'?"),
        ("ball_spotting", {"label": "Pass"}, ".label", "unknown label 'Pass'; did you mean 'PASS'?"),
        ("ball_spotting", {"label": "high_pass"}, ".label", "did you mean 'HIGH PASS'?"),
        ("ball_spotting_2023", {"label": "HEADER"}, ".label", "valid labels are ['PASS', 'DRIVE']"),
        ("ball_spotting", {"label": 3}, ".label", "3 is not text"),
        ("action_spotting", {"position": "31500.5"}, ".position", "'31500.5' is not an integer"),
        ("action_spotting", {"position": 31500.0}, ".position", "31500.0 is a float"),
        ("action_spotting", {"position": None}, ".position", "None is not an integer"),
        ("action_spotting", {"position": "-500", "gameTime": ...}, ".position",
         "negative position -500"),
        ("ball_spotting", {"position": "7300000", "gameTime": ...}, ".position",
         "past the 120-minute evaluation vector"),
        ("action_spotting", {"half": "3"}, ".half", "'3' is not 1 or 2"),
        ("action_spotting", {"half": "first"}, ".half", "is not 1 or 2"),
        ("ball_spotting", {"half": "2", "gameTime": ...}, ".half", "'2' is not 1 (one video per game)"),
        ("team_ball_spotting", {"half": 2, "gameTime": ...}, ".half", "2 is not 1"),
        ("action_spotting", {"confidence": "high"}, ".confidence", "'high' is not a number"),
        ("action_spotting", {"confidence": "nan"}, ".confidence", "is NaN"),
        ("action_spotting", {"confidence": float("nan")}, ".confidence", "is NaN"),
        ("action_spotting", {"confidence": True}, ".confidence", "True is not a number"),
        ("action_spotting", {"confidence": None}, ".confidence", "None is not a number"),
        ("action_spotting", {"confidence": "-0.3"}, ".confidence",
         "negative: the official evaluator treats it as no prediction"),
        ("team_ball_spotting", {"team": "Left"}, ".team",
         "'Left' is not one of ['left', 'right']; did you mean 'left'?"),
        ("team_ball_spotting", {"team": "home"}, ".team", "'home' is not one of ['left', 'right']"),
        ("team_ball_spotting", {"team": None}, ".team", "None is not one of"),
        # position in frames (25 fps) instead of milliseconds: gameTime says 96:30.
        ("ball_spotting", {"position": "144751"}, ".gameTime",
         "'1 - 96:30' is 5790 s into the half but position 144751 is 144.751 s"),
        ("action_spotting", {"gameTime": "2 - 0:31"}, ".gameTime", "is in half 2 but half is 1"),
        ("action_spotting", {"gameTime": "0:31"}, ".gameTime", "'0:31' is not \"H - M:SS\""),
        ("action_spotting", {"gameTime": "1 - 0:75"}, ".gameTime", "is not \"H - M:SS\""),
        ("action_spotting", {"gameTime": 31}, ".gameTime", "31 is not"),
    ],
)
def test_each_bad_field_is_reported_at_its_entry(tmp_path, task, overrides, field, problem):
    problems = problems_of(tmp_path, [entry(task), entry(task, **overrides)], task)
    assert len(problems) == 1, problems
    assert problems[0].location == f"{tmp_path / 'submission.zip'}:{MEMBER} predictions[1]{field}"
    assert problem in problems[0].message


def test_the_tolerated_forms_are_not_problems(tmp_path):
    ok = [
        entry(position=31500, half=1, confidence=1),  # numbers instead of strings
        entry(confidence="1.7", label="Foul"),  # above 1: counts at every threshold
        entry(gameTime=..., position="33000"),  # gameTime is optional (never read)
        entry(gameTime="1 - 0:32", position="31999", label="Offside"),  # rounded, not floored
        entry(label="Corner", team="not applicable"),  # team is ignored outside 2025
    ]
    assert problems_of(tmp_path, ok) == []
    team = [entry("team_ball_spotting", half=..., gameTime="1 - 96:30"),  # half not read in 2025
            entry("team_ball_spotting", gameTime="1 - 96:31", position="5791000", team="right")]
    assert problems_of(tmp_path, team, "team_ball_spotting") == []


def test_every_problem_is_collected(tmp_path):
    predictions = [
        entry(label="goal", position="x", confidence="nan"),  # three problems in one entry
        "Goal",  # not an object
        entry(),
        entry(half="0", position="-1", gameTime=...),
    ]
    problems = problems_of(tmp_path, predictions)
    where = [p.location.rsplit(" ", 1)[1] for p in problems]
    assert where == ["predictions[0].label", "predictions[0].position", "predictions[0].confidence",
                     "predictions[1]", "predictions[3].position", "predictions[3].half"]
    assert all(isinstance(p, Problem) for p in problems)
    assert str(problems[3]).endswith("predictions[1]: must be an object, got str")


def test_overwritten_predictions_are_reported_once_per_file(tmp_path):
    predictions = [
        entry(position="31500", confidence="0.9"),
        entry(position="31900", confidence="0.2"),  # same 0.5 s frame at 2 fps: replaces the first
        entry(position="31900", half="2", gameTime="2 - 0:31"),  # other half: fine
        entry(position="31900", label="Corner"),  # other class: fine
        entry(position="32000"),  # next frame: fine
        entry(position="40000", gameTime=...), entry(position="40100", gameTime=...),
        entry(position="40200", gameTime=...),
    ]
    problems = problems_of(tmp_path, predictions)
    assert len(problems) == 1
    assert problems[0].location.endswith(" predictions[0]")
    assert "3 prediction(s) share their (half, frame, class) cell at 2 fps" in problems[0].message
    assert "replaced by predictions[1]" in problems[0].message
    # At 25 fps the same positions are distinct frames; left and right are distinct columns.
    team = [entry("team_ball_spotting", position=1000, gameTime=...),
            entry("team_ball_spotting", position=1020, gameTime=..., team="right"),
            entry("team_ball_spotting", position=1100, gameTime=...)]
    assert problems_of(tmp_path, team, "team_ball_spotting") == []
    team.append(entry("team_ball_spotting", position=1039, gameTime=..., team="right"))
    [problem] = problems_of(tmp_path, team, "team_ball_spotting")
    assert "1 prediction(s) share their (frame, class, team) cell at 25 fps" in problem.message


@pytest.mark.parametrize(
    "document, problem",
    [
        ("{not json", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        ([], 'the top level must be an object with "predictions", got list'),
        ({"UrlLocal": "g"}, 'missing top-level key "predictions"'),
        ({"predictions": {}}, "must be a list, got dict"),
    ],
)
def test_bad_documents(tmp_path, document, problem):
    [found] = problems_of(tmp_path, None, document=document)
    assert found.location.startswith(f"{tmp_path / 'submission.zip'}:{MEMBER}")
    assert problem in found.message


def test_not_a_zip_and_missing_path(tmp_path):
    text = tmp_path / "submission.json"
    text.write_text("{}")
    [problem] = validate_submission(text)
    assert problem.location == str(text) and "is not a zip file" in problem.message
    [problem] = validate_submission(tmp_path / "nowhere.zip")
    assert "does not exist" in problem.message
    with pytest.raises(ValueError, match="unknown task 'spotting'"):
        validate_submission(text, task="spotting")


def test_zip_layout_problems(tmp_path):
    good = {"predictions": [entry()]}
    path = make_zip(tmp_path / "submission.zip", {
        f"preds/{MEMBER}": good,  # wrapped in a folder
        f"england_efl/2019-2020/{PREDICTION_FILE}": good,  # one level short
        "england_efl\\2019-2020\\game\\results_spotting.json": good,  # Windows separators
        f"{GAME}/results.json": good,  # wrong file name: an extra file
        "README.txt": "hello",
    })
    problems = {p.location.removeprefix(f"{path}:"): p.message for p in validate_submission(path)}
    assert "remove the leading folder preds/" in problems[f"preds/{MEMBER}"]
    assert "expected league/season/game/results_spotting.json" in problems[
        f"england_efl/2019-2020/{PREDICTION_FILE}"]
    assert "backslashes" in problems["england_efl\\2019-2020\\game\\results_spotting.json"]
    assert "unexpected file" in problems[f"{GAME}/results.json"]
    assert "unexpected file" in problems["README.txt"]
    assert "no league/season/game/results_spotting.json" in problems[str(path)]
    assert len(problems) == 6


def test_duplicate_zip_members(tmp_path):
    path = tmp_path / "submission.zip"
    document = json.dumps({"predictions": [entry()]})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MEMBER, document)
        with pytest.warns(UserWarning, match="Duplicate"):
            archive.writestr(MEMBER, document)
    [problem] = validate_submission(path)
    assert problem.location.endswith(MEMBER) and "appears 2 times" in problem.message


def write_submission(root, games, task="ball_spotting"):
    for game in games:
        spotting.write_predictions(
            root / game / PREDICTION_FILE, url_local=game, half=1, frame=[25, 2_500],
            class_index=[0, 3], confidence=[0.9, 0.4], framerate=25,
            classes=spotting.CLASSES_BALL,
            team=[0, 1] if task == "team_ball_spotting" else None,
        )
    return spotting.zip_predictions(root, root.parent / f"{root.name}.zip")


def test_missing_and_extra_games_against_the_ground_truth(tmp_path):
    test_games = list_games("test", "ball")
    path = write_submission(tmp_path / "predictions", [test_games[0], "england_efl/2019-2020/other"])
    for game in test_games:  # a labels folder
        (tmp_path / "labels" / game).mkdir(parents=True)
        (tmp_path / "labels" / game / "Labels-ball.json").write_text('{"annotations": []}')
    labels_zip = make_zip(tmp_path / "labels.zip", {
        f"{g}/Labels-ball.json": {"annotations": []} for g in test_games})
    for groundtruth in (tmp_path / "labels", labels_zip, "test"):
        problems = validate_submission(path, groundtruth=groundtruth, task="ball_spotting")
        assert [(p.location.split(":", 1)[1], p.message) for p in problems] == [
            (f"{test_games[1]}/{PREDICTION_FILE}", "missing: the game is in the ground truth"),
            (f"england_efl/2019-2020/other/{PREDICTION_FILE}", "extra game: not in the ground truth"),
        ]
    [problem] = validate_submission(path, groundtruth=tmp_path / "nowhere", task="ball_spotting")
    assert "neither a folder, a zip nor a split name" in problem.message
    # The action-spotting split lists are other games.
    messages = [p.message for p in validate_submission(path, groundtruth="test")]
    assert messages.count("missing: the game is in the ground truth") == 100
    assert messages.count("extra game: not in the ground truth") == 2


@pytest.mark.parametrize("task", ["ball_spotting", "team_ball_spotting"])
def test_what_the_writers_produce_is_valid_and_evaluates(tmp_path, task):
    games = list_games("challenge", "ball")
    path = write_submission(tmp_path / "predictions", games, task)
    assert validate_submission(path, groundtruth="challenge", task=task) == []
    assert validate_submission(tmp_path / "predictions", groundtruth="challenge", task=task) == []
    if task == "team_ball_spotting":
        # Labels where the predictions are: the written file scores 1 through the 2025 metric.
        for game in games:
            (tmp_path / "labels" / game).mkdir(parents=True)
            (tmp_path / "labels" / game / "Labels-ball.json").write_text(json.dumps({"annotations": [
                {"gameTime": "1 - 00:01", "label": "PASS", "position": "1000", "team": "left",
                 "visibility": "visible"},
                {"gameTime": "1 - 01:40", "label": "HIGH PASS", "position": "100000",
                 "team": "right", "visibility": "visible"},
            ]}))
        with pytest.warns(RuntimeWarning, match="DRIVE"):  # no DRIVE, no HEADER: NaN
            result = metrics.evaluate_team(tmp_path / "labels", path,
                                           classes=spotting.CLASSES_BALL[:4])
        np.testing.assert_array_equal(result["mAP_per_class"], [1.0, np.nan, np.nan, 1.0])
