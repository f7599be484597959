"""soccernet_jersey: SoccerNet jersey-number tracklets, one example per crop, plus tracklet views.

Reads the tree that unzipping the official `jersey-2023` downloads gives
(`<manual_dir>/{train,test,challenge}/images/<tracklet>/<tracklet>_<k>.jpg`,
`<manual_dir>/{train,test}/<split>_gt.json`, see `zoo.formats.jersey`) and writes

  train, valid, test, challenge    one example per crop, stored in (tracklet, frame) order

and, in the dataset's metadata, the per-tracklet view: `metadata["tracklets"][split]` lists
`[tracklet id, label, first crop index, number of crops]` in stored order, so a tracklet's crops
are `source[first : first + count]` (`zoo.data.jersey_tracklets` reads it).

The official data has no validation split: `valid` takes a share of the train tracklets (the
config's percentage, 30 % by default as Koshkina & Elder do), whole tracklets only. A tracklet
goes to `valid` when a hash of (seed, tracklet id) falls below the share, so the split depends on
nothing else (adding tracklets moves none) and is written into the dataset's metadata
(`valid_tracklets`). Runs without TensorFlow: `python -m soccernet_datasets.build soccernet_jersey`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import zlib
from collections.abc import Iterator

import cv2
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from zoo.formats import jersey as formats

_LOG = logging.getLogger(__name__)
_HOMEPAGE = "https://github.com/SoccerNet/sn-jersey"
_JPEG_SIGNATURE = b"\xff\xd8"
NUM_KEYPOINTS = 17  # COCO order, see zoo.synthetic.reid.COCO_KEYPOINTS
MAX_DIGITS = 2
DEFAULT_VALID_PERCENT = 30
UNKNOWN = -1  # legible / is_outlier where the data says nothing (all real data)


def _instructions() -> str:
    return """\
Download the SoccerNet jersey-number data with the official `SoccerNet` package
(`pip install SoccerNet`):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadDataTask(task="jersey-2023", split=["train", "test", "challenge"])

This writes `/path/to/SoccerNet/jersey-2023/{train,test,challenge}.zip`. Unzip them in place so
that `jersey-2023/train/images/<tracklet>/<tracklet>_<k>.jpg` and `jersey-2023/train/train_gt.json`
(and the same for test; challenge has no labels) exist, then build:

    python -m soccernet_datasets.build soccernet_jersey/valid30 \\
        --manual_dir /path/to/SoccerNet/jersey-2023 --data_dir ~/tensorflow_datasets

`valid30` holds out 30 % of the train tracklets as `valid`; any `valid<P>` with P in 0..50 works.
Split folders missing from the manual dir are left out with a warning.
"""


@dataclasses.dataclass
class JerseyConfig(tfds.core.BuilderConfig):
    """valid_percent: share of the train tracklets held out as `valid` (0 keeps them all in train).
    split_seed: salts the hash that picks them."""

    valid_percent: int = DEFAULT_VALID_PERCENT
    split_seed: int = 0


def config_name(valid_percent: int) -> str:
    return f"valid{valid_percent}"


def is_valid_tracklet(tracklet: str, valid_percent: int, split_seed: int = 0) -> bool:
    """Whether a train tracklet belongs to the held-out `valid` split (see the module doc)."""
    return zlib.crc32(f"{split_seed}:{tracklet}".encode()) % 10_000 < valid_percent * 100


def read_jpeg(path: epath.Path) -> tuple[bytes, int, int]:
    """The file's bytes as they are, with the image's height and width.

    Raises `JerseyFormatError` naming the file when it is not a JPEG or does not decode.
    """
    data = path.read_bytes()
    if not data.startswith(_JPEG_SIGNATURE):
        raise formats.JerseyFormatError(path, "not a JPEG file (no JPEG signature)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise formats.JerseyFormatError(path, "not a readable JPEG image (truncated or corrupt?)")
    return data, int(image.shape[0]), int(image.shape[1])


def _frame_truth(truth: dict | None, tracklet: str, name: str) -> dict:
    """The per-crop truth fields from `synthetic_truth/<split>.json`, or unknowns."""
    frame = ((truth or {}).get(tracklet) or {}).get("frames", {}).get(name)
    keypoints = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    digit_boxes = np.zeros((MAX_DIGITS, 4), np.float32)
    if frame is None:
        return {"legible": UNKNOWN, "text": "", "is_outlier": UNKNOWN, "keypoints": keypoints,
                "digit_boxes": digit_boxes}
    keypoints[:] = np.asarray(frame["keypoints"], np.float32)
    boxes = np.asarray(frame["digit_boxes"], np.float32).reshape(-1, 4)[:MAX_DIGITS]
    digit_boxes[: len(boxes)] = boxes
    return {"legible": int(frame["legible"]), "text": frame["text"],
            "is_outlier": int(frame["owner"] != "main"), "keypoints": keypoints,
            "digit_boxes": digit_boxes}


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet jersey numbers: player crops grouped in tracklets, one example per crop."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _instructions()
    BUILDER_CONFIGS = [
        JerseyConfig(name=config_name(p), valid_percent=p,
                     description=f"{p} % of the train tracklets held out as valid")
        for p in range(51)
    ]
    DEFAULT_BUILDER_CONFIG_NAME = config_name(DEFAULT_VALID_PERCENT)

    def __init__(self, *, file_format: str | None = None, **kwargs):
        # array_record by default: random access for grain, and tfrecord would need TensorFlow.
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        crop = tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg",
                                         doc="the crop, RGB (stored as the original JPEG bytes)"),
            "image_path": tfds.features.Text(doc="path relative to the manual dir, '/'-separated"),
            "tracklet": tfds.features.Text(doc="the tracklet id (its folder name)"),
            "frame": tfds.features.Scalar(np.int64, doc="k of <tracklet>_<k>.jpg; -1 for other names"),
            "label": tfds.features.Scalar(
                np.int64, doc="the tracklet's number, -1 when never visible; -1 without labels"),
            "has_label": tfds.features.Scalar(np.bool_, doc="whether the split has ground truth"),
            "height": tfds.features.Scalar(np.int32, doc="crop height in pixels"),
            "width": tfds.features.Scalar(np.int32, doc="crop width in pixels"),
            "legible": tfds.features.Scalar(
                np.int32, doc="synthetic truth: 1 if the whole number can be read, 0 if not, -1 unknown"),
            "text": tfds.features.Text(doc="synthetic truth: the number readable in this crop, or ''"),
            "is_outlier": tfds.features.Scalar(
                np.int32, doc="synthetic truth: 1 if the crop shows someone else, 0 if not, -1 unknown"),
            "keypoints": tfds.features.Tensor(
                shape=(NUM_KEYPOINTS, 3), dtype=np.float32,
                doc="synthetic truth: COCO keypoints (x, y, visibility 0/1/2) in pixels; zeros if unknown"),
            "digit_boxes": tfds.features.Tensor(
                shape=(MAX_DIGITS, 4), dtype=np.float32,
                doc="synthetic truth: (x0, y0, x1, y1) of each printed digit in pixels; zeros if none"),
        })
        return self.dataset_info_from_configs(
            features=crop, homepage=_HOMEPAGE, disable_shuffling=True,
            metadata=tfds.core.MetadataDict())

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        config = self.builder_config
        tracklets: dict[str, list[tuple[str, list[epath.Path]]]] = {}
        labels: dict[str, dict[str, int] | None] = {}
        truth: dict[str, dict | None] = {}
        for split in formats.SPLITS:
            folder = manual_dir / split
            if not folder.is_dir():
                _LOG.warning("%s: no %r folder in %s; the %s split is left out.", self.name, split,
                             manual_dir, split)
                continue
            labels[split] = self._labels(manual_dir, split)
            folders = formats.tracklet_folders(folder)
            if labels[split] is not None:
                missing = sorted(set(labels[split]) - set(folders), key=formats._numeric_first)  # noqa: SLF001
                extra = sorted(set(folders) - set(labels[split]), key=formats._numeric_first)  # noqa: SLF001
                if missing or extra:
                    raise formats.JerseyFormatError(
                        manual_dir / formats.groundtruth_file(split),
                        f"its tracklets and the folders of {folder / formats.IMAGES_FOLDER} differ: "
                        + "; ".join(part for part in (
                            f"no folder for {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else "")
                            if missing else "",
                            f"no label for {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else "")
                            if extra else "") if part))
            tracklets[split] = [(t, formats.tracklet_frames(f)) for t, f in folders.items()]
            truth_path = manual_dir / "synthetic_truth" / f"{split}.json"
            truth[split] = formats.load_json(truth_path) if truth_path.is_file() else None
        if not tracklets:
            raise FileNotFoundError(
                f"No SoccerNet jersey split folder ({', '.join(formats.SPLITS)}) found in the manual "
                f"dir {manual_dir}; point --manual_dir at the unzipped `jersey-2023` folder. "
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")

        parts: dict[str, list] = {}
        for split, items in tracklets.items():
            if split == "train":
                held = [x for x in items if is_valid_tracklet(x[0], config.valid_percent, config.split_seed)]
                kept = [x for x in items if not is_valid_tracklet(x[0], config.valid_percent, config.split_seed)]
                parts["train"], parts["valid"] = kept, held
                self.info.metadata["valid_tracklets"] = [t for t, _ in held]
                self.info.metadata["valid_rule"] = (
                    f"crc32('{config.split_seed}:<tracklet>') % 10000 < {config.valid_percent * 100}")
            else:
                parts[split] = items
        generators, views = {}, {}
        for name, items in parts.items():
            split = "train" if name == "valid" else name
            if not items:
                _LOG.warning("%s: the %s split has no tracklet (valid_percent=%d).", self.name, name,
                             config.valid_percent)
                continue
            generators[name] = self._generate_examples(manual_dir, split, items, labels[split], truth[split])
            first, view = 0, []
            for tracklet, frames in items:
                label = labels[split][tracklet] if labels[split] is not None else None
                view.append([tracklet, label, first, len(frames)])
                first += len(frames)
            views[name] = view
        self.info.metadata["tracklets"] = views
        return generators

    @staticmethod
    def _labels(manual_dir: epath.Path, split: str) -> dict[str, int] | None:
        path = manual_dir / formats.groundtruth_file(split)
        if not path.is_file():
            if split != "challenge":
                raise formats.JerseyFormatError(path, f"missing: the {split} split needs its ground truth")
            return None
        return formats.read_groundtruth(path)

    def _generate_examples(self, manual_dir, split, items, labels, truth) -> Iterator[tuple[int, dict]]:
        index = 0  # integer keys in this order: with shuffling disabled, the stored order
        for tracklet, frames in items:
            for path in frames:
                data, height, width = read_jpeg(path)
                yield index, {
                    "image": data,
                    "image_path": os.fspath(path.relative_to(manual_dir)).replace(os.sep, "/"),
                    "tracklet": tracklet,
                    "frame": formats.frame_index(path.name, tracklet) if formats.frame_index(
                        path.name, tracklet) is not None else -1,
                    "label": labels[tracklet] if labels is not None else formats.ILLEGIBLE,
                    "has_label": labels is not None,
                    "height": height,
                    "width": width,
                    **_frame_truth(truth, tracklet, path.name),
                }
                index += 1
