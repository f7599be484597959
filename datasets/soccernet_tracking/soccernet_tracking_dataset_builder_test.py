"""soccernet_tracking builder: a tiny synthetic tree builds, reads back as written, and bad
sequence folders fail with the file named. Plain pytest (DatasetBuilderTestCase needs TensorFlow)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from soccernet_datasets.soccernet_tracking import SequenceFileError, read_sequence
from zoo.data import tfds_sources
from zoo.errors import UserError
from zoo.formats import tracking as formats
from zoo.formats.tracking import TrackingFormatError
from zoo.formats.tracking import ROLES, role_class
from zoo.synthetic.tracking import write_soccernet_tracking


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("snmot")
    summary = write_soccernet_tracking(root, sequences_per_split={"train": 1, "test": 1, "challenge": 1},
                                       frames=8, width=192, height=108)
    challenge = next(iter(summary["challenge"]))
    shutil.rmtree(root / "challenge" / challenge / "gt")  # as distributed: no challenge labels
    return root, summary


def test_synthetic_tree_is_official(tree):
    root, summary = tree
    assert list(summary["test"]) == ["SNMOT-116"]  # the official test list's first sequence
    seq = read_sequence(root / "test" / "SNMOT-116")
    assert seq.info.seq_length == 8 and seq.info.frame_rate == 25 and len(seq.frames) == 8
    assert set(seq.roles.values()) >= {"ball"} and all(role_class(r) < len(ROLES) for r in seq.roles.values())
    assert seq.detections is not None and len(seq.groundtruth.frame) == summary["test"]["SNMOT-116"]["boxes"]


def test_frames_and_sequences_read_back(tree, tmp_path):
    root, _ = tree
    for view in ("frames", "sequences"):
        tfds_sources.prepare(f"soccernet_tracking/{view}", manual_dir=root, data_dir=tmp_path, progress=False)
    frames = tfds_sources.data_source("soccernet_tracking/frames", "test", data_dir=tmp_path, encoded=("image",))
    seq = read_sequence(root / "test" / "SNMOT-116")
    assert len(frames) == 8
    first = frames[0]
    with open(seq.frames[int(first["frame"]) - 1], "rb") as f:
        assert first["image"] == f.read()  # stored as it is
    rows = seq.groundtruth.frame == first["frame"]
    np.testing.assert_allclose(first["boxes"], seq.groundtruth.boxes[rows], rtol=1e-6)
    sequences = tfds_sources.data_source("soccernet_tracking/sequences", "challenge", data_dir=tmp_path)
    assert len(sequences) == 1 and sequences[0]["groundtruth"].shape == (0, 6)
    with pytest.raises(UserError, match="no split 'challenge'"):  # frames are labelled sequences only
        tfds_sources.data_source("soccernet_tracking/frames", "challenge", data_dir=tmp_path)


def _broken(tree, tmp_path, name):
    root, _ = tree
    copy = tmp_path / name
    shutil.copytree(root / "train" / next(iter(os.listdir(root / "train"))), copy)
    return copy


def test_bad_folders_name_the_file(tree, tmp_path):
    seq = _broken(tree, tmp_path, "SNMOT-900")
    (seq / "img1" / "000004.jpg").unlink()
    with pytest.raises(SequenceFileError, match="seqLength=8 but .* holds 7 frames"):
        read_sequence(seq)
    (seq / "img1" / "000009.jpg").write_bytes((seq / "img1" / "000001.jpg").read_bytes())
    with pytest.raises(SequenceFileError, match="000004.jpg: missing frame 4"):
        read_sequence(seq)
    seq = _broken(tree, tmp_path, "SNMOT-901")
    with open(seq / formats.GT_FILE, "a") as f:
        f.write("3,1,10,10,5\n")
    with pytest.raises(TrackingFormatError, match=r"gt\.txt:line \d+: 5 columns"):
        read_sequence(seq)
    seq = _broken(tree, tmp_path, "SNMOT-902")
    (seq / formats.GAMEINFO_FILE).write_text("[Sequence]\nnum_tracklets=0\n")
    with pytest.raises(SequenceFileError, match="gameinfo.ini: no trackletID_1"):
        read_sequence(seq)
