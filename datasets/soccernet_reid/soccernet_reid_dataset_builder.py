"""soccernet_reid: SoccerNet-v3 player re-identification thumbnails, one example per image.

Reads the tree that unzipping the official `reid` downloads gives (`<manual_dir>/train/...`,
`<manual_dir>/{valid,test,challenge}/{query,gallery}/...`, see `zoo.formats.reid`) and writes the
splits `train`, `{valid,test,challenge}_{query,gallery}`. Runs without TensorFlow: build it with
`python -m soccernet_datasets.build soccernet_reid`, read it with `tfds.data_source`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence

import cv2
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from zoo.formats.reid import SPLITS, ReidFormatError, ReidSample, list_split

_LOG = logging.getLogger(__name__)

_HOMEPAGE = "https://github.com/SoccerNet/sn-reid"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _instructions() -> str:
    return """\
Download the SoccerNet ReID thumbnails with the official `SoccerNet` package
(`pip install SoccerNet`; the reid zips need no NDA password):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadDataTask(task="reid", split=["train", "valid", "test", "challenge"])

This writes `/path/to/SoccerNet/reid/{train,valid,test,challenge}.zip` (12.1, 2.4, 2.4 and
1.8 GB). Unzip each of them in place, so that the folders sit side by side:

    cd /path/to/SoccerNet/reid
    for split in train valid test challenge; do unzip -q $split.zip; done

giving `reid/train/<league>/<season>/<game>/<action>/*.png`,
`reid/{valid,test}/{query,gallery}/<league>/<season>/<game>/<action>/*.png` and
`reid/challenge/{query,gallery}/*.png`. Then build, pointing --manual_dir at that `reid` folder:

    python -m soccernet_datasets.build soccernet_reid \\
        --manual_dir /path/to/SoccerNet/reid --data_dir ~/tensorflow_datasets

Split folders missing from the manual dir are left out with a warning, so a subset of the
splits (e.g. only train and valid) works. The ground truth of the test split, needed to score
test rankings but not to build, comes separately: `split=["test_labels"]` writes
`reid/test_bbox_info.json` (the challenge one stays with the organisers).
"""


def split_name(split: str, subset: str) -> str:
    """The TFDS split holding one official subset: `train`, or e.g. `valid_query`."""
    return split if subset == "train" else f"{split}_{subset}"


def train_pids(train: Sequence[ReidSample]) -> dict[int, int]:
    """person_uid -> contiguous training label 0..N-1, in increasing person_uid order."""
    return {uid: pid for pid, uid in enumerate(sorted({s.person_uid for s in train}))}


def read_png(path: os.PathLike | str, height: int, width: int) -> bytes:
    """The PNG bytes of a thumbnail, checked to decode to the `height` x `width` of its name.

    Returns the file's bytes, or, for a PNG that is not 8-bit 3-channel (grey, alpha, 16-bit), the
    same picture re-encoded as an 8-bit BGR PNG so that every example decodes to `[H, W, 3]`
    uint8. Raises `ReidFormatError` naming the file when it is not a readable PNG or its size
    differs from its name.
    """
    data = epath.Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise ReidFormatError(path, "not a PNG file (no PNG signature)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ReidFormatError(path, "not a readable PNG image (truncated or corrupt?)")
    if image.shape[:2] != (height, width):
        raise ReidFormatError(
            path, f"the image is {image.shape[0]}x{image.shape[1]} (HxW) but its name says "
            f"{height}x{width}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        if image.dtype != np.uint8:
            image = (image / 257).astype(np.uint8)  # 16-bit PNG
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        ok, encoded = cv2.imencode(".png", image)
        if not ok:
            raise ReidFormatError(path, "could not re-encode the image as an 8-bit BGR PNG")
        data = encoded.tobytes()
    return data


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet-v3 ReID: player thumbnails, one example per image."""

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
                    shape=(None, None, 3), encoding_format="png", doc="the thumbnail, RGB"),
                "image_path": tfds.features.Text(
                    doc="path of the PNG relative to the manual dir, '/'-separated"),
                "pid": tfds.features.Scalar(
                    np.int64, doc="train: person_uid relabelled to 0..N-1 in uid order; else -1"),
                "person_uid": tfds.features.Scalar(
                    np.int64, doc="identity, only valid inside one action; -1 for challenge"),
                "bbox_idx": tfds.features.Scalar(
                    np.int64, doc="index in its train/query/gallery list"),
                "action_idx": tfds.features.Scalar(np.int64, doc="action index within the split"),
                "frame_idx": tfds.features.Scalar(
                    np.int64, doc="frame index within the split; -1 for challenge"),
                "role": tfds.features.Text(
                    doc='class as in the file name, e.g. "Player_team_left"; "" for challenge'),
                "jersey": tfds.features.Text(
                    doc='the ID field: a shirt number, a letter, "None"; "" for challenge'),
                "height": tfds.features.Scalar(np.int32, doc="image height in pixels"),
                "width": tfds.features.Scalar(np.int32, doc="image width in pixels"),
                "game": tfds.features.Text(doc='league/season/game; "" for challenge'),
                "action": tfds.features.Text(doc='the action folder; "" for challenge'),
            }),
            homepage=_HOMEPAGE,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        subsets: dict[str, list[ReidSample]] = {}
        for split in SPLITS:
            if not (manual_dir / split).is_dir():
                # Users often download only some splits (e.g. no challenge): the split is left out
                # of the dataset, and reading it later says so.
                _LOG.warning("%s: no %r folder in %s; the %s split(s) are left out.", self.name,
                             split, manual_dir, "train" if split == "train" else f"{split}_*")
                continue
            for sample in list_split(os.fspath(manual_dir), split):
                subsets.setdefault(split_name(split, sample.subset), []).append(sample)
        if not subsets:
            raise FileNotFoundError(
                f"No SoccerNet ReID split folder ({', '.join(SPLITS)}) found in the manual dir "
                f"{manual_dir}; point --manual_dir at the unzipped `reid` folder. "
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        pids = train_pids(subsets.get("train", []))
        self.info.metadata["num_train_identities"] = len(pids)
        return {name: self._generate_examples(manual_dir, samples, pids)
                for name, samples in subsets.items()}

    def _generate_examples(
        self, manual_dir: epath.Path, samples: Sequence[ReidSample], pids: Mapping[int, int]
    ) -> Iterator[tuple[str, dict]]:
        for sample in samples:
            game = "/".join(p for p in (sample.league, sample.season, sample.game) if p is not None)
            yield sample.path, {
                "image": read_png(manual_dir / sample.path, sample.height, sample.width),
                "image_path": sample.path,
                "pid": pids[sample.person_uid] if sample.subset == "train" else -1,
                "person_uid": -1 if sample.person_uid is None else sample.person_uid,
                "bbox_idx": sample.bbox_idx,
                "action_idx": sample.action_idx,
                "frame_idx": -1 if sample.frame_idx is None else sample.frame_idx,
                "role": sample.role or "",
                "jersey": sample.jersey or "",
                "height": sample.height,
                "width": sample.width,
                "game": game,
                "action": sample.action or "",
            }
