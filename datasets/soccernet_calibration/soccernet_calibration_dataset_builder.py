"""soccernet_calibration: SoccerNet camera calibration 2023, one example per image.

Reads the tree that unzipping the official `calibration-2023` downloads gives
(`<manual_dir>/{train,valid,test,challenge}/<idx>.jpg` and, except for challenge, `<idx>.json`;
see `zoo.formats.calibration`) and stores each JPEG as it is, with its annotated points as ragged
features. Runs without TensorFlow: build it with `python -m soccernet_datasets.build
soccernet_calibration`, read it with `zoo.data.tfds_sources.data_source`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import cv2
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from zoo.formats import calibration as formats
from zoo.geometry.pitch import CLASS_INDEX, LINE_CLASSES

_LOG = logging.getLogger(__name__)
_HOMEPAGE = "https://github.com/SoccerNet/sn-calibration"
SPLITS = ("train", "valid", "test", "challenge")
_IMAGE_NAME = re.compile(r"(?P<idx>[0-9]+)\.jpg")
_JPEG_SIGNATURE = b"\xff\xd8\xff"


def _instructions() -> str:
    return """\
Download the calibration data with the official `SoccerNet` package (`pip install SoccerNet`;
the 2023 calibration data needs the NDA password):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadDataTask(task="calibration-2023", split=["train", "valid", "test", "challenge"])

This writes `/path/to/SoccerNet/calibration-2023/{train,valid,test,challenge}.zip`. Unzip them in
place so that the split folders sit side by side:

    cd /path/to/SoccerNet/calibration-2023
    for split in train valid test challenge; do unzip -q $split.zip; done

giving `calibration-2023/<split>/<idx>.jpg` and `<idx>.json` (no JSON for challenge). Then build,
pointing --manual_dir at that folder:

    python -m soccernet_datasets.build soccernet_calibration \\
        --manual_dir /path/to/SoccerNet/calibration-2023 --data_dir ~/tensorflow_datasets

Split folders missing from the manual dir are left out with a warning.
"""


def read_jpeg(path: epath.Path) -> tuple[bytes, int, int]:
    """The bytes of a JPEG image and its (height, width); raises `CalibrationFormatError` naming
    the file when it is not a decodable JPEG."""
    data = path.read_bytes()
    if not data.startswith(_JPEG_SIGNATURE):
        raise formats.CalibrationFormatError(path, "not a JPEG file (no JPEG signature)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise formats.CalibrationFormatError(path, "not a readable JPEG image (truncated or corrupt?)")
    return data, image.shape[0], image.shape[1]


def flatten_annotation(lines, path) -> tuple[np.ndarray, np.ndarray]:
    """(point_class [N] int64, point_xy [N, 2] float64) of an annotation, checked: every
    coordinate in [0, 1] (the file is named otherwise)."""
    classes, points = [], []
    for name, xy in lines.items():
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        outside = ~((xy >= 0.0) & (xy <= 1.0)).all(axis=1)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise formats.CalibrationFormatError(
                path, f"{name!r}[{i}]: point ({float(xy[i, 0])!r}, {float(xy[i, 1])!r}) is outside the image "
                "(coordinates are normalised to [0, 1])")
        classes.append(np.full(len(xy), CLASS_INDEX[name], np.int64))
        points.append(xy)
    if not classes:
        return np.zeros(0, np.int64), np.zeros((0, 2), np.float64)
    return np.concatenate(classes), np.concatenate(points)


def list_split(folder: epath.Path, split: str) -> list[tuple[str, epath.Path | None, epath.Path | None]]:
    """(idx, image path, annotation path or None) of a split folder, in idx order; raises
    `CalibrationFormatError` for an annotation without its image, and, in a labelled split, for an
    image without its annotation."""
    images, annotations = {}, {}
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        if (match := _IMAGE_NAME.fullmatch(path.name)) is not None:
            images[match["idx"]] = path
        elif (match := formats.ANNOTATION_NAME.fullmatch(path.name)) is not None:
            annotations[match["idx"]] = path
    for idx, path in sorted(annotations.items()):
        if idx not in images:
            raise formats.CalibrationFormatError(path, f"no image {idx}.jpg beside this annotation")
    if split != "challenge":
        for idx, path in sorted(images.items()):
            if idx not in annotations:
                raise formats.CalibrationFormatError(
                    path, f"no annotation {idx}.json beside this image (the {split} split is labelled)")
    return [(idx, images[idx], annotations.get(idx)) for idx in sorted(images)]


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet camera calibration 2023: images and annotated pitch-line points."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _instructions()

    def __init__(self, *, file_format: str | None = None, **kwargs):
        # array_record by default: random access for grain, and tfrecord would need TensorFlow.
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(
                    shape=(None, None, 3), encoding_format="jpeg", doc="the original JPEG bytes"),
                "image_id": tfds.features.Text(doc="the file's digits, e.g. 00042"),
                "height": tfds.features.Scalar(np.int32, doc="image height in pixels"),
                "width": tfds.features.Scalar(np.int32, doc="image width in pixels"),
                "has_annotation": tfds.features.Scalar(np.bool_, doc="False for challenge images"),
                "point_class": tfds.features.Sequence(
                    tfds.features.ClassLabel(names=list(LINE_CLASSES)),
                    doc="line class of each annotated point (official lines_classes order)"),
                # Raw bytes: a tf.Example float list would round the float64 values to float32.
                "point_xy": tfds.features.Tensor(
                    shape=(None, 2), dtype=np.float64, encoding=tfds.features.Encoding.BYTES,
                    doc="annotated points, normalised to [0, 1], grouped by class in file order"),
            }),
            homepage=_HOMEPAGE,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        found = {}
        for split in SPLITS:
            if not (manual_dir / split).is_dir():
                _LOG.warning("%s: no %r folder in %s; the split is left out.", self.name, split,
                             manual_dir)
                continue
            found[split] = list_split(manual_dir / split, split)
        if not found:
            raise FileNotFoundError(
                f"No calibration split folder ({', '.join(SPLITS)}) in the manual dir "
                f"{manual_dir}. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        return {split: self._generate_examples(split, items) for split, items in found.items()}

    def _generate_examples(self, split: str, items) -> Iterator[tuple[str, dict]]:
        for idx, image_path, annotation_path in items:
            data, height, width = read_jpeg(image_path)
            if annotation_path is None:
                classes, points = np.zeros(0, np.int64), np.zeros((0, 2), np.float64)
            else:
                lines = formats.read_annotation(annotation_path)
                classes, points = flatten_annotation(lines, annotation_path)
            yield f"{split}/{idx}", {
                "image": data,
                "image_id": idx,
                "height": height,
                "width": width,
                "has_annotation": annotation_path is not None,
                "point_class": classes,
                "point_xy": points,
            }


def annotation_of(record) -> dict[str, np.ndarray]:
    """class -> normalised points [n, 2] of a dataset record, in stored order."""
    classes = np.asarray(record["point_class"]).reshape(-1)
    points = np.asarray(record["point_xy"], np.float64).reshape(-1, 2)
    lines: dict[str, np.ndarray] = {}
    for index in dict.fromkeys(classes.tolist()):  # first-seen order
        lines[LINE_CLASSES[index]] = points[classes == index]
    return lines
