"""soccernet_v2_features builder: builds from a tiny synthetic tree, reads back, fails loudly.

Plain pytest: `tfds.testing.DatasetBuilderTestCase` needs TensorFlow.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow_datasets as tfds

from soccernet_datasets.soccernet_v2_features import GameFileError
from zoo.data import tfds_sources
from zoo.errors import UserError
from zoo.formats.spotting import CLASSES_V2, FEATURE_KINDS, LABEL_FILE, SpottingFormatError, read_labels
from zoo.synthetic.soccernet_v2 import write_soccernet_v2

NAME = "soccernet_v2_features/ResNET_TF2_PCA512"
KIND = "ResNET_TF2_PCA512"
TINY = dict(half_seconds=30, events_per_half=4)
GAMES = {"train": 2, "valid": 1, "test": 1, "challenge": 1}
SPLITS = tuple(GAMES)


def _write_tree(root, games=None, **kwargs):
    return write_soccernet_v2(root, games_per_split=games or GAMES, **{**TINY, **kwargs})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A synthetic tree and the dataset built from it: (manual_dir, games written, data_dir)."""
    root = tmp_path_factory.mktemp("soccernet")
    written = _write_tree(root)
    data_dir = tmp_path_factory.mktemp("tfds")
    tfds_sources.prepare(NAME, manual_dir=root, data_dir=data_dir)
    return root, written, data_dir


def _expected_examples(root, written, split, kind=KIND):
    """What the generator wrote, per example key `<game>/<half>`."""
    fps = FEATURE_KINDS[kind][1]
    expected = {}
    for game in written[split]:
        labels = [] if split == "challenge" else read_labels(os.path.join(root, game, LABEL_FILE))
        for half in (1, 2):
            events = [a for a in labels if a.half == half]
            expected[f"{game}/{half}"] = {
                "features": np.load(os.path.join(root, game, f"{half}_{kind}.npy")),
                "label": [CLASSES_V2.index(a.label) for a in events],
                "position_ms": [a.position_ms for a in events],
                "game_time_s": [a.game_time_s for a in events],
                "visible": [a.visible for a in events],
                "team": [a.team.encode() for a in events],
                "frame": [a.frame(fps) for a in events],
            }
    return expected


@pytest.mark.parametrize("split", SPLITS)
def test_read_back_equals_what_the_generator_wrote(built, split):
    root, written, data_dir = built
    source = tfds_sources.data_source(NAME, split, data_dir=data_dir)
    expected = _expected_examples(root, written, split)
    assert len(source) == len(expected) == 2 * GAMES[split]
    fps = source.dataset_info.metadata["framerate"]
    seen = set()
    for i in range(len(source)):
        record = source[i]
        key = f"{record['game'].decode()}/{record['half']}"
        seen.add(key)
        want = expected[key]
        assert record["features"].dtype == np.float32
        assert record["features"].shape == want["features"].shape == (record["features"].shape[0], 512)
        np.testing.assert_array_equal(record["features"], want["features"])
        annotations = record["annotations"]
        assert len(annotations["label"]) == len(want["label"]) == (0 if split == "challenge" else 4)
        for field in ("label", "position_ms", "game_time_s", "visible", "team"):
            assert annotations[field].tolist() == want[field], field
        frames = (fps * annotations["position_ms"] // 1000).tolist()  # the official frame rule
        assert frames == want["frame"]
    assert seen == set(expected)


def test_record_structure(built):
    _, _, data_dir = built
    source = tfds_sources.data_source(NAME, "train", data_dir=data_dir)
    record = source[0]
    assert isinstance(record["game"], bytes)
    assert int(record["half"]) in (1, 2)
    annotations = record["annotations"]
    assert annotations["label"].dtype == np.int64
    assert annotations["position_ms"].dtype == np.int64
    assert annotations["game_time_s"].dtype == np.int32
    assert annotations["visible"].dtype == np.bool_
    assert annotations["team"].dtype == object and isinstance(annotations["team"][0], bytes)
    challenge = tfds_sources.data_source(NAME, "challenge", data_dir=data_dir)[0]["annotations"]
    assert {k: (v.shape, v.dtype) for k, v in challenge.items()} == {
        k: ((0,), v.dtype) for k, v in annotations.items()}
    info = source.dataset_info
    assert info.metadata == {"framerate": 2, "feature_dim": 512}
    assert info.features["annotations"]["label"].names == list(CLASSES_V2)
    # Without stacking, TFDS returns each Sequence field as a list of numpy scalars.
    plain = tfds_sources.data_source(NAME, "train", data_dir=data_dir, stack_sequences=False)[0]
    assert isinstance(plain["annotations"]["label"], list)


def test_reads_back_in_a_process_that_never_imports_the_builder(built):
    root, written, data_dir = built
    script = textwrap.dedent(f"""
        import json, sys
        import grain
        import tensorflow_datasets as tfds
        source = tfds.data_source({NAME!r}, split="valid", data_dir={str(data_dir)!r}, download=False)
        keys = sorted(
            grain.MapDataset.source(source)
            .map(lambda r: [r["game"].decode(), int(r["half"]), list(r["features"].shape),
                            len(r["annotations"]["label"])]))
        assert not any(m.startswith("soccernet_datasets") for m in sys.modules)
        print(json.dumps(keys))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=data_dir)
    assert result.returncode == 0, result.stderr
    expected = _expected_examples(root, written, "valid")
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got == sorted(
        [key.rsplit("/", 1)[0], int(key[-1]), list(want["features"].shape), len(want["label"])]
        for key, want in expected.items())


def test_one_warning_per_split_for_missing_games(tmp_path, caplog):
    _write_tree(tmp_path / "manual")
    with caplog.at_level(logging.WARNING):
        tfds_sources.prepare(NAME, manual_dir=tmp_path / "manual", data_dir=tmp_path / "data")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and "official" in r.getMessage()]
    assert len(warnings) == 4
    for split, official in (("train", 300), ("valid", 100), ("test", 100), ("challenge", 50)):
        [message] = [m for m in warnings if f"'{split}'" in m]
        assert f"{GAMES[split]} of the {official} official" in message


def test_other_config_uses_its_dimension_and_framerate(tmp_path):
    kind = "baidu_soccer_embeddings"
    games = {"train": 1, "valid": 1, "test": 1, "challenge": 1}
    written = _write_tree(tmp_path / "manual", games, feature_kinds=(kind,), half_seconds=12)
    source = tfds_sources.data_source(
        f"soccernet_v2_features/{kind}", "test", data_dir=tmp_path / "data",
        manual_dir=tmp_path / "manual")
    assert source.dataset_info.metadata == {"framerate": 1, "feature_dim": 8576}
    expected = _expected_examples(tmp_path / "manual", written, "test", kind)
    for record in (source[0], source[1]):
        want = expected[f"{record['game'].decode()}/{record['half']}"]
        np.testing.assert_array_equal(record["features"], want["features"])
        assert record["annotations"]["position_ms"].tolist() == want["position_ms"]


def test_max_examples_per_split(tmp_path):
    _write_tree(tmp_path / "manual")
    builder = tfds_sources.prepare(
        NAME, manual_dir=tmp_path / "manual", data_dir=tmp_path / "data", max_examples_per_split=1)
    assert {split: info.num_examples for split, info in builder.info.splits.items()} == {
        split: 1 for split in SPLITS}


def test_builds_array_record_by_default(tmp_path):
    builder = tfds.builder(NAME, data_dir=tmp_path)
    assert builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD


def test_data_source_of_an_unprepared_dataset_says_how_to_build_it(tmp_path):
    with pytest.raises(UserError, match="soccernet_datasets.build"):
        tfds_sources.data_source(NAME, "train", data_dir=tmp_path)


# Failures: each names the file (or the manual dir and split) and the problem.

SMALL = {"train": 1, "valid": 1, "test": 1, "challenge": 1}


@pytest.fixture
def tree(tmp_path):
    """A one-game-per-split tree; returns (manual_dir, split -> game folder)."""
    root = tmp_path / "manual"
    written = _write_tree(root, SMALL)
    return root, {split: os.path.join(root, games[0]) for split, games in written.items()}


def _build(root):
    tfds_sources.prepare(NAME, manual_dir=root, data_dir=root.parent / "data")


def _overwrite_npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


@pytest.mark.parametrize("split", ["train", "challenge"])
def test_missing_features_file(tree, split):
    root, games = tree
    path = os.path.join(games[split], f"2_{KIND}.npy")
    os.remove(path)
    with pytest.raises(GameFileError, match=re.escape(path) + ".*missing features file"):
        _build(root)


def test_truncated_features_file(tree):
    root, games = tree
    path = os.path.join(games["valid"], f"1_{KIND}.npy")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(GameFileError, match=re.escape(path) + ".*not a readable .npy"):
        _build(root)


def test_corrupt_features_file(tree):
    root, games = tree
    path = os.path.join(games["test"], f"1_{KIND}.npy")
    open(path, "wb").write(b"this is not a numpy file")
    with pytest.raises(GameFileError, match=re.escape(path) + ".*not a readable .npy"):
        _build(root)


def test_wrong_feature_dimension(tree):
    root, games = tree
    path = os.path.join(games["train"], f"1_{KIND}.npy")
    _overwrite_npy(path, np.zeros((60, 2048), np.float32))
    with pytest.raises(GameFileError, match=re.escape(path) + r".*\(60, 2048\).*512"):
        _build(root)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features(tree, bad):
    root, games = tree
    path = os.path.join(games["challenge"], f"2_{KIND}.npy")
    features = np.load(path)
    features[7, 3] = bad
    _overwrite_npy(path, features)
    with pytest.raises(GameFileError, match=re.escape(path) + ".*1 NaN or infinite values .*frame 7"):
        _build(root)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_missing_label_file(tree, split):
    root, games = tree
    path = os.path.join(games[split], LABEL_FILE)
    os.remove(path)
    with pytest.raises(GameFileError, match=re.escape(path) + ".*missing label file"):
        _build(root)


@pytest.mark.parametrize(
    "field, value, problem",
    [("label", "Bicycle kick", "unknown label"), ("gameTime", "1 - 5", "malformed gameTime")])
def test_bad_label_file(tree, field, value, problem):
    root, games = tree
    path = os.path.join(games["valid"], LABEL_FILE)
    labels = json.load(open(path))
    labels["annotations"][1][field] = value
    json.dump(labels, open(path, "w"))
    with pytest.raises(SpottingFormatError, match=re.escape(path) + f".*{problem}"):
        _build(root)


def test_split_with_no_game_is_left_out_and_reading_it_says_so(tree, caplog):
    """Users often download only some splits (the downloader's default has no challenge)."""
    root, games = tree
    shutil.rmtree(games["challenge"])
    with caplog.at_level(logging.WARNING):
        _build(root)
    assert any("no game of the 'challenge' split" in r.getMessage() for r in caplog.records)
    data_dir = root.parent / "data"
    assert len(tfds_sources.data_source(NAME, "test", data_dir=data_dir)) == 2
    with pytest.raises(UserError, match="has no split 'challenge'.*rebuild"):
        tfds_sources.data_source(NAME, "challenge", data_dir=data_dir)


def test_no_game_of_any_split(tree):
    root, games = tree
    for folder in games.values():
        shutil.rmtree(folder)
    os.makedirs(root / "unrelated")  # not empty, so TFDS's own empty-dir check does not fire
    with pytest.raises(FileNotFoundError, match=f"No game of any official split found in the manual dir {re.escape(str(root))}"):
        _build(root)


def test_empty_manual_dir_prints_the_download_instructions(tmp_path):
    (tmp_path / "manual").mkdir()
    with pytest.raises(UserError, match="SoccerNetDownloader"):
        _build(tmp_path / "manual")
