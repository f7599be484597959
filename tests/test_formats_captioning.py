"""Dense-captioning files: reading as the official evaluator reads, writing, zipping, validating."""

import json
import types
import zipfile

import pytest
from SoccerNet.Evaluation.DenseVideoCaptioning import DVCEvaluator
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_CAPTION_V2

from zoo.formats import captioning as formats
from zoo.formats import validate
from zoo.formats.captioning import CaptioningFormatError

GAME = "england_epl/2015-2016/2015-08-29 - 17-00 Manchester City 2 - 0 Watford"
OTHER = "spain_laliga/2016-2017/2017-01-21 - 18-30 Real Madrid 2 - 1 Malaga"


def write_json(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def label(game_time, text, label="comments", **extra):
    return {"gameTime": game_time, "label": label, "anonymized": text, **extra}


def prediction(game_time, text, **extra):
    half = game_time[0]
    minutes, seconds = game_time.split(" ")[-1].split(":")
    position = str(1000 * (60 * int(minutes) + int(seconds)) + 500)
    entry = {
        "gameTime": game_time,
        "label": "comments",
        "position": position,
        "half": half,
        "confidence": "0.25",
        "comment": text,
    }
    entry.update(extra)
    return entry


def official_halves(path, predictions: bool, window_size=30):
    """What the official evaluator's reader makes of a file: per half, (start, end, text)."""
    reader = types.SimpleNamespace(dict_event=EVENT_DICTIONARY_CAPTION_V2, window_size=window_size)
    return DVCEvaluator.load_file(reader, str(path.parent), path.name, not predictions)


def ours_as_official(entries, window_size=30):
    halves = ([], [])
    for e in entries:
        text = e.anonymized if isinstance(e, formats.Annotation) else e.comment
        start = e.seconds - window_size // 2
        halves[e.half - 1].append(((start, start + window_size), text))
    return tuple(sorted(h, key=lambda x: x[0][0]) for h in halves)


def test_labels_and_predictions_read_as_the_official_reads_them(tmp_path):
    labels = write_json(
        tmp_path / "Labels-caption.json",
        {
            "annotations": [
                label(
                    "2 - 44:59",
                    "late [PLAYER] ([TEAM])",
                    label="y-card",
                    description="d",
                    identified="i",
                ),
                label("1 - 00:31", "first", label=""),
                label("1 - 00:31", "same second, kept in file order", label="corner"),
                label("1 - 105:00", "extra long half", label="whistle"),
                label("3 - 01:00", "extra time: skipped", label="comments"),
                label("1 - 00:10", "unknown label: skipped", label="goal-kick"),
            ],
            "lineup": {},
        },
    )
    with pytest.raises(CaptioningFormatError, match=r"half 3.*goal-kick"):
        formats.read_labels(labels)
    with pytest.warns(UserWarning, match="skipping"):
        ours = formats.read_labels(labels, on_unscored="warn")
    assert ours == formats.read_labels(labels, on_unscored="ignore")
    assert [(a.half, a.seconds, a.label) for a in ours] == [
        (2, 2699, "y-card"),
        (1, 31, ""),
        (1, 31, "corner"),
        (1, 6300, "whistle"),
    ]
    assert (ours[0].description, ours[0].identified, ours[1].description) == ("d", "i", None)
    assert ours_as_official(ours) == official_halves(labels, predictions=False)
    with pytest.raises(CaptioningFormatError, match="annotation 1"):
        formats.read_labels(
            labels, version=1, on_unscored="error"
        )  # "" is a label of version 2 only

    predictions = write_json(
        tmp_path / "results_dense_captioning.json",
        {
            "predictions": [
                prediction("1 - 0:31", "goal"),
                prediction("2 - 01:05", "", confidence=1),
                {"gameTime": "1 - 00:02", "label": "corner", "comment": "no confidence"},
            ]
        },
    )
    read = formats.read_predictions(predictions)
    assert [(p.half, p.seconds, p.comment, p.confidence) for p in read] == [
        (1, 31, "goal", 0.25),
        (2, 65, "", 1.0),
        (1, 2, "no confidence", None),
    ]
    for window_size in (30, 5):
        assert ours_as_official(read, window_size) == official_halves(
            predictions, True, window_size
        )


@pytest.mark.parametrize(
    "document, problem",
    [
        ([], 'missing top-level key "annotations"'),
        ({"annotations": {}}, "must be a list"),
        ({"annotations": [3]}, "annotation 0 is not an object"),
        (
            {"annotations": [{"label": "comments", "anonymized": "x"}]},
            'annotation 0 has no "gameTime"',
        ),
        (
            {"annotations": [label("1 - 0:31", "x"), label("1 - 0:3", "x")]},
            "annotation 1: malformed gameTime",
        ),
        ({"annotations": [label("0 - 00:31", "x")]}, "half 0"),
        ({"annotations": [label("12 - 00:31", "x")]}, "malformed gameTime"),
        ({"annotations": [label("1 - 00:31", 5)]}, '"anonymized" 5 is not a string'),
        ({"annotations": [{"gameTime": "1 - 00:31", "label": "comments"}]}, 'has no "anonymized"'),
        ({"annotations": [label("1 - 00:31", "x", label=["comments"])]}, "is not text"),
    ],
)
def test_bad_label_files_name_the_file_and_entry(tmp_path, document, problem):
    path = write_json(tmp_path / "Labels-caption.json", document)
    with pytest.raises(CaptioningFormatError, match=problem) as error:
        formats.read_labels(path)
    assert str(error.value).startswith(str(path)) and error.value.path == path


def test_bad_prediction_files(tmp_path):
    path = tmp_path / "results_dense_captioning.json"
    path.write_text("{not json")
    with pytest.raises(CaptioningFormatError, match="invalid JSON"):
        formats.read_predictions(path)
    for entry, problem in (
        ({"gameTime": "1 - 0:31", "label": "comments"}, 'has no "comment"'),
        (prediction("1 - 0:31", None), "is not a string"),
        (prediction("1 - 0:31", "x", confidence="high"), "confidence 'high' is not a number"),
        (prediction("1 - 0:31", "x", confidence="nan"), "is not a number"),
    ):
        write_json(path, {"predictions": [prediction("1 - 0:01", "ok"), entry]})
        with pytest.raises(CaptioningFormatError, match=f"prediction 1.*{problem}|{problem}"):
            formats.read_predictions(path)


def test_write_read_zip_round_trip(tmp_path):
    path = tmp_path / "out" / GAME / formats.PREDICTION_FILE
    formats.write_predictions(
        path,
        url_local=GAME,
        half=[1, 2, 1],
        position_ms=[31500, 65999, 3_600_000],
        comments=["[PLAYER] scores!", "", "late"],
        confidence=[0.5, 0.25, 1.0],
    )
    document = json.loads(path.read_text())
    assert document["UrlLocal"] == GAME
    assert document["predictions"][0] == {
        "gameTime": "1 - 00:31",
        "label": "comments",
        "position": "31500",
        "half": "1",
        "confidence": "0.5",
        "comment": "[PLAYER] scores!",
    }
    read = formats.read_predictions(path)
    assert [(p.half, p.seconds, p.comment) for p in read] == [
        (1, 31, "[PLAYER] scores!"),
        (2, 65, ""),
        (1, 3600, "late"),
    ]
    assert [p.message for p in formats.validate_submission(path)] == ["empty caption"]
    with pytest.raises(ValueError, match="half"):
        formats.write_predictions(
            path, url_local=GAME, half=[3], position_ms=[0], comments=["x"], confidence=[0.1]
        )
    archive = formats.zip_predictions(tmp_path / "out", tmp_path / "submission.zip")
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() == [f"{GAME}/{formats.PREDICTION_FILE}"]
    assert [p.location.split(":")[-1] for p in formats.validate_submission(archive)] == [
        f'{GAME}/{formats.PREDICTION_FILE}["predictions"][1]["comment"]'
    ]
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / formats.PREDICTION_FILE).write_text("{}")
    with pytest.raises(CaptioningFormatError, match="league"):
        formats.zip_predictions(tmp_path / "flat", tmp_path / "bad.zip")


def write_submission(path, files: dict):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(
                name, content if isinstance(content, (str, bytes)) else json.dumps(content)
            )
    return path


def test_validate_submission_reports_every_problem_with_its_place(tmp_path):
    groundtruth = tmp_path / "labels"
    for game in (GAME, OTHER):
        write_json(
            groundtruth / game / formats.LABEL_FILE, {"annotations": [label("1 - 00:01", "x")]}
        )
    good = {"predictions": [prediction("1 - 0:31", "fine"), prediction("2 - 44:00", "also fine")]}
    submission = write_submission(
        tmp_path / "ok.zip",
        {
            f"{GAME}/{formats.PREDICTION_FILE}": good,
            f"{OTHER}/{formats.PREDICTION_FILE}": good,
        },
    )
    assert formats.validate_submission(submission, groundtruth=groundtruth) == []
    assert validate.main(["captioning", str(submission), "--groundtruth", str(groundtruth)]) == 0

    bad_entries = {
        "UrlLocal": GAME,
        "predictions": [
            prediction("1 - 0:31", "fine"),
            {"label": "comments", "comment": "no time"},
            prediction("1 - 0:3", "bad time"),
            prediction("3 - 00:10", "extra time", half="3"),
            prediction("1 - 00:10", "wrong label", label="Goal"),
            prediction("1 - 00:10", 42),
            prediction("1 - 00:10", "   "),
            prediction("1 - 00:10", "line\rbreak"),
            prediction("1 - 00:10", "other half", half="2"),
            prediction("1 - 00:10", "far position", position="99000"),
            prediction("1 - 00:10", "bad confidence", confidence="high"),
            "not an object",
        ],
    }
    member = f"{GAME}/{formats.PREDICTION_FILE}"
    problems = formats.validate_submission(
        write_submission(
            tmp_path / "bad.zip",
            {
                member: bad_entries,
                f"results/{OTHER}/{formats.PREDICTION_FILE}": good,  # an enclosing folder
                f"{OTHER}/results_caption.json": good,  # the pip default name
                f"{'italy_serie-a/2016-2017/x'}/{formats.PREDICTION_FILE}": (
                    '{"predictions": [], "predictions": []}'
                ),
                f"{'italy_serie-a/2016-2017/y'}/{formats.PREDICTION_FILE}": b"\xff\xfe",
                f"{'italy_serie-a/2016-2017/z'}/{formats.PREDICTION_FILE}": "{oops",
                "README.txt": "ignored",
            },
        ),
        groundtruth=groundtruth,
    )
    text = "\n".join(map(str, problems))
    at = f"bad.zip:{member}"
    expected = [
        (f'{at}["predictions"][1]', 'missing "gameTime"'),
        (f'{at}["predictions"][2]["gameTime"]', "malformed gameTime"),
        (f'{at}["predictions"][3]["gameTime"]', "half 3"),
        (f'{at}["predictions"][3]["half"]', '"3" is not 1 or 2'),
        (f'{at}["predictions"][4]["label"]', '"Goal" is not a caption label'),
        (f'{at}["predictions"][5]["comment"]', "expected a string caption"),
        (f'{at}["predictions"][6]["comment"]', "empty caption"),
        (f'{at}["predictions"][7]["comment"]', "carriage return"),
        (f'{at}["predictions"][8]["half"]', "disagrees with gameTime"),
        (f'{at}["predictions"][9]["position"]', "second 99 of the half"),
        (f'{at}["predictions"][10]["confidence"]', '"high" is not a number'),
        (f'{at}["predictions"][11]', "expected an object"),
        (f"bad.zip:results/{OTHER}", "from the zip root"),
        (f"bad.zip:{OTHER}/results_caption.json", "only the pip evaluator's default"),
        (
            'bad.zip:italy_serie-a/2016-2017/x/results_dense_captioning.json["predictions"]',
            "more than once",
        ),
        ("bad.zip:italy_serie-a/2016-2017/y", "not UTF-8"),
        (
            "bad.zip:italy_serie-a/2016-2017/z/results_dense_captioning.json line 1",
            "not valid JSON",
        ),
        ("bad.zip:italy_serie-a/2016-2017/x", "not in"),
        (f"bad.zip:{OTHER}/{formats.PREDICTION_FILE}", "missing: every game"),
    ]
    for location, message in expected:
        assert any(
            str(p.location).endswith(location) or location in p.location
            for p in problems
            if message in p.message
        ), (location, message, text)
    assert len(problems) == len(expected) + 2, text  # + "not in ground truth" for y and z
    assert "README" not in text and "[0]" not in text  # the good entry has no problem
    assert validate.main(["captioning", str(tmp_path / "bad.zip")]) == 1


def test_validate_folders_and_single_files(tmp_path):
    folder = tmp_path / "submission"
    write_json(
        folder / GAME / formats.PREDICTION_FILE, {"predictions": [prediction("1 - 0:31", "x")]}
    )
    assert formats.validate_submission(folder) == []
    lone = write_json(tmp_path / "lone.json", {"predictions": [{"gameTime": "1 - 0:31"}]})
    problems = formats.validate_submission(lone)
    assert [p.message for p in problems] == [
        'missing "label" (the evaluator needs it)',
        'missing "comment" (the evaluator needs it)',
    ]
    assert formats.validate_submission(write_json(tmp_path / "top.json", [])) == [
        validate.Problem(str(tmp_path / "top.json"), "expected an object, found list")
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no" in formats.validate_submission(empty)[0].message
    with pytest.raises(FileNotFoundError):
        formats.validate_submission(tmp_path / "nothing.zip")
    with pytest.raises(CaptioningFormatError, match="holds no Labels-caption.json"):
        formats.validate_submission(folder, groundtruth=empty)
