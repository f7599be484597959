"""Calibration files: annotations and cameras read and written in the official layouts, bad files
refused with their name, every problem of a submission listed."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from zoo.formats import calibration as formats
from zoo.formats.validate import validate
from zoo.geometry.camera import Camera, sample_broadcast_cameras

ANNOTATION = {
    "Side line top": [{"x": 0.1, "y": 0.2}, {"x": 0.9, "y": 0.25}],
    "Goal left post left ": [{"x": 0.3, "y": 0.4}, {"x": 0.31, "y": 0.6}],
    "Circle central": [{"x": 0.5, "y": 0.5}, {"x": 0.55, "y": 0.52}, {"x": 0.6, "y": 0.5}],
    "Line unknown": [],
}


def camera_document(seed=0) -> dict:
    return sample_broadcast_cameras(np.random.default_rng(seed), 1).select(0).to_json()


def write_zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content if isinstance(content, str) else json.dumps(content))
    return path


# ------------------------------------------------------------------------------------ annotations


def test_annotations_round_trip_in_every_layout(tmp_path):
    lines = {
        name: np.array([[p["x"], p["y"]] for p in points]).reshape(-1, 2)
        for name, points in ANNOTATION.items()
    }
    annotations = {"00007": lines, "00002": {"Middle line": np.array([[0.5, 0.1], [0.5, 0.9]])}}
    for target, split in (
        ("gt.zip", "valid"),
        ("gt_flat.zip", None),
        ("folder", None),
        ("root", "test"),
    ):
        path = formats.write_annotations(tmp_path / target, annotations, split=split)
        read = formats.read_annotations(path)
        if target.endswith(".zip"):
            assert list(read) == ["00007", "00002"]  # zip order, as the official walks it
        assert set(read) == {"00007", "00002"}
        for idx, expected in annotations.items():
            assert list(read[idx]) == list(expected)
            for name, points in expected.items():
                np.testing.assert_array_equal(read[idx][name], points)
    with zipfile.ZipFile(tmp_path / "gt.zip") as archive:
        assert archive.namelist() == ["valid/00007.json", "valid/00002.json"]


def test_split_folder_with_images_and_match_info(tmp_path):
    split = tmp_path / "valid"
    split.mkdir()
    (split / "00001.json").write_text(json.dumps(ANNOTATION))
    (split / "00001.jpg").write_bytes(b"\xff\xd8")
    (split / "match_info.json").write_text(json.dumps({"00001.jpg": {"game": "x"}}))
    assert list(formats.read_annotations(split)) == ["00001"]
    assert list(formats.read_annotations(tmp_path)) == ["00001"]
    assert set(formats.read_annotation(split / "00001.json")) == set(ANNOTATION)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "expected an object of line classes"),
        ({"Side line up": []}, "unknown line class 'Side line up'"),
        ({"Goal left post left": []}, "unknown line class"),  # the trailing space is required
        ({"Middle line": {"x": 1}}, "expected a list of points"),
        ({"Middle line": [{"x": 0.1}]}, r"'Middle line'\[0\]: expected"),
        ({"Middle line": [{"x": True, "y": 0.2}]}, r"'Middle line'\[0\]"),
        ('{"Middle line": [{"x": NaN, "y": 0.2}]}', "non-finite"),
    ],
)
def test_bad_annotations_are_refused_with_their_name(tmp_path, content, message):
    path = write_zip(
        tmp_path / "gt.zip", {"valid/00001.json": ANNOTATION, "valid/00002.json": content}
    )
    with pytest.raises(formats.CalibrationFormatError, match=message) as error:
        formats.read_annotations(path)
    assert str(error.value).startswith(f"{path}:valid/00002.json: ")


def test_annotation_trees_that_are_refused(tmp_path):
    twice = write_zip(
        tmp_path / "twice.zip", {"valid/00001.json": ANNOTATION, "test/00001.json": ANNOTATION}
    )
    with pytest.raises(
        formats.CalibrationFormatError, match="image 00001 is also annotated in valid/00001.json"
    ):
        formats.read_annotations(twice)
    stray = write_zip(
        tmp_path / "stray.zip", {"valid/00001.json": ANNOTATION, "valid/notes.json": {}}
    )
    with pytest.raises(formats.CalibrationFormatError, match="notes.json: not an annotation file"):
        formats.read_annotations(stray)
    empty = write_zip(tmp_path / "empty.zip", {"valid/readme.txt": "hi"})
    with pytest.raises(formats.CalibrationFormatError, match="no <idx>.json"):
        formats.read_annotations(empty)
    (tmp_path / "not_a_zip.zip").write_text("hello")
    with pytest.raises(formats.CalibrationFormatError, match="neither a folder nor a zip"):
        formats.read_annotations(tmp_path / "not_a_zip.zip")
    with pytest.raises(FileNotFoundError):
        formats.read_annotations(tmp_path / "missing")


# ---------------------------------------------------------------------------------------- cameras


def test_cameras_round_trip_flat_and_split(tmp_path):
    cameras = {"00001": Camera.from_json(camera_document(1)), "00002": camera_document(2)}
    for target, split in (
        ("pred.zip", None),
        ("pred_split.zip", "valid"),
        ("pred_folder", None),
        ("pred_split_folder", "test"),
    ):
        path = formats.write_cameras(tmp_path / target, cameras, split=split)
        read = formats.read_cameras(path)
        assert set(read) == {"00001", "00002"}
        assert read["00002"].to_json() == camera_document(2)
        for got, expected in zip(read["00001"], cameras["00001"]):
            np.testing.assert_array_equal(got, expected)
        assert set(formats.read_cameras(path, indices=["00002", "00009"])) == {"00002"}
    with zipfile.ZipFile(tmp_path / "pred_split.zip") as archive:
        assert sorted(archive.namelist()) == ["valid/camera_00001.json", "valid/camera_00002.json"]
    single = formats.write_camera(tmp_path / "camera_00003.json", cameras["00001"])
    assert formats.read_camera(single).to_json() == cameras["00001"].to_json()


def broken(key, value):
    document = camera_document()
    if value is KeyError:
        del document[key]
    else:
        document[key] = value
    return document


@pytest.mark.parametrize(
    "document, message",
    [
        (broken("radial_distortion", KeyError), "missing key 'radial_distortion'"),
        (broken("radial_distortion", [0.0] * 5), "radial_distortion: expected 6 numbers, got 5"),
        (
            broken("tangential_distortion", [0.0, 0.0, 0.0]),
            "tangential_distortion: expected 2 numbers, got 3",
        ),
        (broken("position_meters", 3.0), "position_meters: expected a list of 3 numbers"),
        (broken("pan_degrees", True), "pan_degrees: expected a number"),
        (broken("tilt_degrees", "10"), "tilt_degrees: expected a number"),
        (
            broken("thin_prism_distortion", [0, 0, None, 0]),
            r"thin_prism_distortion\[2\]: expected a number",
        ),
        (broken("x_focal_length", float("inf")), "x_focal_length: not finite"),
        (broken("position_meters", [0, 10**400, 0]), r"position_meters\[1\]: not finite"),
        ([], "expected an object of camera parameters"),
    ],
)
def test_bad_cameras_are_refused_with_their_name(tmp_path, document, message):
    path = tmp_path / "camera_00001.json"
    path.write_text(json.dumps(document))
    with pytest.raises(formats.CalibrationFormatError, match=message) as error:
        formats.read_camera(path)
    assert str(error.value).startswith(str(path))
    archive = write_zip(tmp_path / "pred.zip", {"valid/camera_00001.json": document})
    with pytest.raises(
        formats.CalibrationFormatError, match=rf"pred\.zip:valid/camera_00001\.json: .*{message}"
    ):
        formats.read_cameras(archive)
    with pytest.raises(formats.CalibrationFormatError):
        formats.write_cameras(tmp_path / "out.zip", {"00001": document})


def test_a_second_camera_for_an_image_is_refused(tmp_path):
    path = write_zip(
        tmp_path / "pred.zip",
        {"camera_00001.json": camera_document(), "valid/camera_00001.json": camera_document()},
    )
    with pytest.raises(formats.CalibrationFormatError, match="a second camera for image 00001"):
        formats.read_cameras(path)


# ------------------------------------------------------------------------------------- validation


def test_a_valid_submission_has_no_problem(tmp_path):
    gt = formats.write_annotations(tmp_path / "gt.zip", {"00001": {}, "00002": {}}, split="valid")
    for split in (None, "valid"):
        submission = formats.write_cameras(
            tmp_path / f"{split}.zip",
            {"00001": camera_document(1), "00002": camera_document(2)},
            split=split,
        )
        assert formats.validate_submission(submission) == []
        assert formats.validate_submission(submission, groundtruth=gt) == []
        assert validate("calibration", submission, groundtruth=gt) == []


def test_every_problem_is_listed_with_its_place(tmp_path):
    negative_focal = camera_document()
    negative_focal["y_focal_length"] = -1200.0
    large = camera_document()  # a camera for 1920x1080 images
    large["principal_point"] = [960.5, 540.0]
    many = camera_document()
    del many["roll_degrees"]
    many["radial_distortion"] = [0.0, 0.0]
    many["position_meters"] = [0.0, "far", 1e400]
    submission = write_zip(
        tmp_path / "submission.zip",
        {
            "test/camera_00001.json": camera_document(),
            "test/camera_00002.json": "{broken",
            "test/camera_00003.json": many,
            "test/camera_00004.json": negative_focal,
            "test/camera_00005.json": large,
            "test/camera_00009.json": camera_document(),
            "camera_00001.json": camera_document(),
            "test/camera_1.txt": "x",
            "test/deep/camera_00006.json": camera_document(),
            "test/camera_00007.json": '{"pan_degrees": 1, "pan_degrees": 2}',
        },
    )
    gt = formats.write_annotations(
        tmp_path / "gt.zip", {f"{i:05d}": {} for i in range(1, 9)}, split="valid"
    )
    problems = [str(p) for p in formats.validate_submission(submission, groundtruth=gt)]
    where = f"{submission}:"
    expected = [
        f"{where}test/camera_00002.json line 1 column 2: not valid JSON",
        f"{where}test/camera_00003.json: missing key 'roll_degrees'",
        f'{where}test/camera_00003.json["radial_distortion"]: expected 6 numbers, got 2',
        f'{where}test/camera_00003.json["position_meters"][1]: expected a number',
        f'{where}test/camera_00003.json["position_meters"][2]: not finite',
        f'{where}test/camera_00004.json["y_focal_length"]: a focal length must be positive',
        f'{where}test/camera_00005.json["principal_point"]: (960.5, 540.0) is outside the 960x540',
        f"{where}camera_00001.json: a second camera for image 00001",
        f"{where}test/camera_1.txt: not a camera file",
        f"{where}test/deep/camera_00006.json: too deep",
        f'{where}test/camera_00007.json["pan_degrees"]: the key appears more than once',
        f"{where}test/camera_00009.json: image 00009 is not in the ground truth",
        f"{where}test/: split folder 'test' is not the ground truth's (valid)",
        f"{submission}: 2 of 8 ground-truth images have no camera (00006, 00008)",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert len(problems) == len(expected) + 9  # and camera_00007.json misses the 9 other keys
    assert formats.validate_submission(tmp_path / "absent.zip")[0].message.endswith(
        "no such folder or zip file"
    )
