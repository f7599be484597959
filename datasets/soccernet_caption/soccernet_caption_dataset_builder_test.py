"""soccernet_caption builder: builds from a tiny synthetic tree, reads back, carries its vocabulary,
follows the features' frame rate, and fails loudly on bad files.

Plain pytest: `tfds.testing.DatasetBuilderTestCase` needs TensorFlow. Building tokenizes the
captions with the PTB tokenizer, so Java is needed.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from soccernet_datasets.soccernet_caption import GameFileError

from zoo.data import caption_vocabulary, tfds_sources
from zoo.formats.captioning import LABEL_FILE, CaptioningFormatError, read_labels
from zoo.formats.spotting import FEATURE_KINDS
from zoo.synthetic.soccernet_caption import write_soccernet_caption

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="building tokenizes with Java")

GAMES = {"train": 2, "test": 1, "challenge": 1}
TINY = dict(half_seconds=60, captions_per_half=4)


def _build(root, data_dir, kind="ResNET_TF2_PCA512"):
    tfds_sources.prepare(f"soccernet_caption/{kind}", manual_dir=root, data_dir=data_dir, progress=False)
    return {split: tfds_sources.data_source(f"soccernet_caption/{kind}", split, data_dir=data_dir)
            for split in GAMES}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("caption")
    written = write_soccernet_caption(root, games_per_split=GAMES, feature_kinds=("ResNET_TF2_PCA512", "baidu_soccer_embeddings"),
                                     **TINY)
    return root, written, {kind: _build(root, tmp_path_factory.mktemp("tfds"), kind)
                           for kind in ("ResNET_TF2_PCA512", "baidu_soccer_embeddings")}


@pytest.mark.parametrize("kind", ["ResNET_TF2_PCA512", "baidu_soccer_embeddings"])
def test_read_back_equals_the_files_at_the_features_frame_rate(built, kind):
    root, _, sources = built
    dim, fps = FEATURE_KINDS[kind]
    texts, tokens = [], []
    for split, source in sources[kind].items():
        assert len(source) == 2 * GAMES[split]
        assert source.dataset_info.metadata["framerate"] == fps and source.dataset_info.metadata["feature_dim"] == dim
        for i in range(len(source)):
            record = source[i]
            game, half = record["game"].decode(), int(record["half"])
            features = np.load(root / game / f"{half}_{kind}.npy")
            np.testing.assert_array_equal(record["features"], features)
            captions = record["captions"]
            labels = [] if split == "challenge" else [a for a in read_labels(root / game / LABEL_FILE) if a.half == half]
            assert captions["seconds"].tolist() == [a.seconds for a in labels]
            assert [c.decode() for c in captions["anonymized"]] == [a.anonymized for a in labels]
            assert [c.decode() for c in captions["label"]] == [a.label for a in labels]
            texts += [a.anonymized for a in labels]
            tokens += [t.decode().split() for t in captions["tokens"]]
            # Every caption has its window in the features, at this kind's frame rate.
            assert all(s * fps < len(features) for s in captions["seconds"])
    assert tokens == caption_vocabulary.tokenize(texts)


def test_the_vocabulary_of_the_train_captions_is_in_the_metadata(built):
    _, _, sources = built
    train = sources["ResNET_TF2_PCA512"]["train"]
    tokens = [t.decode().split() for i in range(len(train)) for t in train[i]["captions"]["tokens"]]
    metadata = train.dataset_info.metadata
    assert metadata["vocabulary"] == list(caption_vocabulary.build(tokens, min_count=5))
    assert metadata["vocabulary_min_count"] == 5
    assert "[PLAYER]" in metadata["vocabulary"] and len(metadata["vocabulary"]) > 8
    assert sources["baidu_soccer_embeddings"]["test"].dataset_info.metadata["vocabulary"] == metadata["vocabulary"]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "manual"
    written = write_soccernet_caption(root, games_per_split={"train": 1, "test": 1}, **TINY)
    return root, root / written["train"][0]


def _edit_labels(game_dir, edit):
    path = game_dir / LABEL_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document["annotations"])
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, error, message", [
    (lambda a: a[2].update(label="goal-kick"), GameFileError, r"annotation 2 \(.*\): unknown caption label 'goal-kick'"),
    (lambda a: a[1].update(gameTime="1 - 5:7"), CaptioningFormatError, r"annotation 1: malformed gameTime '1 - 5:7'"),
    (lambda a: a[1].update(gameTime="3 - 01:00"), GameFileError, r"annotation 1 \(3 - 01:00\): half 3"),
    (lambda a: a[0].update(anonymized="[PLAYER] scores\r[TEAM] leads"), GameFileError,
     r"annotation 0 .*control character U\+000D"),
])
def test_bad_labels_name_the_file_and_the_annotation(tree, tmp_path, edit, error, message):
    root, game_dir = tree
    path = _edit_labels(game_dir, edit)
    with pytest.raises(error, match=re.escape(str(path)) + ": " + message):
        _build(root, tmp_path / "tfds")


def test_features_shorter_than_the_labelled_time(tree, tmp_path):
    root, game_dir = tree
    features = game_dir / "2_ResNET_TF2_PCA512.npy"
    seconds = max(a.seconds for a in read_labels(game_dir / LABEL_FILE) if a.half == 2)
    np.save(features, np.load(features)[: 2 * seconds - 3])  # 2 fps: ends 1.5 s before the last caption
    with pytest.raises(GameFileError, match=re.escape(str(features)) + f": {2 * seconds - 3} frames at 2 fps .* "
                       f"at second {seconds}: features shorter than the labelled time"):
        _build(root, tmp_path / "tfds")


def test_missing_files(tree, tmp_path):
    root, game_dir = tree
    (game_dir / LABEL_FILE).unlink()
    with pytest.raises(GameFileError, match=re.escape(str(game_dir / LABEL_FILE)) + ": missing label file"):
        _build(root, tmp_path / "tfds")
    (game_dir / "1_ResNET_TF2_PCA512.npy").unlink()
    with pytest.raises(GameFileError, match="1_ResNET_TF2_PCA512.npy: missing features file"):
        _build(root, tmp_path / "tfds2")
