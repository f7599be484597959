"""zoo.synthetic.ball: official layout and label files, videos that read back exactly, every class
present, determinism, and team sides that match the kit of the player at the ball."""

from __future__ import annotations

import collections
import json
import os
import re

import cv2
import numpy as np
import pytest

from zoo.formats.splits import list_games
from zoo.formats.spotting import (
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    LABEL_FILE,
    read_labels,
)
from zoo.synthetic import ball
from zoo.synthetic.match_plan import LABELS_BALL, LABELS_V2, TEAM_SIZE, team_of
from zoo.synthetic.pitch_render import Broadcast

SHORT = 20.0  # seconds of video per game in most tests
FPS = 25


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """version -> (root, games): one train and one challenge game of 32 s per version."""
    out = {}
    for version in ball.VERSIONS:
        root = tmp_path_factory.mktemp(f"ball{version}")
        out[version] = root, ball.write_dataset(
            root, version=version, games_per_split={"train": 1, "challenge": 1}, video_seconds=SHORT)
    return out


@pytest.mark.parametrize("version", ball.VERSIONS)
def test_layout_and_label_files(trees, version):
    root, games = trees[version]
    train, challenge = games
    assert train == list_games("train", task="ball")[0]
    assert challenge == list_games("challenge", task="ball")[0]
    assert train.startswith("england_efl/2019-2020/")
    videos = list(ball.VIDEO_FILES[version])
    assert videos == (["1_224p.mkv", "2_224p.mkv"] if version == "2023" else ["224p.mp4"])
    # Challenge games have their videos but no labels, as the real challenge.
    assert _files(root) == sorted([os.path.join(train, f) for f in [*videos, BALL_LABEL_FILE]]
                                  + [os.path.join(challenge, f) for f in videos])

    with open(os.path.join(root, train, BALL_LABEL_FILE)) as f:
        document = json.load(f)
    expected_keys = {"UrlLocal", "annotations"} | ({"halftime"} if version != "2023" else set())
    assert set(document) == expected_keys
    assert document["UrlLocal"] == train + "/"
    entries = document["annotations"]
    assert len(entries) > 5
    classes = CLASSES_BALL_2023 if version == "2023" else CLASSES_BALL
    order = []
    for entry in entries:
        assert list(entry) == ["gameTime", "label", "position", "team", "visibility"]
        half, minutes, seconds = map(int, re.fullmatch(r"([12]) - (\d\d):(\d\d)", entry["gameTime"]).groups())
        assert isinstance(entry["position"], str) and entry["position"].isdigit()
        assert 60 * minutes + seconds == int(entry["position"]) // 1000
        assert entry["label"] in classes
        assert entry["team"] in ("left", "right")
        assert entry["visibility"] in ("visible", "not shown")
        order.append((half, int(entry["position"])))
    assert order == sorted(order)
    halves = {h for h, _ in order}
    assert halves == ({1, 2} if version == "2023" else {1})
    if version != "2023":
        # The second half starts halfway through the single video.
        assert document["halftime"] == "1 - 00:10"

    annotations = read_labels(os.path.join(root, train, BALL_LABEL_FILE), classes=classes)
    assert len(annotations) == len(entries)
    # Events are at least 0.6 s apart (within a half video).
    for h in halves:
        frames = [a.frame(FPS) for a in annotations if a.half == h]
        assert min(np.diff(frames)) >= 15


@pytest.mark.parametrize("version", ball.VERSIONS)
def test_positions_are_the_simulated_event_frames(trees, version):
    """Every label is an event of the simulated match, at exactly its frame, by the acting team."""
    root, (train, _) = trees[version]
    match = ball.simulate_ball_game(train, video_seconds=SHORT)
    labels = ball.ball_labels(version)
    first_half = match.halves[0].footage.frames
    expected = []
    for h, half in enumerate(match.halves):
        left = half.left_team
        for event in half.events:
            if event.kind not in labels:
                continue
            frame = event.frame + (first_half * h if version != "2023" else 0)
            side = "left" if team_of(event.person) == left else "right"
            expected.append((h + 1 if version == "2023" else 1, frame, labels[event.kind], side))
    with open(os.path.join(root, train, BALL_LABEL_FILE)) as f:
        entries = json.load(f)["annotations"]
    got = []
    for entry in entries:
        position = int(entry["position"])
        # Both ways the evaluators turn a position into a frame give the event frame back.
        assert int(FPS * position / 1000) == int(FPS * (position / 1000))
        got.append((int(entry["gameTime"][0]), int(FPS * position / 1000), entry["label"], entry["team"]))
    assert got == expected


def test_label_positions_read_back_as_their_frames():
    frames = np.arange(0, 150_000, 7)
    for fps in (25, 30, 2):
        positions = ball.label_positions(frames, fps)
        assert [int(fps * p / 1000) for p in positions] == frames.tolist()
        assert [int(fps * (p / 1000)) for p in positions] == frames.tolist()


@pytest.mark.parametrize("version", ["2023", "2025"])
def test_videos_have_the_right_frames_and_seek_exactly(trees, version):
    root, games = trees[version]
    frames_per_video = int(SHORT * FPS) // len(ball.VIDEO_FILES[version])
    for game in games:
        for name in ball.VIDEO_FILES[version]:
            path = os.path.join(root, game, name)
            capture = cv2.VideoCapture(path)
            assert capture.isOpened(), path
            assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == frames_per_video
            assert capture.get(cv2.CAP_PROP_FPS) == FPS
            assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (160, 96)
            sequential = _frames(path)
            assert len(sequential) == frames_per_video
            checked = 0
            for k in (0, 1, 13, 14, 150, 151, 237, frames_per_video - 1):
                # Only frames unlike their neighbours tell a seek that lands one frame off.
                if any(np.array_equal(sequential[k], sequential[j]) for j in (k - 1, k + 1)
                       if 0 <= j < frames_per_video):
                    continue
                capture.set(cv2.CAP_PROP_POS_FRAMES, k)
                ok, frame = capture.read()
                assert ok and np.array_equal(frame, sequential[k]), (path, k)
                checked += 1
            assert checked >= 4
            capture.release()


def test_every_class_in_every_labelled_split_at_the_defaults():
    """The default dataset (9 games of 120 s, 30 events a minute): every class in every labelled
    split, PASS and DRIVE the most frequent, both teams, a few events not shown."""
    counts = {}
    teams, visibility = collections.Counter(), collections.Counter()
    for split in ("train", "valid", "test"):
        counts[split] = collections.Counter()
        for game in list_games(split, task="ball"):
            match = ball.simulate_ball_game(game)
            total = 0
            for half in match.halves:
                for event in half.events:
                    counts[split][LABELS_BALL[event.kind]] += 1
                    teams["left" if team_of(event.person) == half.left_team else "right"] += 1
                    visibility[event.visible] += 1
                    total += 1
            assert 45 <= total <= 75  # ~30 a minute
        assert set(counts[split]) == set(CLASSES_BALL), split
    overall = sum(counts.values(), collections.Counter())
    ranked = [label for label, _ in overall.most_common()]
    assert set(ranked[:2]) == {"PASS", "DRIVE"}
    assert overall["PASS"] > 3 * overall["SHOT"] and overall["DRIVE"] > 2 * overall["GOAL"]
    assert min(teams.values()) > 0.35 * sum(teams.values())
    assert 0 < visibility[False] < 0.1 * sum(visibility.values())


def test_every_v2_class_in_every_game_at_the_defaults():
    for split, count in ball.DEFAULT_V2_GAMES_PER_SPLIT.items():
        for game in list_games(split)[:count] if split != "challenge" else ():
            labels = [LABELS_V2[e.kind] for half in ball.simulate_v2_game(game).halves for e in half.events]
            assert set(labels) == set(CLASSES_V2), game


def test_deterministic_and_independent_of_the_other_games(trees, tmp_path):
    root, (train, _) = trees["2025"]
    alone = ball.write_dataset(tmp_path / "a", version="2025", games_per_split={"train": 1}, video_seconds=SHORT)
    other = ball.write_dataset(tmp_path / "b", version="2025", games_per_split={"train": 1},
                               video_seconds=SHORT, seed=1)
    assert alone == other == [train]

    def read(folder):
        with open(os.path.join(folder, train, BALL_LABEL_FILE), "rb") as f:
            return f.read()

    assert read(tmp_path / "a") == read(root)
    assert read(tmp_path / "b") != read(root)
    video = os.path.join(train, "224p.mp4")
    same, different = _frames(tmp_path / "a" / video), _frames(tmp_path / "b" / video)
    reference = _frames(root / video)
    assert all(np.array_equal(x, y) for x, y in zip(same, reference, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(different, reference, strict=True))


def test_2025_team_is_the_kit_of_the_player_at_the_ball(tmp_path):
    """Measured in the decoded video: near the ball at a kick, header or run, the shirt colour of
    the labelled side's team dominates."""
    game = list_games("test", task="ball")[0]
    ball.write_dataset(tmp_path, version="2025", games_per_split={"test": 1}, video_seconds=60)
    match = ball.simulate_ball_game(game, video_seconds=60)
    broadcast = Broadcast(match.view, match.look_rng())
    frames = _frames(tmp_path / game / "224p.mp4")
    kits = match.shirts[[0, TEAM_SIZE]].astype(int)  # team 0, team 1
    first_half = match.halves[0].footage.frames
    agree = measured = 0
    for a in read_labels(tmp_path / game / BALL_LABEL_FILE, classes=CLASSES_BALL):
        if not a.visible or a.label in ("GOAL", "OUT"):  # the actor is away from the ball there
            continue
        frame = a.frame(FPS)
        h = int(frame >= first_half)
        footage, t = match.halves[h].footage, frame - h * first_half
        u, v = (round(float(c)) for c in broadcast.pixels(footage.ball[t, :2], float(footage.camera_x[t])))
        window = frames[frame][max(v - 12, 0):v + 2, max(u - 5, 0):u + 6].reshape(-1, 3).astype(int)
        distance = np.abs(window[:, None, :] - kits[None]).sum(-1)  # [pixels, 2]
        votes = np.bincount(distance.argmin(1)[distance.min(1) < 90], minlength=2)
        if votes.sum() == 0:
            continue
        team = int(votes[1] > votes[0])
        measured += 1
        agree += ("left" if team == match.halves[h].left_team else "right") == a.team
    assert measured >= 20
    assert agree >= 0.85 * measured, (agree, measured)


def test_v2_video_dataset(tmp_path):
    games = ball.write_v2_video_dataset(tmp_path, games_per_split={"valid": 1, "challenge": 1}, half_seconds=20)
    assert games == [list_games("valid")[0], list_games("challenge")[0]]
    valid, challenge = games
    assert _files(tmp_path) == sorted(
        [os.path.join(valid, f) for f in ["1_224p.mkv", "2_224p.mkv", LABEL_FILE]]
        + [os.path.join(challenge, f) for f in ["1_224p.mkv", "2_224p.mkv"]])
    with open(tmp_path / valid / LABEL_FILE) as f:
        document = json.load(f)
    assert set(document) == {"UrlLocal", "UrlYoutube", "gameHomeTeam", "gameAwayTeam", "gameDate",
                             "gameScore", "annotations"}
    annotations = read_labels(tmp_path / valid / LABEL_FILE, classes=CLASSES_V2)
    assert {a.half for a in annotations} == {1, 2}
    assert {a.team for a in annotations} <= {"home", "away"}
    for half in (1, 2):
        capture = cv2.VideoCapture(str(tmp_path / valid / f"{half}_224p.mkv"))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20 * FPS
        assert all(a.frame(FPS) < 20 * FPS for a in annotations if a.half == half)


def test_command_line(tmp_path, capsys):
    ball.main([str(tmp_path / "ball"), "--version", "2023", "--games", "valid=1", "--seconds", "10"])
    ball.main([str(tmp_path / "v2"), "--v2-video", "--games", "test=1", "--seconds", "10"])
    assert "1 games written" in capsys.readouterr().out
    assert len(_files(tmp_path / "ball")) == 3 and len(_files(tmp_path / "v2")) == 3
    with pytest.raises(SystemExit):
        ball.main([str(tmp_path), "--games", "train:3"])


@pytest.mark.parametrize("kwargs, message", [
    ({"version": "2022"}, "Unknown version"),
    ({"games_per_split": {"val": 1}}, "Unknown split"),
    ({"games_per_split": {"train": 5}}, "official split has 4"),
    ({"video_seconds": 9}, "video_seconds"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ball.write_dataset(tmp_path, **kwargs)
    assert not os.listdir(tmp_path)
