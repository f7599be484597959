"""soccernet_reid builder: builds from a tiny synthetic tree, reads back, fails loudly.

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

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from soccernet_datasets.soccernet_reid import Builder
from zoo.data import tfds_sources
from zoo.errors import UserError
from zoo.formats.reid import ReidFormatError, list_split
from zoo.synthetic.reid import write_soccernet_reid

NAME = "soccernet_reid"
TINY = dict(actions_per_split={"train": 3, "valid": 1, "test": 1, "challenge": 1},
            players_per_action=(4, 6), image_scale=0.5)
SPLITS = ("train", "valid_query", "valid_gallery", "test_query", "test_gallery",
          "challenge_query", "challenge_gallery")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny synthetic tree and the dataset built from it: (manual_dir, counts, data_dir)."""
    root = tmp_path_factory.mktemp("reid")
    counts = write_soccernet_reid(root, **TINY)
    data_dir = tmp_path_factory.mktemp("tfds")
    tfds_sources.prepare(NAME, manual_dir=root, data_dir=data_dir, progress=False)
    return root, counts, data_dir


def _official(split_name: str) -> tuple[str, str]:
    split, _, subset = split_name.partition("_")
    return split, subset or "train"


@pytest.mark.parametrize("split_name", SPLITS)
def test_read_back_equals_what_the_generator_wrote(built, split_name):
    root, counts, data_dir = built
    split, subset = _official(split_name)
    source = tfds_sources.data_source(NAME, split_name, data_dir=data_dir)
    expected = {s.path: s for s in list_split(root, split) if s.subset == subset}
    assert len(source) == len(expected) == counts[split][subset]
    seen = set()
    for i in range(len(source)):
        record = source[i]
        path = record["image_path"].decode()
        seen.add(path)
        want = expected[path]
        bgr = cv2.imread(os.path.join(root, path))
        np.testing.assert_array_equal(record["image"], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        assert record["image"].shape == (want.height, want.width, 3)
        assert (record["height"], record["width"]) == (want.height, want.width)
        assert (record["bbox_idx"], record["action_idx"]) == (want.bbox_idx, want.action_idx)
        if split == "challenge":
            assert (record["person_uid"], record["frame_idx"], record["pid"]) == (-1, -1, -1)
            assert record["role"] == record["jersey"] == record["game"] == record["action"] == b""
        else:
            assert (record["person_uid"], record["frame_idx"]) == (want.person_uid, want.frame_idx)
            assert record["role"].decode() == want.role
            assert record["jersey"].decode() == want.jersey
            assert record["game"].decode() == f"{want.league}/{want.season}/{want.game}"
            assert record["action"].decode() == want.action
            if split != "train":
                assert record["pid"] == -1
    assert seen == set(expected)


def test_train_pids_are_contiguous_in_uid_order(built):
    root, counts, data_dir = built
    source = tfds_sources.data_source(NAME, "train", data_dir=data_dir)
    pairs = {(source[i]["person_uid"], source[i]["pid"]) for i in range(len(source))}
    uids = sorted({uid for uid, _ in pairs})
    assert pairs == {(uid, pid) for pid, uid in enumerate(uids)}
    assert len(uids) == counts["train"]["identities"]
    assert source.dataset_info.metadata == {"num_train_identities": len(uids)}


def test_record_structure(built):
    _, _, data_dir = built
    record = tfds_sources.data_source(NAME, "valid_gallery", data_dir=data_dir)[0]
    assert record["image"].dtype == np.uint8 and record["image"].ndim == 3
    for key in ("image_path", "role", "jersey", "game", "action"):
        assert isinstance(record[key], bytes), key
    for key in ("pid", "person_uid", "bbox_idx", "action_idx", "frame_idx", "height", "width"):
        assert int(record[key]) == record[key], key
    features = tfds.builder(NAME, data_dir=data_dir).info.features
    assert {k: f.np_dtype for k, f in features.items() if k != "image"} == {
        "image_path": np.object_, "role": np.object_, "jersey": np.object_, "game": np.object_,
        "action": np.object_, "pid": np.int64, "person_uid": np.int64, "bbox_idx": np.int64,
        "action_idx": np.int64, "frame_idx": np.int64, "height": np.int32, "width": np.int32}


def test_reads_back_in_a_process_that_never_imports_the_builder(built):
    _, counts, data_dir = built
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow_datasets as tfds
        source = tfds.data_source(
            {NAME!r}, split="test_query", data_dir={str(data_dir)!r}, download=False)
        r = source[0]
        assert not any(m.startswith("soccernet_datasets") for m in sys.modules)
        print(json.dumps([len(source), list(r["image"].shape), int(r["person_uid"]),
                          source.dataset_info.metadata["num_train_identities"]]))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=data_dir)
    assert result.returncode == 0, result.stderr
    length, shape, uid, identities = json.loads(result.stdout.strip().splitlines()[-1])
    assert length == counts["test"]["query"] and len(shape) == 3 and uid >= 0
    assert identities == counts["train"]["identities"]


def test_builds_array_record_by_default(tmp_path):
    builder = tfds.builder(NAME, data_dir=tmp_path)
    assert isinstance(builder, Builder)
    assert builder.info.file_format == tfds.core.FileFormat.ARRAY_RECORD


# Failures and partial downloads.

SMALL = dict(actions_per_split={"train": 1, "valid": 1, "challenge": 1}, players_per_action=(3, 4),
             image_scale=0.4)


@pytest.fixture
def tree(tmp_path):
    """A one-action-per-split tree (no test split); returns (manual_dir, split -> samples)."""
    root = tmp_path / "manual"
    write_soccernet_reid(root, **SMALL)
    return root, {split: list_split(root, split) for split in ("train", "valid", "challenge")}


def _build(root):
    return tfds_sources.prepare(
        NAME, manual_dir=root, data_dir=root.parent / "data", progress=False)


def test_missing_split_folders_are_left_out_and_reading_them_says_so(tree, caplog):
    root, samples = tree
    with caplog.at_level(logging.WARNING):
        builder = _build(root)
    assert any("no 'test' folder" in r.getMessage() for r in caplog.records)
    assert set(builder.info.splits) == {
        "train", "valid_query", "valid_gallery", "challenge_query", "challenge_gallery"}
    with pytest.raises(UserError, match="has no split 'test_query'.*rebuild"):
        tfds_sources.data_source(NAME, "test_query", data_dir=root.parent / "data")


def test_no_train_split(tree):
    root, _ = tree
    shutil.rmtree(root / "train")
    builder = _build(root)
    assert "train" not in builder.info.splits
    assert builder.info.metadata["num_train_identities"] == 0


def test_no_split_at_all(tree):
    root, _ = tree
    for split in ("train", "valid", "challenge"):
        shutil.rmtree(root / split)
    # not empty (the bbox_info files stay), so TFDS's own empty-dir check does not fire
    match = f"No SoccerNet ReID split folder .* {re.escape(str(root))}"
    with pytest.raises(FileNotFoundError, match=match):
        _build(root)


def test_empty_manual_dir_prints_the_download_instructions(tmp_path):
    (tmp_path / "manual").mkdir()
    with pytest.raises(UserError, match="downloadDataTask"):
        _build(tmp_path / "manual")


@pytest.mark.parametrize("damage, problem", [
    (lambda data: data[: len(data) // 2], "not a readable PNG"),
    (lambda data: data[:8] + b"garbage" * 20, "not a readable PNG"),
    (lambda data: b"not an image at all", "not a PNG file"),
])
def test_unreadable_image(tree, damage, problem):
    root, samples = tree
    path = os.path.join(root, samples["valid"][-1].path)
    data = open(path, "rb").read()
    open(path, "wb").write(damage(data))
    with pytest.raises(ReidFormatError, match=re.escape(path) + f": {problem}"):
        _build(root)


def test_image_size_differs_from_its_name(tree):
    root, samples = tree
    sample = samples["train"][0]
    path = os.path.join(root, sample.path)
    image = cv2.imread(path)
    cv2.imwrite(path, image[:-3])
    size, named = f"{sample.height - 3}x{sample.width}", f"{sample.height}x{sample.width}"
    with pytest.raises(ReidFormatError, match=re.escape(path) + f".*is {size} .*says {named}"):
        _build(root)


@pytest.mark.parametrize("name", [
    "12-0-7-0-Player_team_left-7-uai-12x.png",  # no width
    "12-0-7-Player_team_left-7-uai-12x10.png",  # a field missing
    "x-0-7-0-Player_team_left-7-uai-12x10.png",  # bbox_idx not a number
])
def test_malformed_file_name(tree, name):
    root, samples = tree
    sample = samples["train"][0]
    bad = os.path.join(os.path.dirname(os.path.join(root, sample.path)), name)
    os.rename(os.path.join(root, sample.path), bad)
    with pytest.raises(ReidFormatError, match=re.escape(bad)):
        _build(root)


def test_challenge_name_with_labels_is_refused(tree):
    root, samples = tree
    sample = samples["challenge"][0]
    bad = os.path.join(root, "challenge", "query", "999-0-1-2-Main_referee-a-uai-10x5.png")
    os.rename(os.path.join(root, sample.path), bad)
    with pytest.raises(ReidFormatError, match=re.escape(bad)):
        _build(root)


def test_grey_and_alpha_pngs_read_back_as_rgb(tree):
    root, samples = tree
    grey, alpha = samples["train"][0], samples["train"][1]
    image = cv2.imread(os.path.join(root, grey.path))
    cv2.imwrite(os.path.join(root, grey.path), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    image = cv2.imread(os.path.join(root, alpha.path))
    cv2.imwrite(os.path.join(root, alpha.path), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    _build(root)
    source = tfds_sources.data_source(NAME, "train", data_dir=root.parent / "data")
    records = {source[i]["image_path"].decode(): source[i] for i in range(len(source))}
    for sample in (grey, alpha):
        assert records[sample.path]["image"].shape == (sample.height, sample.width, 3)
