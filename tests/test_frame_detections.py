"""zoo.formats.frame_detections: the calibration and player-detection files, read, written, refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from zoo.formats import frame_detections as fd


def _calibration_document(frames=3):
    return {"size": [3, 224, 398], "predictions": [
        [{"homography": [1.0 + i, 0, 0, 0, 1, 0, 0, 0, 1], "confidence": 0.5 + 0.1 * i}] for i in range(frames)]}


def _players_document():
    return {"size": [3, 224, 398], "predictions": [
        {"bboxes": [[1, 2, 3, 4], [5, 6, 7.5, 8]], "colors": [[10, 20, 30], [40, 50, 60, 255]]},
        {"bboxes": [], "colors": []},
        {"bboxes": [[9, 9, 12, 20]], "colors": [[1, 2, 3]], "scores": [0.75], "onfield": [1]},
    ]}


def _write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_reads_the_official_layout(tmp_path):
    calibration = fd.read_calibration(_write(tmp_path, "1_field_calib_ccbv.json", _calibration_document()))
    assert calibration.image_size == (224, 398) and calibration.num_frames == 3
    assert calibration.homography.shape == (3, 3, 3) and calibration.homography[2, 0, 0] == 3.0
    np.testing.assert_allclose(calibration.confidence, [0.5, 0.6, 0.7])
    players = fd.read_players(_write(tmp_path, "1_player_boundingbox_maskrcnn.json", _players_document()))
    assert players.counts.tolist() == [2, 0, 1] and players.num_frames == 3
    np.testing.assert_allclose(players.boxes, [[1, 2, 3, 4], [5, 6, 7.5, 8], [9, 9, 12, 20]])
    np.testing.assert_allclose(players.colors, [[10, 20, 30], [40, 50, 60], [1, 2, 3]])  # the first three values
    np.testing.assert_allclose(players.scores, [-1, -1, 0.75])
    assert players.frame_index.tolist() == [0, 0, 2] and players.starts.tolist() == [0, 2, 2, 3]


def test_writes_what_it_reads(tmp_path):
    calibration = fd.read_calibration(_write(tmp_path, "a.json", _calibration_document()))
    players = fd.read_players(_write(tmp_path, "b.json", _players_document()))
    fd.write_calibration(tmp_path / "c.json", calibration)
    fd.write_players(tmp_path / "d.json", players)
    again = fd.read_calibration(tmp_path / "c.json"), fd.read_players(tmp_path / "d.json")
    np.testing.assert_allclose(again[0].homography, calibration.homography)
    np.testing.assert_allclose(again[0].confidence, calibration.confidence)
    for field in ("boxes", "colors", "counts"):
        np.testing.assert_allclose(getattr(again[1], field), getattr(players, field))
    assert json.loads((tmp_path / "c.json").read_text())["predictions"][0][0].keys() == {"homography", "confidence"}


@pytest.mark.parametrize("reader, document, problem", [
    ("read_calibration", {"predictions": []}, 'missing top-level key "size"'),
    ("read_calibration", {"size": [224, 398], "predictions": []}, r'"size" must be \[channels, height, width\]'),
    ("read_calibration", {"size": [3, 224, 398], "predictions": [[]]}, "frame 0: expected a list holding a camera"),
    ("read_calibration", {"size": [3, 224, 398], "predictions": [[{"homography": [1] * 8, "confidence": 1}]]},
     "frame 0: homography must be 9 finite numbers"),
    ("read_calibration", {"size": [3, 224, 398], "predictions": [[{"homography": [1] * 9, "confidence": "high"}]]},
     "frame 0: confidence must be a number"),
    ("read_players", {"size": [3, 224, 398], "predictions": [{"bboxes": [[1, 2, 3, 4]], "colors": []}]},
     "frame 0: 1 boxes but 0 colors"),
    ("read_players", {"size": [3, 224, 398], "predictions": [
        {"bboxes": [], "colors": []}, {"bboxes": [[1, 2, 3]], "colors": [[1, 2, 3]]}]},
     r"frame 1, box 0: expected \[x1, y1, x2, y2\]"),
    ("read_players", {"size": [3, 224, 398], "predictions": [{"bboxes": [[1, 2, 3, 4]], "colors": [[1, 2]]}]},
     "frame 0, box 0: expected a colour of 3 numbers"),
])
def test_refuses_what_it_cannot_use_and_names_file_and_frame(tmp_path, reader, document, problem):
    path = _write(tmp_path, "x.json", document)
    with pytest.raises(fd.FrameDetectionsError, match=re.escape(str(path)) + ": " + problem):
        getattr(fd, reader)(path)


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(fd.FrameDetectionsError, match="missing file"):
        fd.read_players(tmp_path / "none.json")
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(_calibration_document())[:40])
    with pytest.raises(fd.FrameDetectionsError, match=re.escape(str(path)) + ": not valid JSON"):
        fd.read_calibration(path)


def test_frame_count_problems_name_the_file():
    assert fd.frame_count_problems(10, [("a.json", 10)]) == []
    assert fd.frame_count_problems(10, [("a.json", 8), ("b.json", 11)]) == [
        "a.json: 8 frames, but the features have 10 (missing the last 2)",
        "b.json: 11 frames, but the features have 10 (extra 1)"]
