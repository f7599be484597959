"""The synthetic SoccerNet-Caption tree: official layout and schema, deterministic, and a signal
that says when a caption is spoken and which template it is."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from zoo.formats import captioning as formats
from zoo.formats.splits import list_games
from zoo.formats.spotting import FEATURE_KINDS
from zoo.synthetic import soccernet_caption as synthetic
from zoo.synthetic.soccernet_v2 import class_directions

GAMES = {"train": 2, "test": 1, "challenge": 1}
KINDS = ("ResNET_TF2_PCA512", "baidu_soccer_embeddings")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("caption")
    written = synthetic.write_soccernet_caption(root, games_per_split=GAMES, feature_kinds=KINDS, half_seconds=200,
                                                captions_per_half=4)
    return root, written


def test_official_layout_and_schema(tree):
    root, written = tree
    assert {split: len(games) for split, games in written.items()} == GAMES
    assert written["train"] == list(list_games("train", task="caption")[:2])
    for split, games in written.items():
        for game in games:
            folder = root / game
            for kind in KINDS:
                dim, fps = FEATURE_KINDS[kind]
                for half in (1, 2):
                    features = np.load(folder / f"{half}_{kind}.npy")
                    assert features.dtype == np.float32 and features.shape[1] == dim
                    assert 180 * fps <= len(features) <= 200 * fps  # 90-100% of the half, at the kind's rate
            if split == "challenge":
                assert not (folder / formats.LABEL_FILE).exists()
                continue
            document = json.loads((folder / formats.LABEL_FILE).read_text(encoding="utf-8"))
            assert document["UrlLocal"] == game + "/"
            annotations = formats.read_labels(folder / formats.LABEL_FILE)  # the official reading, strict
            assert len(annotations) == 8 and {a.half for a in annotations} == {1, 2}
            for entry, annotation in zip(document["annotations"], annotations):
                assert set(entry) == {"gameTime", "label", "description", "identified", "anonymized"}
                assert annotation.anonymized in synthetic.TEMPLATES[annotation.label]
                assert "[" not in annotation.description  # the names filled in


def test_deterministic_and_independent_of_the_other_games(tree, tmp_path):
    root, written = tree
    game = written["train"][1]
    synthetic.write_game(tmp_path, game, feature_kinds=KINDS[:1], half_seconds=200, captions_per_half=4)
    for name in (formats.LABEL_FILE, f"1_{KINDS[0]}.npy"):
        assert (tmp_path / game / name).read_bytes() == (root / game / name).read_bytes()


def test_features_carry_the_template_of_each_caption(tree):
    """Around each caption, the features point along its template's direction, and nowhere else."""
    root, written = tree
    kind = KINDS[0]
    _, fps = FEATURE_KINDS[kind]
    directions = class_directions(kind, classes=synthetic.SIGNALS)
    hits = 0
    for game in written["train"]:
        annotations = formats.read_labels(os.path.join(root, game, formats.LABEL_FILE))
        for half in (1, 2):
            features = np.load(os.path.join(root, game, f"{half}_{kind}.npy"))
            projections = features @ directions.T  # [frames, signals]
            for a in (a for a in annotations if a.half == half):
                frame = a.seconds * fps
                best = int(np.argmax(projections[frame]))
                kind_name, variant = synthetic.SIGNALS[best].rsplit("/", 1)
                hits += kind_name == a.label and synthetic.TEMPLATES[kind_name][int(variant)] == a.anonymized
            quiet = np.ones(len(features), bool)
            for a in (a for a in annotations if a.half == half):
                reach = int(4 * synthetic.BUMP_SIGMA_S * fps)
                quiet[max(a.seconds * fps - reach, 0): a.seconds * fps + reach] = False
            assert np.abs(projections[quiet]).max() < 5.0  # only noise far from any caption
    assert hits == 16  # the template of every caption is readable from its frame


def test_bad_arguments():
    with pytest.raises(ValueError, match="official caption split has"):
        synthetic.write_soccernet_caption("/nonexistent", games_per_split={"challenge": 43})
    with pytest.raises(ValueError, match="Unknown feature kind"):
        synthetic.write_soccernet_caption("/nonexistent", feature_kinds=("I3D",))
