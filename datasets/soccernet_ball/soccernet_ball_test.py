"""soccernet_ball builder: builds every config from tiny video trees, reads back, fails loudly.

Plain pytest: `tfds.testing.DatasetBuilderTestCase` needs TensorFlow. The videos are written with
OpenCV (64x48, 4 s at 25 fps) and show their frame index in binary, so that a clip read through
the dataset can be checked frame by frame.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds
from soccernet_datasets.soccernet_ball import GameFileError

from zoo.data import tfds_sources
from zoo.errors import UserError
from zoo.data.ball_index import load_split, prepare_ball
from zoo.data.video import ClipSource, VideoFileError
from zoo.formats.splits import SPLITS, list_games
from zoo.formats.spotting import (
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    SpottingFormatError,
)

FRAMES = 100  # 4 s at 25 fps
WIDTH, HEIGHT = 64, 48
# (label, team, position ms, visibility) per labelled video: frames int(25 * (ms / 1000)) = 1, 28, 62,
# 99 (1160 ms is frame 28, not 29, in the official evaluators' floating point).
EVENTS = {
    "2023": [("PASS", "", 40, "visible"), ("DRIVE", "", 1160, "visible"),
             ("PASS", "", 2500, "not shown"), ("DRIVE", "", 3990, "visible")],
    "2024": [("PASS", "left", 40, "visible"), ("SHOT", "right", 1160, "visible"),
             ("GOAL", "", 2500, "not shown"), ("THROW IN", "left", 3990, "visible")],
    "2025": [("PASS", "left", 40, "visible"), ("SHOT", "right", 1160, "visible"),
             ("GOAL", "left", 2500, "not shown"), ("THROW IN", "right", 3990, "visible")],
    "v2": [("Kick-off", "home", 40, "visible"), ("Goal", "away", 1160, "visible"),
           ("Corner", "not applicable", 2500, "not shown"), ("Foul", "home", 3990, "visible")],
}
CONFIGS = {"2023": "2023", "2024": "2024", "2025": "2025", "v2_video": "v2"}
CLASSES = {"2023": CLASSES_BALL_2023, "2024": CLASSES_BALL, "2025": CLASSES_BALL, "v2": CLASSES_V2}


def write_indexed_video(path, num_frames=FRAMES, size=(WIDTH, HEIGHT)):
    """A video whose frame i shows i in binary (12 cells of 16x16 pixels)."""
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
    writer = cv2.VideoWriter(os.fspath(path), fourcc, 25, size)
    assert writer.isOpened()
    for i in range(num_frames):
        image = np.full((size[1], size[0], 3), 128, np.uint8)
        for bit in range(12):
            row, col = divmod(bit, 4)
            image[row * 16:(row + 1) * 16, col * 16:(col + 1) * 16] = 255 if (i >> bit) & 1 else 0
        writer.write(image)
    writer.release()


def frame_index(image):
    return sum(1 << bit for bit in range(12)
               if image[(bit // 4) * 16 + 4:(bit // 4) * 16 + 12, (bit % 4) * 16 + 4:(bit % 4) * 16 + 12].mean() > 127)


def _annotation(half, label, team, ms, visibility):
    seconds = ms // 1000
    entry = {"gameTime": f"{half} - {seconds // 60:02d}:{seconds % 60:02d}", "label": label,
             "position": str(ms), "visibility": visibility}
    if team:
        entry["team"] = team
    return entry


def write_tree(root, edition, games_per_split=None):
    """The official layout of `edition` with one game per split (by default); returns split -> games."""
    games_per_split = games_per_split or {split: 1 for split in SPLITS}
    task = "spotting" if edition == "v2" else "ball"
    written = {}
    for split, count in games_per_split.items():
        written[split] = list(list_games(split, task=task)[:count])
        for game in written[split]:
            folder = os.path.join(root, game)
            os.makedirs(folder)
            halves = (1, 2) if edition in ("2023", "v2") else (1,)
            for half in halves:
                write_indexed_video(os.path.join(folder, f"{half}_224p.mkv" if len(halves) == 2 else "224p.mp4"))
            if split != "challenge":
                annotations = [_annotation(half, *event) for half in halves for event in EVENTS[edition]]
                name = "Labels-v2.json" if edition == "v2" else "Labels-ball.json"
                with open(os.path.join(folder, name), "w") as f:
                    json.dump({"annotations": annotations}, f)
    return written


def build(root, config, **kwargs):
    return tfds_sources.prepare(f"soccernet_ball/{config}", manual_dir=root,
                                data_dir=os.path.join(os.path.dirname(root), "data"), progress=False,
                                **kwargs)


@pytest.fixture(scope="module", params=list(CONFIGS))
def built(request, tmp_path_factory):
    config = request.param
    root = str(tmp_path_factory.mktemp(f"manual_{config}") / "SoccerNet")
    written = write_tree(root, CONFIGS[config])
    build(root, config)
    return config, root, written


def test_examples_hold_the_index_and_the_events(built):
    config, root, written = built
    edition = CONFIGS[config]
    classes = CLASSES[edition]
    data_dir = os.path.join(os.path.dirname(root), "data")
    for split, games in written.items():
        split_videos = load_split(config, split, data_dir=data_dir)
        assert split_videos.video_root == root and split_videos.classes == classes
        halves = (1, 2) if edition in ("2023", "v2") else (1,)
        by_key = {(v["game"], v["half"]): v for v in split_videos.videos}
        assert set(by_key) == {(game, half) for game in games for half in halves}
        for (game, half), v in by_key.items():
            name = f"{half}_224p.mkv" if len(halves) == 2 else "224p.mp4"
            assert v["video"] == f"{game}/{name}"
            assert (v["num_frames"], v["fps"], v["height"], v["width"], v["seekable"]) == (
                FRAMES, 25.0, HEIGHT, WIDTH, True)
            events = [] if split == "challenge" else EVENTS[edition]
            assert v["event_frame"].tolist() == [int(25 * (ms / 1000)) for _, _, ms, _ in events]
            assert v["event_frame"].tolist() == ([1, 28, 62, 99] if events else [])
            assert v["event_label"].tolist() == [classes.index(label) for label, *_ in events]
            teams = [{"left": 0, "right": 1}.get(team, -1) if edition != "v2" else -1
                     for _, team, _, _ in events]
            assert v["event_team"].tolist() == teams
            assert v["event_visible"].tolist() == [vis == "visible" for *_, vis in events]
            assert v["event_position_ms"].tolist() == [ms for _, _, ms, _ in events]
            for name in ("event_frame", "event_label", "event_team", "event_position_ms"):
                assert v[name].dtype == np.int64


def test_info_metadata_and_plain_tfds_reading(built):
    config, root, written = built
    data_dir = os.path.join(os.path.dirname(root), "data")
    source = tfds.data_source(f"soccernet_ball/{config}", split="train", data_dir=data_dir, download=False)
    info = source.dataset_info
    assert info.metadata["classes"] == list(CLASSES[CONFIGS[config]])
    assert info.metadata["manual_dir"] == root
    assert info.file_format == tfds.core.FileFormat.ARRAY_RECORD
    assert {split: info.splits[split].num_examples for split in written} == {
        split: len(games) * (2 if CONFIGS[config] in ("2023", "v2") else 1) for split, games in written.items()}
    record = source[0]
    assert isinstance(record["video"], bytes) and record["event_frame"].dtype == np.int64


def test_clips_through_the_dataset_hold_their_frames_and_events(built):
    config, root, _ = built
    split = load_split(config, "valid", data_dir=os.path.join(os.path.dirname(root), "data"))
    source = ClipSource(split.videos, video_root=split.video_root, clip_len=8, stride=2,
                        overlap=0.5, num_classes=len(split.classes))
    for index in range(len(source)):
        clip = source[index]
        start = int(clip["start"])
        video = split.videos[int(clip["video_index"])]
        kept = start + 2 * np.arange(8)
        assert clip["valid"].tolist() == (kept < FRAMES).tolist()
        assert [frame_index(f) for f in clip["frames"][clip["valid"]]] == kept[kept < FRAMES].tolist()
        # Events at frames 1, 28, 62, 99 sit on the kept frames 2, 28, 62 and 98 (the last frame).
        for frame, label, team in zip(video["event_frame"], video["event_label"], video["event_team"]):
            kept_frame = {1: 2, 28: 28, 62: 62, 99: 98}[int(frame)]
            if start <= kept_frame < start + 16:
                position = (kept_frame - start) // 2
                assert clip["labels"][position] == label + 1 and clip["teams"][position] == team


def test_tail_frame_count_gives_the_same_dataset(built, tmp_path):
    config, root, _ = built
    builder = tfds_sources.prepare(f"soccernet_ball/{config}", manual_dir=root, data_dir=tmp_path,
                                   progress=False, builder_kwargs={"frame_count": "tail"})
    tail = tfds_sources.data_source(f"soccernet_ball/{config}", "test", data_dir=tmp_path)
    assert [int(r["num_frames"]) for r in tail] == [FRAMES] * len(tail) and len(tail) >= 1
    assert all(bool(r["seekable"]) for r in tail)
    with pytest.raises(ValueError, match="frame_count must be one of"):
        tfds.builder(f"soccernet_ball/{config}", data_dir=tmp_path, frame_count="guess")
    assert builder.info.splits["test"].num_examples == len(tail)


def test_a_moved_tree_is_named_and_video_root_finds_it(tmp_path):
    root = str(tmp_path / "SoccerNet")
    write_tree(root, "2025", {"train": 1})
    build(root, "2025")
    moved = str(tmp_path / "moved")
    os.rename(root, moved)
    game = list_games("train", task="ball")[0]
    missing = os.path.join(root, game, "224p.mp4")
    with pytest.raises(VideoFileError, match=re.escape(missing) + ": missing video file.*video_root"):
        load_split("2025", "train", data_dir=tmp_path / "data")
    split = load_split("2025", "train", data_dir=tmp_path / "data", video_root=moved)
    source = ClipSource(split.videos, video_root=split.video_root, clip_len=4, num_classes=12)
    assert frame_index(source[3]["frames"][0]) == 12


def test_720p_configs_prefer_720p_and_fall_back_with_a_warning(tmp_path, caplog):
    root = str(tmp_path / "SoccerNet")
    [game] = write_tree(root, "2023", {"train": 1})["train"]
    for half in (1, 2):
        write_indexed_video(os.path.join(root, game, f"{half}_720p.mkv"), size=(128, 96))
    build(root, "2023")
    build(root, "2023_720p")
    data_dir = tmp_path / "data"
    assert [(v["video"][-10:], v["width"]) for v in load_split("2023", "train", data_dir=data_dir).videos
            if v["half"] == 1] == [("1_224p.mkv", WIDTH)]
    assert [(v["video"][-10:], v["width"]) for v in load_split("2023_720p", "train", data_dir=data_dir).videos
            if v["half"] == 1] == [("1_720p.mkv", 128)]
    shutil.rmtree(data_dir)
    for half in (1, 2):
        os.remove(os.path.join(root, game, f"{half}_720p.mkv"))
    with caplog.at_level(logging.WARNING):
        build(root, "2023_720p")
    assert any("2 of the 2 videos are not 720p" in r.getMessage() for r in caplog.records)


def test_prepare_ball_writes_and_builds_synthetic_data_without_a_manual_dir(tmp_path):
    settings = {"games_per_split": {"train": 1, "valid": 0, "test": 0, "challenge": 0},
                "video_seconds": 32.0, "width": 64, "height": 48}
    data_dir = prepare_ball("2025", manual_dir="", data_dir=str(tmp_path / "tfds"), synthetic=settings)
    split = load_split("2025", "train", data_dir=data_dir)
    assert split.video_root == str(tmp_path / "tfds" / "synthetic_2025")
    [video] = split.videos
    assert video["num_frames"] == 800 and len(video["event_frame"]) > 0
    assert set(video["event_team"].tolist()) <= {0, 1}
    # Asking again is free, and other synthetic settings for the same data_dir are refused.
    assert prepare_ball("2025", manual_dir="", data_dir=data_dir, synthetic=settings) == data_dir
    with pytest.raises(UserError, match="was built from"):
        prepare_ball("2025", manual_dir="", data_dir=data_dir, synthetic={**settings, "seed": 1})


# Failures: each names the file (or the manual dir and split) and the problem.


@pytest.fixture
def tree(tmp_path):
    """A 2025 tree, one game per split; returns (manual_dir, split -> game folder)."""
    root = str(tmp_path / "SoccerNet")
    written = write_tree(root, "2025")
    return root, {split: os.path.join(root, games[0]) for split, games in written.items()}


def _edit_labels(path, edit):
    with open(path) as f:
        labels = json.load(f)
    edit(labels["annotations"])
    with open(path, "w") as f:
        json.dump(labels, f)


@pytest.mark.parametrize("split", ["train", "challenge"])
def test_missing_video(tree, split):
    root, games = tree
    os.remove(os.path.join(games[split], "224p.mp4"))
    with pytest.raises(VideoFileError, match=re.escape(games[split]) + r": missing video \(expected one file matching \*224p.mp4"):
        build(root, "2025")


def test_missing_half_video_of_2023(tmp_path):
    root = str(tmp_path / "SoccerNet")
    [game] = write_tree(root, "2023", {"valid": 1})["valid"]
    os.remove(os.path.join(root, game, "2_224p.mkv"))
    path = os.path.join(root, game, "2_224p.mkv")
    with pytest.raises(VideoFileError, match=re.escape(path) + r": missing video \(expected one of 2_224p.mkv"):
        build(root, "2023")


def test_several_videos_of_one_resolution(tree):
    root, games = tree
    shutil.copy(os.path.join(games["test"], "224p.mp4"), os.path.join(games["test"], "copy_224p.mkv"))
    with pytest.raises(VideoFileError, match="several 224p videos in the game folder"):
        build(root, "2025")


@pytest.mark.parametrize("content", [b"", b"definitely not a video" * 50])
def test_unreadable_video(tree, content):
    root, games = tree
    path = os.path.join(games["valid"], "224p.mp4")
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(VideoFileError, match=re.escape(path) + ": OpenCV .*cannot open"):
        build(root, "2025")


def test_unknown_class(tree):
    root, games = tree
    path = os.path.join(games["train"], "Labels-ball.json")
    _edit_labels(path, lambda a: a[1].update(label="BICYCLE KICK"))
    with pytest.raises(SpottingFormatError, match=re.escape(path) + ".*unknown label.*BICYCLE KICK"):
        build(root, "2025")


def test_event_past_the_end_of_the_video(tree):
    root, games = tree
    path = os.path.join(games["test"], "Labels-ball.json")
    _edit_labels(path, lambda a: a[3].update(position="4000"))  # frame 100 of a 100-frame video
    with pytest.raises(GameFileError, match=re.escape(path) + ".*frame 100, past the end of .*224p.mp4 \\(100 frames"):
        build(root, "2025")


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_missing_label_file(tree, split):
    root, games = tree
    path = os.path.join(games[split], "Labels-ball.json")
    os.remove(path)
    with pytest.raises(GameFileError, match=re.escape(path) + ": missing label file"):
        build(root, "2025")


def test_2025_events_need_a_team_and_2024_does_not(tree):
    root, games = tree
    path = os.path.join(games["valid"], "Labels-ball.json")
    _edit_labels(path, lambda a: a[2].pop("team"))
    with pytest.raises(GameFileError, match=re.escape(path) + ".*'GOAL' at gameTime 1 - 00:02.*team ''"):
        build(root, "2025")
    build(root, "2024")  # 2024 labels may lack the team: -1
    [video] = load_split("2024", "valid", data_dir=os.path.join(os.path.dirname(root), "data")).videos
    assert video["event_team"].tolist() == [0, 1, -1, 1]


def test_half_two_event_in_a_one_video_edition(tree):
    root, games = tree
    path = os.path.join(games["train"], "Labels-ball.json")
    _edit_labels(path, lambda a: a[0].update(gameTime="2 - 00:00"))
    with pytest.raises(GameFileError, match=re.escape(path) + ".*half 2.*one video per game"):
        build(root, "2025")


def test_missing_games_and_splits_warn_and_are_left_out(tree, caplog):
    root, games = tree
    shutil.rmtree(games["challenge"])
    with caplog.at_level(logging.WARNING):
        build(root, "2025")
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no game of the 'challenge' split" in m for m in messages)
    assert any("1 of the 4 official 'train' games" in m for m in messages)
    data_dir = os.path.join(os.path.dirname(root), "data")
    assert len(load_split("2025", "test", data_dir=data_dir).videos) == 1
    with pytest.raises(UserError, match="has no split 'challenge'.*rebuild"):
        load_split("2025", "challenge", data_dir=data_dir)


def test_no_game_of_any_split(tree):
    root, games = tree
    for folder in games.values():
        shutil.rmtree(folder)
    os.makedirs(os.path.join(root, "unrelated"))
    with pytest.raises(FileNotFoundError, match=f"No game of any official split found in the manual dir {re.escape(root)}"):
        build(root, "2025")


def test_empty_manual_dir_prints_the_download_instructions(tmp_path):
    os.makedirs(tmp_path / "SoccerNet")
    with pytest.raises(UserError, match="spotting-ball-2025"):
        build(str(tmp_path / "SoccerNet"), "2025")
