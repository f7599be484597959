"""zoo.synthetic.soccernet_v2 with players: the official calibration and detection files, player
layouts that carry the patterned classes, and detections that place the players where they are."""

from __future__ import annotations

import os

import numpy as np
import pytest

from zoo.formats import frame_detections as fd
from zoo.geometry import topview
from zoo.synthetic import soccernet_v2 as synthetic
from zoo.synthetic import soccernet_v2_players as players

KIND = "ResNET_TF2_PCA512"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("soccernet")
    written = synthetic.write_soccernet_v2(root, games_per_split={"train": 2, "challenge": 1}, half_seconds=300,
                                           events_per_half=30, with_players=True, set_piece_features="shared")
    return root, written


def test_every_half_gets_both_files_with_the_features_frame_count(tree):
    root, written = tree
    for game in written["train"] + written["challenge"]:
        for half in (1, 2):
            frames = len(np.load(os.path.join(root, game, f"{half}_{KIND}.npy")))
            calibration = fd.read_calibration(fd.calibration_path(os.path.join(root, game), half))
            detections = fd.read_players(fd.players_path(os.path.join(root, game), half))
            assert calibration.num_frames == detections.num_frames == frames
            assert calibration.image_size == detections.image_size == (224, 398)
            assert 8 <= detections.counts.mean() <= 23
            assert 0.7 < (calibration.confidence >= fd.CALIBRATION_THRESHOLD).mean() < 0.98  # close-ups lose it


def test_without_players_nothing_changes(tmp_path):
    plain = synthetic.write_soccernet_v2(
        tmp_path / "a", games_per_split={"train": 1}, half_seconds=30, events_per_half=3)
    synthetic.write_soccernet_v2(tmp_path / "b", games_per_split={"train": 1}, half_seconds=30, events_per_half=3,
                                 with_players=True)
    game = plain["train"][0]
    assert sorted(os.listdir(tmp_path / "a" / game)) == [f"1_{KIND}.npy", f"2_{KIND}.npy", "Labels-v2.json"]
    for name in os.listdir(tmp_path / "a" / game):  # the features and labels do not depend on the players
        assert (tmp_path / "a" / game / name).read_bytes() == (tmp_path / "b" / game / name).read_bytes()


def test_shared_set_piece_features_share_one_direction():
    distinct = synthetic.class_directions(KIND, 0)
    shared = synthetic.class_directions(KIND, 0, "shared")
    rows = [synthetic.CLASSES_V2.index(c) for c in synthetic.SET_PIECES]
    others = [i for i in range(17) if i not in rows]
    np.testing.assert_array_equal(shared[others], distinct[others])
    assert (shared[rows] == shared[rows[0]]).all() and not (distinct[rows] == distinct[rows[0]]).all()
    with pytest.raises(ValueError, match="set_piece_features"):
        synthetic.class_directions(KIND, 0, "same")


def _layouts(seed: int = 3):
    """The true positions of a long half at each patterned action: [(label, positions [23, 2], team)]."""
    rng = np.random.default_rng(seed)
    events = synthetic._events(rng, 1, 1800, 120)
    for event in events:
        event["visibility"] = "visible"
    scene = players.half_scene(rng, events, 3600, 2, home_sign=1.0)
    found = []
    for _, start, end, event in players._windows(events, 3600, 2):
        frame = int(2 * int(event["position"]) / 1000)
        if start <= frame - 2 and end - frame >= 6:  # in place before the action, held a second after
            found.append((event["label"], scene["positions"][frame], event["team"]))
            found.append((event["label"], scene["positions"][frame + 2], event["team"]))
    return found


def test_layouts_hold_after_the_action_until_the_next_one():
    rng = np.random.default_rng(3)
    events = synthetic._events(rng, 1, 1800, 120)
    frames = sorted(int(2 * int(e["position"]) / 1000) for e in events)
    windows = players._windows(events, 3600, 2)
    assert len(windows) > 20
    previous_end = -1
    for blend_start, start, end, event in windows:
        frame = int(2 * int(event["position"]) / 1000)
        following = [f for f in frames if f > frame]
        expected = min(frame + int(2 * players.LAYOUT_TAIL_S[event["label"]]), (following or [3600])[0] - 1, 3599)
        assert end == max(expected, frame)
        assert previous_end < blend_start <= start <= frame <= end  # no walking in during the last layout
        previous_end = end


def test_player_layouts_carry_the_patterned_classes():
    seen = set()
    for label, positions, _ in _layouts(3) + _layouts(4):
        outfield = np.delete(positions, [0, 11, players.REFEREE], axis=0)
        if label == "Penalty":
            spot_x = np.array([-41.5, 41.5])
            near_spot = np.abs(positions[:, 0, None] - spot_x).min(1) < 3.5
            assert near_spot.sum() >= 1
            penalty_area = (np.abs(outfield[:, 0]) > 36.5) & (np.abs(outfield[:, 1]) < 20.16)
            assert penalty_area.sum() <= 2  # the taker only (and maybe one straggler walking in)
        elif label == "Corner":
            corner = np.linalg.norm(np.abs(positions) - [52.5, 34.0], axis=1).min()
            in_box = (np.abs(outfield[:, 0]) > 36.5) & (np.abs(outfield[:, 1]) < 20.16)
            assert corner < 2.5 and in_box.sum() >= 10
        elif label == "Kick-off":
            at_centre = np.linalg.norm(positions[:22], axis=1) < 1.5
            in_circle = np.linalg.norm(positions[:22], axis=1) < 9.15
            assert at_centre.sum() == 2 and in_circle.sum() == 2
            home, away = positions[:11, 0], positions[11:22, 0]
            assert (np.sign(home) == -np.sign(away.mean())).mean() >= 10 / 11  # two halves
        elif label == "Direct free-kick":
            distances = np.linalg.norm(outfield[:, None] - outfield[None], axis=-1)
            assert (np.sort(distances, axis=1)[:, 3] < 2.2).any()  # 4 players shoulder to shoulder
        elif label == "Throw-in":
            assert (np.abs(positions[:22, 1]) > 34.4).any()  # the thrower beyond a touch line
        elif label in ("Yellow card", "Red card", "Yellow->red card"):
            around_referee = np.linalg.norm(positions[:22] - positions[players.REFEREE], axis=1) < 4.0
            assert around_referee.sum() >= 4
        seen.add(label)
    assert {"Penalty", "Corner", "Kick-off", "Direct free-kick", "Throw-in", "Yellow card"} <= seen


def test_detections_place_the_players_where_they_stand():
    rng = np.random.default_rng(5)
    events = synthetic._events(rng, 1, 300, 20)
    scene = players.half_scene(rng, events, 600, 2, home_sign=-1.0)
    calibration, detections = players.half_detections(rng, scene, players.team_colours(rng), 2)
    placed = topview.players_on_pitch(calibration, detections)
    main = placed.calibrated & ~scene["close_up"]
    assert main.mean() > 0.7 and not placed.calibrated[scene["close_up"]].any()
    errors = []
    for frame in np.flatnonzero(main)[::7]:
        found = placed.positions[frame][placed.mask[frame]]
        truth = scene["positions"][frame]
        errors.extend(np.linalg.norm(found[:, None] - truth[None], axis=-1).min(1))
    errors = np.asarray(errors)
    assert len(errors) > 100 and np.median(errors) < 0.5 and np.quantile(errors, 0.9) < 2.0
