"""Official jersey-number files: ground truth, predictions and submission validation."""

import json
import zipfile

import numpy as np
import pytest

from zoo.formats import jersey
from zoo.formats.jersey import JerseyFormatError


def write_json(path, document, *, raw=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if raw else json.dumps(document))
    return path


def test_groundtruth_file_names():
    assert jersey.groundtruth_file("test") == "test/test_gt.json"
    with pytest.raises(ValueError, match="valid"):
        jersey.groundtruth_file("valid")  # the official data has no valid split


def test_read_groundtruth_keeps_file_order(tmp_path):
    path = write_json(tmp_path / "train_gt.json", {"12": 7, "3": -1, "100": 0, "4": 99})
    assert list(jersey.read_groundtruth(path).items()) == [
        ("12", 7),
        ("3", -1),
        ("100", 0),
        ("4", 99),
    ]


@pytest.mark.parametrize(
    "document, words",
    [
        ([1, 2], "JSON object"),
        ({}, "no tracklet"),
        ({"1": "7"}, "'1'.*string"),
        ({"1": True}, "boolean"),
        ({"1": 7.0}, "float"),
        ({"1": 100}, "100 is not a jersey number"),
        ({"1": -2}, "-2 is not a jersey number"),
    ],
)
def test_read_groundtruth_refusals(tmp_path, document, words):
    path = write_json(tmp_path / "gt.json", document)
    with pytest.raises(JerseyFormatError, match=words) as caught:
        jersey.read_groundtruth(path)
    assert str(caught.value).startswith(str(path))


def test_write_then_read_predictions(tmp_path):
    predictions = {10: np.int64(7), "2": -1, np.int32(1): 99, "x": 0}
    path = jersey.write_predictions(tmp_path / "out" / "predictions.json", predictions)
    text = path.read_text()
    assert json.loads(text) == {"1": 99, "2": -1, "10": 7, "x": 0}
    assert list(json.loads(text)) == ["1", "2", "10", "x"]  # numeric ids in number order
    assert all(type(v) is int for v in jersey.read_predictions(path).values())


@pytest.mark.parametrize(
    "predictions, words",
    [
        ({"1": True}, "boolean"),
        ({"1": 7.0}, "float"),
        ({"1": "7"}, "string"),
        ({"1": 100}, "outside"),
        ({"1": 3, 1: 4}, "given twice"),
        ({1.5: 3}, "tracklet id"),
    ],
)
def test_write_predictions_refusals(tmp_path, predictions, words):
    with pytest.raises(JerseyFormatError, match=words):
        jersey.write_predictions(tmp_path / "p.json", predictions)


def test_read_predictions_refuses_non_int_but_keeps_out_of_range(tmp_path):
    assert jersey.read_predictions(write_json(tmp_path / "p.json", {"1": 150})) == {"1": 150}
    with pytest.raises(JerseyFormatError, match="'2'.*string"):
        jersey.read_predictions(write_json(tmp_path / "p.json", {"1": 1, "2": "3"}))


def test_tracklet_ids_from_the_images_folder(tmp_path):
    for tracklet in ("10", "2", "1"):
        (tmp_path / "challenge" / "images" / tracklet).mkdir(parents=True)
        (tmp_path / "challenge" / "images" / tracklet / f"{tracklet}_0.jpg").write_bytes(b"")
    assert jersey.tracklet_ids(tmp_path / "challenge") == ["1", "2", "10"]
    with pytest.raises(FileNotFoundError, match="images"):
        jersey.tracklet_ids(tmp_path)


# --- validate_submission ------------------------------------------------------------------------


def located(problems):
    return {(p.location, p.message) for p in problems}


def test_valid_submission_as_file_folder_and_zip(tmp_path):
    gt = write_json(tmp_path / "test" / "test_gt.json", {"1": 7, "2": -1})
    sub = jersey.write_predictions(tmp_path / "sub" / "predictions.json", {"1": 7, "2": 30})
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(sub, "predictions.json")
    for path in (sub, sub.parent, archive):
        assert jersey.validate_submission(path) == []
        assert jersey.validate_submission(path, groundtruth=gt) == []
        assert jersey.validate_submission(path, groundtruth=gt.parent) == []  # the split folder


def test_every_problem_is_reported_with_its_location(tmp_path):
    text = (
        '{"1": "7", "2": 7.0, "3": true, "4": null, "5": 100, "6": -3, "7": 12, "8": [1],'
        ' "x1": 4, "9": 5, "9": 6}'
    )
    sub = write_json(tmp_path / "p.json", text, raw=True)
    problems = jersey.validate_submission(sub)
    where = {p.location.removeprefix(str(sub)): p.message for p in problems}
    assert "string; write the integer 7" in where['["1"]']
    assert "float; write the integer 7" in where['["2"]']
    assert "boolean" in where['["3"]']
    assert "null" in where['["4"]']
    assert "100 is outside" in where['["5"]'] and "-3 is outside" in where['["6"]']
    assert "list" in where['["8"]']
    assert "not a tracklet id" in where['["x1"]']
    assert "more than once" in where['["9"]']
    assert '["7"]' not in where
    assert len(problems) == 9


def test_coverage_against_the_groundtruth(tmp_path):
    gt = write_json(tmp_path / "test_gt.json", {"1": 7, "2": -1, "3": 4})
    sub = write_json(tmp_path / "p.json", {"1": 7, "3": 4, "77": 5})
    problems = located(jersey.validate_submission(sub, groundtruth=gt))
    assert (
        f'{sub}["2"]',
        "missing: every tracklet needs a number (-1 when it is not visible)",
    ) in problems
    assert (f'{sub}["77"]', f"not a tracklet of the ground truth {gt}") in problems
    assert len(problems) == 2


def test_coverage_of_the_challenge_split_from_its_tracklet_folders(tmp_path):
    for tracklet in ("0", "1", "2"):
        (tmp_path / "challenge" / "images" / tracklet).mkdir(parents=True)
    sub = write_json(tmp_path / "p.json", {"0": 3, "1": -1})
    problems = jersey.validate_submission(sub, groundtruth=tmp_path / "challenge")
    assert [p.location for p in problems] == [f'{sub}["2"]']


def test_problems_finding_and_reading_the_file(tmp_path):
    folder = tmp_path / "two"
    write_json(folder / "a.json", {"1": 1})
    write_json(folder / "b.json", {"1": 1})
    [problem] = jersey.validate_submission(folder)
    assert (
        problem.location == str(folder) and "2 candidate files (a.json, b.json)" in problem.message
    )

    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "no json")
    [problem] = jersey.validate_submission(archive)
    assert "no .json file" in problem.message

    archive = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("predictions.json", '{\n  "1": 3,\n  "2": \n}')
    [problem] = jersey.validate_submission(archive)
    assert problem.location == f"{archive}:predictions.json line 4 column 1"
    assert "not valid JSON" in problem.message

    [problem] = jersey.validate_submission(write_json(tmp_path / "l.json", [1, 2]))
    assert "found a list" in problem.message
    [problem] = jersey.validate_submission(write_json(tmp_path / "e.json", {}))
    assert "no tracklet" in problem.message


def test_unusable_groundtruth_raises(tmp_path):
    sub = write_json(tmp_path / "p.json", {"1": 1})
    with pytest.raises(JerseyFormatError, match="string"):
        jersey.validate_submission(sub, groundtruth=write_json(tmp_path / "gt.json", {"1": "1"}))
    with pytest.raises(FileNotFoundError):
        jersey.validate_submission(sub, groundtruth=tmp_path / "nothing_here")
