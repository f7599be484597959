"""Official SoccerNet-v2 action-spotting files: reading, writing, and loud failures."""

import json
import pickle
import zipfile

import numpy as np
import pytest
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from zoo.formats import spotting, spotting_fast
from zoo.formats.spotting import Annotation, SpottingFormatError


def write_json(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_classes_are_the_official_dictionary_in_index_order():
    assert spotting.CLASSES_V2 == tuple(sorted(EVENT_DICTIONARY_V2, key=EVENT_DICTIONARY_V2.get))
    assert spotting.LABEL_FILE == "Labels-v2.json"
    assert spotting.PREDICTION_FILE == "results_spotting.json"


@pytest.mark.parametrize(
    "text, expected",
    [("1 - 05:24", (1, 324)), ("2 - 5:07", (2, 307)), ("2 - 47:59", (2, 2879)), ("1 - 00:00", (1, 0)),
     # Single-video ball games (2024, 2025) run past 100 minutes: three minute digits.
     ("1 - 96:30", (1, 5790)), ("1 - 101:05", (1, 6065))],
)
def test_parse_game_time(text, expected):
    assert spotting.parse_game_time(text, path="x.json") == expected


@pytest.mark.parametrize(
    "text", ["1 - 5:24x", "3 - 05:24", "", "1 - 05:60", "0 - 05:24", "1 - 1005:24", "1 -05:24", None]
)
def test_parse_game_time_rejects_malformed_text(text):
    with pytest.raises(SpottingFormatError, match=r"game/Labels-v2\.json.*malformed gameTime"):
        spotting.parse_game_time(text, path="game/Labels-v2.json")


def test_read_labels_fields(tmp_path):
    path = write_json(
        tmp_path / "Labels-v2.json",
        {
            "UrlLocal": "england_epl/2014-2015/game",
            "annotations": [
                {"gameTime": "1 - 05:24", "label": "Corner", "position": "324500",
                 "team": "home", "visibility": "visible"},
                {"gameTime": "2 - 00:31", "label": "Goal", "position": 31999,
                 "team": "away", "visibility": "not shown"},
                # No position: the frame comes from gameTime. Odd visibility counts as visible.
                {"gameTime": "2 - 7:03", "label": "Foul", "visibility": "shown?"},
            ],
        },
    )
    first, second, third = spotting.read_labels(path)
    assert first == Annotation(1, 324, 324500, "Corner", "visible", "home")
    assert second == Annotation(2, 31, 31999, "Goal", "not shown", "away")
    assert third == Annotation(2, 423, None, "Foul", "visible", "")
    assert (first.frame(2), second.frame(2), third.frame(2)) == (649, 63, 846)
    assert second.frame(25) == int(25 * (31999 / 1000)) and not second.visible


def test_write_labels_round_trip(tmp_path):
    annotations = [
        Annotation(1, 324, 324500, "Corner", "visible", "home"),
        Annotation(2, 2879, None, "Yellow->red card", "not shown", "not applicable"),
    ]
    path = tmp_path / "a" / "b" / "Labels-v2.json"
    spotting.write_labels(path, annotations, url_local="a/b")
    assert spotting.read_labels(path) == annotations
    assert json.loads(path.read_text())["annotations"][0]["gameTime"] == "1 - 05:24"


def test_unknown_label_is_an_error_naming_file_label_and_valid_labels(tmp_path):
    path = write_json(
        tmp_path / "Labels-v2.json",
        {"annotations": [{"gameTime": "1 - 00:10", "label": "Throw in", "position": "10000"}]},
    )
    with pytest.raises(SpottingFormatError) as error:
        spotting.read_labels(path)
    message = str(error.value)
    assert str(path) in message and "'Throw in'" in message and "Throw-in" in message


def test_unknown_label_warn_names_the_file_and_skips(tmp_path):
    path = write_json(
        tmp_path / "Labels-v2.json",
        {"annotations": [
            {"gameTime": "1 - 00:10", "label": "Dribble", "position": "10000"},
            {"gameTime": "1 - 00:11", "label": "Goal", "position": "11000"},
        ]},
    )
    with pytest.warns(UserWarning, match=str(path).replace("\\", "\\\\") + ".*Dribble"):
        annotations = spotting.read_labels(path, on_unknown_label="warn")
    assert [a.label for a in annotations] == ["Goal"]
    assert spotting.read_labels(path, classes=("Goal", "Dribble")) != []
    with pytest.raises(ValueError, match="on_unknown_label"):
        spotting.read_labels(path, on_unknown_label="skip")


@pytest.mark.parametrize(
    "document, problem",
    [
        ({"annotation": []}, 'missing top-level key "annotations"'),
        ([], 'missing top-level key "annotations"'),
        ({"annotations": {}}, "must be a list"),
        ({"annotations": [{"label": "Goal"}]}, 'no "gameTime"'),
        ({"annotations": [{"gameTime": "1 - 00:10"}]}, 'no "label"'),
        ({"annotations": ["Goal"]}, "not an object"),
        ({"annotations": [{"gameTime": "1 - 00:10", "label": ["Goal"]}]}, "is not text"),
        ({"annotations": [{"gameTime": "1 - 5:24x", "label": "Goal"}]}, "malformed gameTime"),
        ({"annotations": [{"gameTime": "3 - 05:24", "label": "Goal"}]}, "malformed gameTime"),
        ({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": "31500.5"}]},
         "not an integer"),
        ({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": 31500.5}]},
         "not an integer"),
        ({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": None}]},
         "not an integer"),
        ({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": "-20"}]},
         "negative position"),
    ],
)
def test_bad_label_files_name_the_file_and_the_problem(tmp_path, document, problem):
    path = write_json(tmp_path / "league" / "season" / "game" / "Labels-v2.json", document)
    with pytest.raises(SpottingFormatError) as error:
        spotting.read_labels(path)
    assert str(path) in str(error.value) and problem in str(error.value)
    assert error.value.path == path
    # The metrics' column-wise reader refuses the same files with the same error.
    with pytest.raises(SpottingFormatError) as same:
        spotting_fast.parse_label_arrays(document, path=path)
    assert str(same.value) == str(error.value)


@pytest.mark.parametrize("reader", [spotting.read_labels, spotting.read_predictions])
def test_bad_json_names_the_file(tmp_path, reader):
    path = tmp_path / "game" / "file.json"
    path.parent.mkdir()
    path.write_text('{"annotations": [')
    with pytest.raises(SpottingFormatError, match="invalid JSON") as error:
        reader(path)
    assert str(path) in str(error.value)


def test_write_predictions_matches_the_official_baseline_layout(tmp_path):
    path = tmp_path / "england_epl" / "2014-2015" / "game" / "results_spotting.json"
    spotting.write_predictions(
        path,
        url_local="england_epl/2014-2015/game",
        half=np.array([1, 2]),
        frame=np.array([63, 7]),
        class_index=np.array([8, 0]),
        confidence=np.array([0.0066, 1.5], dtype=np.float32),
    )
    document = json.loads(path.read_text())
    assert document["UrlLocal"] == "england_epl/2014-2015/game"
    assert document["predictions"][0] == {
        "gameTime": "1 - 0:31",
        "label": "Ball out of play",
        "position": "31500",
        "half": "1",
        "confidence": str(float(np.float32(0.0066))),
    }
    assert document["predictions"][1]["position"] == "3500"
    assert document["predictions"][1]["confidence"] == "1.5"


def test_predictions_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    n = 500
    half = rng.integers(1, 3, n)
    frame = rng.integers(0, 14400, n)
    class_index = rng.integers(0, 17, n)
    confidence = rng.random(n)
    confidence[:3] = [0.0, 1.0, 2.5]
    path = tmp_path / "results_spotting.json"
    for framerate in (1, 2, 25):
        spotting.write_predictions(
            path, url_local="g", half=half, frame=frame, class_index=class_index,
            confidence=confidence, framerate=framerate,
        )
        arrays = spotting.read_predictions(path)
        np.testing.assert_array_equal(arrays.half, half)
        np.testing.assert_array_equal(arrays.class_index, class_index)
        np.testing.assert_array_equal(arrays.confidence, confidence)  # str(float) is exact
        # Reading the position back as the official evaluator does gives the same frame.
        np.testing.assert_array_equal(
            (framerate * (arrays.position_ms / 1000)).astype(int), frame
        )
        assert arrays.position_ms.dtype == np.int64 and arrays.confidence.dtype == np.float64


def test_read_predictions_accepts_numbers_as_well_as_strings(tmp_path):
    path = write_json(
        tmp_path / "results_spotting.json",
        {"predictions": [{"label": "Goal", "position": 1500, "half": 2, "confidence": 1}]},
    )
    arrays = spotting.read_predictions(path)
    assert (arrays.half[0], arrays.position_ms[0], arrays.class_index[0], arrays.confidence[0]) == (
        2, 1500, 2, 1.0
    )


def test_write_predictions_validates_its_arrays(tmp_path):
    path = tmp_path / "results_spotting.json"
    good = dict(half=[1], frame=[3], class_index=[0], confidence=[0.5])
    with pytest.raises(ValueError, match="equal lengths"):
        spotting.write_predictions(path, url_local="g", **{**good, "frame": [3, 4]})
    with pytest.raises(ValueError, match="half"):
        spotting.write_predictions(path, url_local="g", **{**good, "half": [3]})
    with pytest.raises(ValueError, match="class_index"):
        spotting.write_predictions(path, url_local="g", **{**good, "class_index": [17]})
    with pytest.raises(ValueError, match="frames"):
        spotting.write_predictions(path, url_local="g", **{**good, "frame": [-1]})
    assert not path.exists()


def prediction(**overrides):
    entry = {"gameTime": "1 - 0:31", "label": "Goal", "position": "31500", "half": "1",
             "confidence": "0.5"}
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not ...}


@pytest.mark.parametrize(
    "document, problem",
    [
        ({"UrlLocal": "g"}, 'missing top-level key "predictions"'),
        ({"predictions": [prediction(position=...)]}, 'no "position"'),
        ({"predictions": [prediction(label=...)]}, 'no "label"'),
        ({"predictions": [prediction(half=...)]}, 'no "half"'),
        ({"predictions": [prediction(confidence=...)]}, 'no "confidence"'),
        ({"predictions": [prediction(), prediction(position="31500.5")]},
         "prediction 1: position '31500.5' is not an integer"),
        ({"predictions": [prediction(position=31500.5)]}, "is not an integer"),
        ({"predictions": [prediction(position="-1")]}, "negative position"),
        ({"predictions": [prediction(half="3")]}, "half '3' is not 1 or 2"),
        ({"predictions": [prediction(half="first")]}, "is not 1 or 2"),
        ({"predictions": [prediction(confidence="high")]}, "confidence 'high' is not a number"),
        ({"predictions": [prediction(confidence="nan")]}, "is not a number"),
        ({"predictions": [prediction(confidence=None)]}, "is not a number"),
        ({"predictions": [prediction(label="Throw in")]}, "unknown label(s) 'Throw in'"),
        ({"predictions": ["Goal"]}, "not an object"),
    ],
)
def test_bad_prediction_files_name_the_file_and_the_problem(tmp_path, document, problem):
    path = write_json(tmp_path / "league" / "season" / "game" / "results_spotting.json", document)
    with pytest.raises(SpottingFormatError) as error:
        spotting.read_predictions(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_unknown_prediction_labels_can_be_skipped(tmp_path):
    path = write_json(
        tmp_path / "results_spotting.json",
        {"predictions": [prediction(label="Dribble"), prediction(label="Corner", half=2)]},
    )
    with pytest.warns(UserWarning, match="Dribble"):
        arrays = spotting.read_predictions(path, on_unknown_label="warn")
    assert arrays.class_index.tolist() == [13] and arrays.half.tolist() == [2]
    assert len(spotting.read_predictions(path, on_unknown_label="ignore").half) == 1


def test_zip_predictions_has_the_challenge_layout(tmp_path):
    games = ["england_epl/2014-2015/2015-02-21 - 18-00 Chelsea 1 - 1 Burnley",
             "spain_laliga/2016-2017/2017-05-21 - 21-00 Malaga 0 - 2 Real Madrid"]
    for game in games:
        spotting.write_predictions(
            tmp_path / "out" / game / "results_spotting.json", url_local=game,
            half=[1], frame=[10], class_index=[3], confidence=[0.9],
        )
    zip_path = spotting.zip_predictions(tmp_path / "out", tmp_path / "submission.zip")
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(f"{g}/results_spotting.json" for g in games)
        document = json.loads(archive.read(f"{games[0]}/results_spotting.json"))
    assert document["UrlLocal"] == games[0]


def test_zip_predictions_refuses_a_wrong_layout(tmp_path):
    with pytest.raises(SpottingFormatError, match="no results_spotting.json"):
        spotting.zip_predictions(tmp_path, tmp_path / "submission.zip")
    spotting.write_predictions(
        tmp_path / "season" / "game" / "results_spotting.json", url_local="g",
        half=[1], frame=[10], class_index=[3], confidence=[0.9],
    )
    with pytest.raises(SpottingFormatError, match="<league>/<season>/<game>"):
        spotting.zip_predictions(tmp_path, tmp_path / "submission.zip")


def test_error_is_a_picklable_value_error():
    error = SpottingFormatError("a/Labels-v2.json", "bad")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "a/Labels-v2.json: bad" and copy.path == "a/Labels-v2.json"


# ------------------------------------------------------------------------------------------------
# Ball action spotting (2023, 2024) and team ball action spotting (2025)
# ------------------------------------------------------------------------------------------------


def test_ball_classes_are_the_official_lists():
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_BALL

    assert spotting.CLASSES_BALL_2023 == tuple(sorted(EVENT_DICTIONARY_BALL, key=EVENT_DICTIONARY_BALL.get))
    assert len(spotting.CLASSES_BALL) == 12 and spotting.CLASSES_BALL[:2] == ("PASS", "DRIVE")
    assert spotting.TEAMS == ("left", "right")


def test_team_is_read_only_when_asked(tmp_path):
    path = write_json(tmp_path / "results_spotting.json", {"predictions": [
        {"label": "PASS", "position": "1000", "half": "1", "confidence": "0.5", "team": "right"},
        {"label": "DRIVE", "position": 2000, "confidence": 0.25, "team": "left"},  # no half
    ]})
    arrays = spotting.read_predictions(path, classes=spotting.CLASSES_BALL, team=True)
    assert arrays.team.tolist() == [1, 0] and arrays.half.tolist() == [1, 1]
    assert arrays.team.dtype == np.int64
    with pytest.raises(SpottingFormatError, match='prediction 1 has no "half"'):
        spotting.read_predictions(path, classes=spotting.CLASSES_BALL)
    document = json.loads(path.read_text())
    document["predictions"][1]["half"] = 1
    write_json(path, document)
    assert spotting.read_predictions(path, classes=spotting.CLASSES_BALL).team.tolist() == [-1, -1]


@pytest.mark.parametrize(
    "team, problem",
    [(..., 'prediction 1 has no "team"'), ("Right", "prediction 1: team 'Right' is not one of"),
     ("home", "team 'home'"), (None, "team None"), (["left"], "team ['left']")],
)
def test_missing_or_invalid_team_names_file_and_entry(tmp_path, team, problem):
    bad = {"label": "PASS", "position": "1000", "half": "1", "confidence": "0.5"}
    if team is not ...:
        bad["team"] = team
    path = write_json(tmp_path / "g" / "results_spotting.json", {"predictions": [
        {**bad, "team": "left"}, bad,
    ]})
    with pytest.raises(SpottingFormatError) as error:
        spotting.read_predictions(path, classes=spotting.CLASSES_BALL, team=True)
    assert str(path) in str(error.value) and problem in str(error.value)


def test_team_labels(tmp_path):
    annotation = {"gameTime": "1 - 96:30", "label": "PASS", "position": "5790000",
                  "team": "left", "visibility": "visible"}
    path = write_json(tmp_path / "Labels-ball.json", {"annotations": [
        annotation, {**annotation, "team": "not applicable"},
    ]})
    first, _ = spotting.read_labels(path, classes=spotting.CLASSES_BALL)
    assert first.team == "left" and first.game_time_s == 5790 and first.frame(25) == 144750
    with pytest.raises(SpottingFormatError, match="annotation 1: team 'not applicable'"):
        spotting.read_labels(path, classes=spotting.CLASSES_BALL, team=True)


def test_game_time_past_100_minutes_needs_a_position(tmp_path):
    """gameTime "1 - 101:05": the official slices the minutes as gameTime[-5:-3] ("01"), which is
    harmless with a position (the frame comes from it) and wrong without one."""
    annotation = {"gameTime": "1 - 101:05", "label": "GOAL", "position": "6065000",
                  "visibility": "visible"}
    path = write_json(tmp_path / "Labels-ball.json", {"annotations": [annotation]})
    [read] = spotting.read_labels(path, classes=spotting.CLASSES_BALL)
    assert read.frame(25) == 151625
    del annotation["position"]
    write_json(path, {"annotations": [annotation]})
    with pytest.raises(SpottingFormatError, match="annotation 0: gameTime '1 - 101:05' has 100 "):
        spotting.read_labels(path, classes=spotting.CLASSES_BALL)
    with pytest.raises(ValueError, match="cannot write gameTime"):
        spotting.write_labels(tmp_path / "out.json", [Annotation(1, 6065, None, "GOAL", "visible", "")])
    spotting.write_labels(tmp_path / "out.json", [Annotation(1, 6065, 6065000, "GOAL", "visible", "")])
    assert json.loads((tmp_path / "out.json").read_text())["annotations"][0]["gameTime"] == "1 - 101:05"


def test_write_predictions_ball_forms(tmp_path):
    """2023: two halves; 2024: one video, half 1, minutes past 60; 2025: plus "team"."""
    from SoccerNet.Evaluation import ActionSpotting

    frames = np.array([0, 201, 144_750, 151_625])
    path = tmp_path / "results_spotting.json"
    spotting.write_predictions(
        path, url_local="g", half=1, frame=frames, class_index=[0, 11, 3, 7],
        confidence=[0.5, 0.25, 1.0, 0.125], framerate=25, classes=spotting.CLASSES_BALL,
        team=[0, 1, 1, 0],
    )
    entries = json.loads(path.read_text())["predictions"]
    assert entries[2] == {"gameTime": "1 - 96:30", "label": "HIGH PASS", "position": "5790000",
                          "half": "1", "confidence": "1.0", "team": "right"}
    assert entries[3]["gameTime"] == "1 - 101:05" and entries[1]["position"] == "8041"  # nudged
    arrays = spotting.read_predictions(path, classes=spotting.CLASSES_BALL, team=True)
    assert arrays.team.tolist() == [0, 1, 1, 0]
    # The official reader puts every prediction back on its frame.
    dictionary = {c: i for i, c in enumerate(spotting.CLASSES_BALL)}
    half_1, half_2 = ActionSpotting.predictions2vector(
        json.loads(path.read_text()), num_classes=12, framerate=25, EVENT_DICTIONARY=dictionary
    )
    assert sorted(zip(*np.nonzero(half_1 >= 0))) == [(0, 0), (201, 11), (144_750, 3), (151_625, 7)]
    assert (half_2 < 0).all()

    spotting.write_predictions(path, url_local="g", half=[1, 2], frame=[25, 50], class_index=[1, 0],
                               confidence=[0.5, 0.5], framerate=25, classes=spotting.CLASSES_BALL_2023)
    entries = json.loads(path.read_text())["predictions"]
    assert [(e["half"], e["label"], e["gameTime"]) for e in entries] == [
        ("1", "DRIVE", "1 - 0:01"), ("2", "PASS", "2 - 0:02")]
    assert all("team" not in e for e in entries)

    with pytest.raises(ValueError, match="team must be 0 \\(left\\) or 1 \\(right\\)"):
        spotting.write_predictions(path, url_local="g", half=1, frame=[1], class_index=[0],
                                   confidence=[0.5], team=[-1], classes=spotting.CLASSES_BALL)
    with pytest.raises(ValueError, match="equal lengths.*team 2"):
        spotting.write_predictions(path, url_local="g", half=1, frame=[1], class_index=[0],
                                   confidence=[0.5], team=[0, 1], classes=spotting.CLASSES_BALL)


def test_label_arrays_equal_the_annotations():
    """parse_label_arrays (the metrics' fast reader) gives what parse_labels gives, including
    where it has to fall back on it (an unknown label with a bad position is skipped, not read)."""
    rng = np.random.default_rng(3)
    entries = []
    for i in range(300):
        half, ms = int(rng.integers(1, 3)), int(rng.integers(0, 6_500_000))
        entry = {"gameTime": f"{half} - {ms // 60000:02d}:{ms // 1000 % 60:02d}",
                 "label": str(rng.choice(["PASS", "DRIVE", "GOAL", "Dribble"])),
                 "team": str(rng.choice(["left", "right"])),
                 "visibility": str(rng.choice(["visible", "not shown", "shown?"]))}
        if ms < 5_900_000 and rng.random() < 0.2:
            pass  # no position: the frame comes from gameTime
        else:
            entry["position"] = str(ms) if rng.random() < 0.5 else ms
        entries.append(entry)
    classes = ("PASS", "DRIVE", "GOAL")
    document = {"annotations": entries}
    for team in (False, True):
        arrays = spotting_fast.parse_label_arrays(document, path="x", classes=classes,
                                             on_unknown_label="ignore", team=team)
        annotations = spotting.parse_labels(document, path="x", classes=classes,
                                            on_unknown_label="ignore", team=team)
        assert arrays.half.tolist() == [a.half for a in annotations]
        assert arrays.class_index.tolist() == [classes.index(a.label) for a in annotations]
        assert arrays.visible.tolist() == [a.visible for a in annotations]
        assert arrays.team.tolist() == [("left", "right").index(a.team) if team else -1
                                        for a in annotations]
        for framerate in (1, 2, 25):
            assert arrays.frames(framerate).tolist() == [a.frame(framerate) for a in annotations]
    entries.append({"gameTime": "1 - 00:10", "label": "Dribble", "position": "1.5"})
    arrays = spotting_fast.parse_label_arrays(document, path="x", classes=classes, on_unknown_label="ignore")
    assert len(arrays.half) == len(annotations)


def test_position_frames_follow_the_official_float_operations():
    positions = np.arange(0, 200_000)
    official = [int(25 * (int(p) / 1000)) for p in positions]
    np.testing.assert_array_equal(spotting.position_frames(positions, 25), official)
    assert spotting.position_frames([8040], 25)[0] == 200 != int(25 * 8040 / 1000)
    np.testing.assert_array_equal(spotting.position_frames(spotting.positions_ms(positions, 25), 25),
                                  positions)
