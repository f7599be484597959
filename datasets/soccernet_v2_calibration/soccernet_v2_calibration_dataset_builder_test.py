"""soccernet_v2_calibration builder: builds from a tiny synthetic tree, reads back, reports
frame-count mismatches with the file named, fails loudly on missing or broken files."""

from __future__ import annotations

import json
import logging
import os
import re

import numpy as np
import pytest
import tensorflow_datasets as tfds
from soccernet_datasets.soccernet_v2_features import GameFileError

from zoo.data import tfds_sources
from zoo.formats import frame_detections as fd
from zoo.synthetic.soccernet_v2 import write_soccernet_v2

NAME = "soccernet_v2_calibration/ResNET_TF2_PCA512"
GAMES = {"train": 1, "valid": 1, "test": 1, "challenge": 1}


@pytest.fixture
def tree(tmp_path):
    """A one-game-per-split tree with calibrations and players: (manual_dir, split -> game folder)."""
    root = tmp_path / "manual"
    written = write_soccernet_v2(root, games_per_split=GAMES, half_seconds=20, events_per_half=3, with_players=True)
    return root, {split: os.path.join(root, games[0]) for split, games in written.items()}


def _build(root, **kwargs):
    tfds_sources.prepare(NAME, manual_dir=root, data_dir=root.parent / "data", builder_kwargs=kwargs or None)
    return lambda split: tfds_sources.data_source(NAME, split, data_dir=root.parent / "data")


def test_read_back_equals_the_files(tree):
    root, _ = tree
    source = _build(root)
    for split in GAMES:
        assert len(source(split)) == 2
        for record in (source(split)[0], source(split)[1]):
            folder = os.path.join(root, record["game"].decode())
            half = int(record["half"])
            calibration = fd.read_calibration(fd.calibration_path(folder, half))
            players = fd.read_players(fd.players_path(folder, half))
            frames = len(record["features"])
            assert calibration.num_frames == players.num_frames == frames >= 36  # halves of 18-20 s at 2 fps
            np.testing.assert_array_equal(record["calibration"]["homography"], calibration.homography)
            np.testing.assert_array_equal(record["calibration"]["confidence"], calibration.confidence)
            assert record["calibration"]["image_size"].tolist() == [224, 398] == list(calibration.image_size)
            for field in ("boxes", "colors", "scores", "counts"):
                np.testing.assert_array_equal(record["players"][field], getattr(players, field))
            assert int(record["calibration"]["file_frames"]) == int(record["players"]["file_frames"]) == frames
            assert (split == "challenge") == (len(record["annotations"]["label"]) == 0)


def test_only_the_2_fps_feature_kinds_have_configs():
    builder = tfds.builder_cls("soccernet_v2_calibration")
    assert sorted(c.name for c in builder.BUILDER_CONFIGS) == ["ResNET_TF2", "ResNET_TF2_PCA512"]


def _frames(game_dir, half):
    return len(np.load(os.path.join(game_dir, f"{half}_ResNET_TF2_PCA512.npy")))


def _edit(path, change):
    with open(path) as f:
        document = json.load(f)
    change(document)
    with open(path, "w") as f:
        json.dump(document, f)


def _drop_last_frames(path, count):
    """Removes the last `count` frames of a file (adds -count copies of the first ones if negative)."""
    def change(document):
        frames = document["predictions"]
        document["predictions"] = frames[:-count] if count > 0 else frames + frames[:-count]
    _edit(path, change)


def test_frame_mismatches_are_reported_with_the_file_and_aligned(tree, caplog):
    root, games = tree
    short = fd.players_path(games["valid"], 2)
    long = fd.calibration_path(games["valid"], 1)
    _drop_last_frames(short, 3)
    _drop_last_frames(long, -2)  # two extra frames
    with caplog.at_level(logging.WARNING):
        source = _build(root)("valid")
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    second, first = _frames(games["valid"], 2), _frames(games["valid"], 1)
    assert any(m.startswith(f"{short}: {second - 3} frames, but the features have {second} (missing the last 3)")
               for m in messages)
    assert any(m.startswith(f"{long}: {first + 2} frames, but the features have {first} (extra 2)") for m in messages)
    records = {int(source[i]["half"]): source[i] for i in range(2)}
    assert records[2]["players"]["counts"][-3:].tolist() == [0, 0, 0]
    assert int(records[2]["players"]["file_frames"]) == second - 3
    assert len(records[1]["calibration"]["confidence"]) == first
    assert int(records[1]["calibration"]["file_frames"]) == first + 2


def test_frame_mismatch_can_stop_the_build(tree):
    root, games = tree
    path = fd.calibration_path(games["test"], 2)
    _drop_last_frames(path, 1)
    frames = _frames(games["test"], 2)
    with pytest.raises(fd.FrameDetectionsError,
                       match=re.escape(path) + f": {frames - 1} frames, but the features have {frames}"):
        _build(root, frame_mismatch="error")


def test_a_missing_file_fails_the_build_with_its_path(tree):
    root, games = tree
    path = fd.players_path(games["challenge"], 1)
    os.remove(path)
    with pytest.raises(GameFileError, match=re.escape(path) + ".*missing file"):
        _build(root)


def test_a_broken_file_fails_the_build_with_its_path_and_frame(tree):
    root, games = tree
    path = fd.calibration_path(games["train"], 1)
    _edit(path, lambda document: document["predictions"][5][0].update(homography=[1.0] * 8))
    with pytest.raises(fd.FrameDetectionsError, match=re.escape(path) + ": frame 5: homography must be 9"):
        _build(root)
