"""zoo.synthetic.soccernet_v2: official layout and schema, determinism, a learnable signal."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from zoo.formats.splits import list_games
from zoo.formats.spotting import CLASSES_V2, LABEL_FILE, read_labels
from zoo.synthetic import soccernet_v2
from zoo.formats.spotting import FEATURE_KINDS
from zoo.synthetic.soccernet_v2 import write_soccernet_v2

KIND = "ResNET_TF2_PCA512"


@pytest.fixture(scope="module")
def default_tree(tmp_path_factory):
    """The default tree (6/2/2/1 games, 300 s halves): (root, split -> games)."""
    root = tmp_path_factory.mktemp("soccernet")
    return root, write_soccernet_v2(root)


def _files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_layout_is_a_subset_of_the_official_tree(default_tree):
    root, written = default_tree
    assert {split: len(games) for split, games in written.items()} == {
        "train": 6, "valid": 2, "test": 2, "challenge": 1}
    expected_files = []
    for split, games in written.items():
        assert games == list(list_games(split)[: len(games)])
        for game in games:
            names = [f"1_{KIND}.npy", f"2_{KIND}.npy"] + ([LABEL_FILE] if split != "challenge" else [])
            expected_files += [os.path.join(game, name) for name in names]
    assert _files(root) == sorted(expected_files)


def test_feature_files(tmp_path):
    written = write_soccernet_v2(
        tmp_path, games_per_split={"train": 1, "challenge": 1}, feature_kinds=tuple(FEATURE_KINDS),
        half_seconds=40, events_per_half=3)
    for game in written["train"] + written["challenge"]:
        for kind, (dim, fps) in FEATURE_KINDS.items():
            for half in (1, 2):
                features = np.load(os.path.join(tmp_path, game, f"{half}_{kind}.npy"))
                assert features.dtype == np.float32 and features.ndim == 2
                assert features.shape[1] == dim
                # Halves last 90-100% of half_seconds, like real halves of uneven length.
                assert 36 * fps <= features.shape[0] <= 40 * fps
                assert np.isfinite(features).all()


def test_label_file_schema(default_tree):
    root, written = default_tree
    game = written["train"][0]
    assert game.endswith("2015-02-21 - 18-00 Chelsea 1 - 1 Burnley")
    with open(os.path.join(root, game, LABEL_FILE)) as f:
        labels = json.load(f)
    assert labels == {
        "UrlLocal": game + "/", "UrlYoutube": "", "gameHomeTeam": "Chelsea",
        "gameAwayTeam": "Burnley", "gameDate": "21/02/2015 - 18:00", "gameScore": "1 - 1",
        "annotations": labels["annotations"]}
    assert len(labels["annotations"]) == 2 * 24
    order = []
    for entry in labels["annotations"]:
        assert set(entry) == {"gameTime", "label", "position", "team", "visibility"}
        match = re.fullmatch(r"([12]) - (\d\d):(\d\d)", entry["gameTime"])
        assert match, entry["gameTime"]
        assert isinstance(entry["position"], str) and entry["position"].isdigit()
        half, minutes, seconds = map(int, match.groups())
        assert 60 * minutes + seconds == int(entry["position"]) // 1000
        assert entry["label"] in CLASSES_V2
        assert entry["team"] in ("home", "away", "not applicable")
        assert entry["visibility"] in ("visible", "not shown")
        order.append((half, int(entry["position"])))
    assert order == sorted(order)
    # The zoo's reader of the official format accepts every file written.
    for split in ("train", "valid", "test"):
        for game in written[split]:
            assert len(read_labels(os.path.join(root, game, LABEL_FILE))) == 48


def test_events_fit_in_their_half_and_rarely_overlap(default_tree):
    root, written = default_tree
    for game in written["train"]:
        annotations = read_labels(os.path.join(root, game, LABEL_FILE))
        for half in (1, 2):
            frames = len(np.load(os.path.join(root, game, f"{half}_{KIND}.npy")))
            positions = np.array([a.position_ms for a in annotations if a.half == half])
            assert positions.min() > 0 and positions.max() < frames / 2 * 1000
            # 24 events in 270-300 s: at least 0.4 of a 11-12.5 s slot between neighbours.
            assert np.diff(positions).min() >= 4000


def test_class_frequencies_are_skewed_like_the_real_data(tmp_path):
    written = write_soccernet_v2(
        tmp_path, games_per_split={"train": 30}, half_seconds=60, events_per_half=24)
    counts = dict.fromkeys(CLASSES_V2, 0)
    visibility = []
    for game in written["train"]:
        for a in read_labels(os.path.join(tmp_path, game, LABEL_FILE)):
            counts[a.label] += 1
            visibility.append(a.visible)
    assert all(counts.values())  # every class shows up in a few dozen games
    for rare in ("Penalty", "Red card", "Yellow->red card"):
        for frequent in ("Ball out of play", "Throw-in", "Foul"):
            assert counts[rare] * 4 < counts[frequent]
    assert 0.8 < np.mean(visibility) < 0.97


def test_deterministic_given_the_seed(tmp_path):
    small = dict(games_per_split={"train": 2, "challenge": 1}, half_seconds=30, events_per_half=4)
    write_soccernet_v2(tmp_path / "a", **small)
    write_soccernet_v2(tmp_path / "b", **small)
    write_soccernet_v2(tmp_path / "c", **small, seed=1)
    # A game does not depend on which other games are written.
    write_soccernet_v2(tmp_path / "d", **{**small, "games_per_split": {"train": 1}})
    files = _files(tmp_path / "a")
    assert files == _files(tmp_path / "b") == _files(tmp_path / "c")

    def read(root, name):
        with open(os.path.join(root, name), "rb") as f:
            return f.read()

    for name in files:
        assert read(tmp_path / "a", name) == read(tmp_path / "b", name)
        assert read(tmp_path / "a", name) != read(tmp_path / "c", name)
    for name in _files(tmp_path / "d"):
        assert read(tmp_path / "a", name) == read(tmp_path / "d", name)


def _event_frames(root, games, offset_s=0.0):
    """Feature frames at (or `offset_s` after) every labelled event: `[n, dim]`, classes, visible."""
    x, y, visible = [], [], []
    for game in games:
        features = {h: np.load(os.path.join(root, game, f"{h}_{KIND}.npy")) for h in (1, 2)}
        for a in read_labels(os.path.join(root, game, LABEL_FILE)):
            frame = min(int(2 * (a.position_ms / 1000 + offset_s)), len(features[a.half]) - 1)
            x.append(features[a.half][frame])
            y.append(CLASSES_V2.index(a.label))
            visible.append(a.visible)
    return np.array(x), np.array(y), np.array(visible)


def test_the_signal_is_learnable_and_local_in_time(default_tree):
    """Class prototypes from the train games' event frames spot the test games' event classes."""
    root, written = default_tree
    x, y, _ = _event_frames(root, written["train"])
    prototypes = np.stack([x[y == c].mean(0) if (y == c).any() else np.zeros(x.shape[1])
                           for c in range(len(CLASSES_V2))])
    prototypes /= np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-6)
    majority = np.bincount(y).max() / len(y)

    def accuracy(offset_s):
        x_test, y_test, visible = _event_frames(root, written["test"], offset_s)
        correct = np.argmax(x_test @ prototypes.T, axis=1) == y_test
        return correct.mean(), correct[visible].mean()

    at_event, visible_at_event = accuracy(0.0)
    assert at_event > 0.6 and visible_at_event > 0.7  # chance is 1/17, the majority class ~0.15
    assert at_event > 3 * majority
    # The cue is a few seconds wide: 5 s away from the event it is (almost) gone.
    far, _ = accuracy(5.0)
    assert far < 0.25


def test_background_frames_carry_no_class(default_tree):
    root, written = default_tree
    game = written["train"][0]
    features = np.load(os.path.join(root, game, f"1_{KIND}.npy"))
    directions = soccernet_v2.class_directions(KIND)
    events = [a for a in read_labels(os.path.join(root, game, LABEL_FILE)) if a.half == 1]
    far = np.ones(len(features), bool)
    for a in events:
        far[max(a.frame(2) - 12, 0): a.frame(2) + 13] = False
    projections = features[far] @ directions.T
    assert abs(projections.mean()) < 0.1 and 0.9 < projections.std() < 1.1  # pure unit noise


def test_command_line(tmp_path, capsys):
    soccernet_v2.main([
        "--root", str(tmp_path), "--games", "valid=1,challenge=2", "--half_seconds", "20",
        "--events_per_half", "2", "--features", "ResNET_TF2_PCA512,ResNET_TF2"])
    assert "valid: 1 games" in capsys.readouterr().out
    files = _files(tmp_path)
    assert len(files) == 3 * 4 + 1  # 3 games x 4 feature files, labels for the valid game only
    assert sum(f.endswith(LABEL_FILE) for f in files) == 1
    with pytest.raises(SystemExit):
        soccernet_v2.main(["--root", str(tmp_path), "--games", "train:3"])


@pytest.mark.parametrize("kwargs, message", [
    ({"games_per_split": {"training": 1}}, "Unknown split"),
    ({"games_per_split": {"challenge": 51}}, "the official split has 50"),
    ({"feature_kinds": ("I3D",)}, "Unknown feature kind"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_soccernet_v2(tmp_path, **kwargs)
