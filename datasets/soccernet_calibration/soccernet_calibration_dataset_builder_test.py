"""soccernet_calibration builder: builds from a tiny synthetic tree, reads back, fails loudly.

Plain pytest: `tfds.testing.DatasetBuilderTestCase` needs TensorFlow.
"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from etils import epath

from soccernet_datasets.soccernet_calibration import Builder  # noqa: F401 (registers the builder)
from soccernet_datasets.soccernet_calibration.soccernet_calibration_dataset_builder import (
    annotation_of,
    flatten_annotation,
    list_split,
    read_jpeg,
)
from zoo.data import tfds_sources
from zoo.formats import calibration as formats
from zoo.synthetic.calibration import write_soccernet_calibration

NAME = "soccernet_calibration"
COUNTS = {"train": 3, "valid": 2, "challenge": 1}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibration-2023")
    write_soccernet_calibration(root, images_per_split=COUNTS, width=96, height=54, seed=1)
    return root


@pytest.fixture(scope="module")
def built(tree, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    tfds_sources.prepare(NAME, manual_dir=tree, data_dir=data_dir, progress=False)
    return data_dir


@pytest.mark.parametrize("split", sorted(COUNTS))
def test_read_back_equals_the_official_files(tree, built, split):
    source = tfds_sources.data_source(NAME, split, data_dir=built, encoded=("image",))
    assert len(source) == COUNTS[split]
    for i in range(len(source)):
        record = source[i]
        idx = record["image_id"].decode()
        assert record["image"] == (tree / split / f"{idx}.jpg").read_bytes()  # the JPEG as it is
        assert (record["height"], record["width"]) == (54, 96)
        if split == "challenge":
            assert not record["has_annotation"] and len(record["point_xy"]) == 0
            continue
        assert record["has_annotation"]
        expected = formats.read_annotation(tree / split / f"{idx}.json")
        got = annotation_of(record)
        assert list(got) == list(expected)  # classes in file order (trailing space kept)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name])  # float64, bit for bit


def test_bad_files_are_named(tree, tmp_path):
    split = tmp_path / "train"
    shutil.copytree(tree / "train", split)
    idx = sorted(p.stem for p in split.glob("*.jpg"))[0]
    annotation = json.loads((split / f"{idx}.json").read_text())

    (split / f"{idx}.json").write_text(json.dumps({**annotation, "Side line middle": [{"x": 0.1, "y": 0.2}]}))
    with pytest.raises(formats.CalibrationFormatError, match=rf"{idx}\.json: unknown line class 'Side line middle'"):
        formats.read_annotation(split / f"{idx}.json")

    outside = {"Side line top": [{"x": 0.1, "y": 0.2}, {"x": 1.02, "y": 0.3}]}
    with pytest.raises(formats.CalibrationFormatError, match=r"x\.json: 'Side line top'\[1\]: point \(1\.02, 0\.3\) is outside"):
        flatten_annotation(formats.parse_annotation(outside), epath.Path("x.json"))

    (split / f"{idx}.json").write_text(json.dumps(annotation))
    (split / "99999.json").write_text(json.dumps(annotation))
    with pytest.raises(formats.CalibrationFormatError, match=r"99999\.json: no image 99999\.jpg"):
        list_split(epath.Path(split), "train")
    (split / "99999.json").unlink()

    (split / f"{idx}.json").unlink()
    with pytest.raises(formats.CalibrationFormatError, match=rf"{idx}\.jpg: no annotation {idx}\.json"):
        list_split(epath.Path(split), "train")
    assert len(list_split(epath.Path(split), "challenge")) == COUNTS["train"]  # images only is fine there

    jpeg = (split / f"{idx}.jpg").read_bytes()
    (split / f"{idx}.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    with pytest.raises(formats.CalibrationFormatError, match=rf"{idx}\.jpg: not a readable JPEG"):
        read_jpeg(epath.Path(split / f"{idx}.jpg"))
    ok, png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    (split / f"{idx}.jpg").write_bytes(png.tobytes())
    with pytest.raises(formats.CalibrationFormatError, match="not a JPEG file"):
        read_jpeg(epath.Path(split / f"{idx}.jpg"))


def test_a_build_with_a_bad_file_fails_with_the_file_named(tree, tmp_path):
    manual = tmp_path / "manual"
    shutil.copytree(tree / "valid", manual / "valid")
    idx = sorted(p.stem for p in (manual / "valid").glob("*.json"))[0]
    (manual / "valid" / f"{idx}.json").write_text(json.dumps({"Circle centre": [{"x": 0.5, "y": 0.5}]}))
    with pytest.raises(formats.CalibrationFormatError, match=rf"valid/{idx}\.json: unknown line class 'Circle centre'"):
        tfds_sources.prepare(NAME, manual_dir=manual, data_dir=tmp_path / "tfds", progress=False)
