"""soccernet_tracking: SNMOT sequences, per frame (detector training) or per sequence (tracking).

Reads the tree that unzipping the official `tracking` downloads gives,
`<manual_dir>/{train,test,challenge}/SNMOT-XXX/{img1/*.jpg, gt/gt.txt, det/det.txt, seqinfo.ini,
gameinfo.ini}` (see `zoo.formats.tracking`), and checks it as it goes: a malformed `gt.txt` or
`det.txt` row, a `seqinfo.ini` whose seqLength disagrees with `img1/`, a missing frame, or a
ground-truth track without a role in `gameinfo.ini` stop the build with the file named.

Configs:
  frames: one example per frame of the sequences that have ground truth. The JPEG bytes are
    stored as they are (no re-encoding); boxes tlwh [n, 4], track ids, role classes
    (player, goalkeeper, referee, ball, other, from `gameinfo.ini`), the sequence and the frame.
  sequences: one example per sequence: the seqinfo fields, the ground truth ([n, 6]: frame, id,
    x, y, w, h, only the rows the evaluator keeps; empty for challenge) and the public detections
    ([m, 6]: frame, x, y, w, h, score).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterator

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from zoo.formats import tracking as formats
from zoo.formats.errors import FileFormatError

_LOG = logging.getLogger(__name__)
SPLITS = ("train", "test", "challenge")
DET_FILE = "det/det.txt"
_JPEG_SIGNATURE = b"\xff\xd8"
_FRAME_NAME = re.compile(r"(\d+)\.jpg")


class SequenceFileError(FileFormatError):
    """A sequence folder that does not follow the official layout (message starts with the path)."""


@dataclasses.dataclass(frozen=True)
class Sequence:
    """One checked sequence folder."""

    name: str
    path: str
    info: formats.SeqInfo
    frames: list[str]  # image paths, frame 1 first
    groundtruth: formats.MotRows | None  # None without gt/gt.txt (challenge)
    detections: formats.MotRows | None  # None without det/det.txt
    roles: dict[int, str]  # track id -> role, from gameinfo.ini (empty without it)


def read_sequence(seq_dir: str | os.PathLike) -> Sequence:
    """Reads and checks one `SNMOT-XXX/` folder (see the module docstring for what is checked)."""
    seq_dir = epath.Path(seq_dir)
    info_path = seq_dir / formats.SEQINFO_FILE
    if not info_path.exists():
        raise SequenceFileError(info_path, "missing: every sequence needs its seqinfo.ini")
    info = formats.read_seqinfo(info_path)
    image_dir = seq_dir / (info.im_dir or "img1")
    extension = info.im_ext or ".jpg"
    if not image_dir.is_dir():
        raise SequenceFileError(image_dir, "missing: the frames of the sequence")
    numbered = {}
    for path in image_dir.iterdir():
        match = _FRAME_NAME.fullmatch(path.name) if extension == ".jpg" else None
        if match:
            numbered[int(match[1])] = os.fspath(path)
    if len(numbered) != info.seq_length:
        raise SequenceFileError(
            info_path, f"seqLength={info.seq_length} but {image_dir} holds {len(numbered)} frames")
    missing = [f for f in range(1, info.seq_length + 1) if f not in numbered]
    if missing:
        raise SequenceFileError(image_dir / f"{missing[0]:06d}{extension}",
                                f"missing frame {missing[0]} (of {info.seq_length})")
    groundtruth = detections = None
    if (seq_dir / formats.GT_FILE).exists():
        groundtruth = formats.read_mot(seq_dir / formats.GT_FILE, groundtruth=True, seq_length=info.seq_length)
    if (seq_dir / DET_FILE).exists():
        detections = formats.read_mot(seq_dir / DET_FILE, detections=True, seq_length=info.seq_length)
    roles = {}
    if (seq_dir / formats.GAMEINFO_FILE).exists():
        game = formats.read_gameinfo(seq_dir / formats.GAMEINFO_FILE)
        roles = {track: t.role for track, t in game.tracklets.items()}
        if groundtruth is not None:
            unknown = sorted(set(groundtruth.track_id.tolist()) - set(roles))
            if unknown:
                raise SequenceFileError(seq_dir / formats.GAMEINFO_FILE,
                                        f"no trackletID_{unknown[0]} for track {unknown[0]} of gt/gt.txt")
    return Sequence(seq_dir.name, os.fspath(seq_dir), info, [numbered[f] for f in range(1, info.seq_length + 1)],
                    groundtruth, detections, roles)


def list_sequences(split_dir: epath.Path) -> list[epath.Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and formats.SEQUENCE_NAME.fullmatch(p.name))


def read_jpeg(path: str) -> bytes:
    data = epath.Path(path).read_bytes()
    if not data.startswith(_JPEG_SIGNATURE):
        raise SequenceFileError(path, "not a JPEG file")
    return data


def _rows(rows: formats.MotRows | None, *, groundtruth: bool) -> np.ndarray:
    if rows is None:
        return np.zeros((0, 6), np.float64)
    if groundtruth:
        keep = rows.gt_evaluated
        return np.column_stack([rows.frame[keep], rows.track_id[keep], rows.boxes[keep]]).astype(np.float64)
    return np.column_stack([rows.frame, rows.boxes, rows.confidence]).astype(np.float64)


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet-Tracking (SNMOT): frames for detection, sequences for tracking."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="frames", description="one example per labelled frame"),
        tfds.core.BuilderConfig(name="sequences", description="one example per sequence"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Download with the SoccerNet package: SoccerNetDownloader(LocalDirectory=...)."
        "downloadDataTask(task='tracking', split=['train', 'test', 'challenge']), unzip each split "
        "in <LocalDirectory>/tracking and give that folder as --manual_dir.")

    def __init__(self, *, file_format: str | None = None, **kwargs):
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        if self.builder_config.name == "frames":
            features = tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg", doc="the frame as stored"),
                "boxes": tfds.features.Tensor(shape=(None, 4), dtype=np.float32, doc="tlwh pixels"),
                "track_id": tfds.features.Tensor(shape=(None,), dtype=np.int64),
                "role": tfds.features.Tensor(shape=(None,), dtype=np.int64, doc=f"index into {formats.ROLES}"),
                "sequence": tfds.features.Text(),
                "frame": tfds.features.Scalar(np.int64, doc="1-based"),
                "width": tfds.features.Scalar(np.int32),
                "height": tfds.features.Scalar(np.int32),
            })
        else:
            features = tfds.features.FeaturesDict({
                "sequence": tfds.features.Text(),
                "seq_length": tfds.features.Scalar(np.int64),
                "frame_rate": tfds.features.Scalar(np.float32),
                "width": tfds.features.Scalar(np.int32),
                "height": tfds.features.Scalar(np.int32),
                "groundtruth": tfds.features.Tensor(shape=(None, 6), dtype=np.float64,
                                                    doc="frame, id, x, y, w, h (evaluated rows)"),
                "detections": tfds.features.Tensor(shape=(None, 6), dtype=np.float64,
                                                   doc="frame, x, y, w, h, score (det/det.txt)"),
                "path": tfds.features.Text(doc="the sequence folder relative to the manual dir"),
            })
        return self.dataset_info_from_configs(
            features=features, homepage="https://github.com/SoccerNet/sn-tracking",
            metadata=tfds.core.MetadataDict())

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        splits = {}
        for split in SPLITS:
            if not (manual_dir / split).is_dir():
                _LOG.warning("%s: no %r folder in %s; the split is left out.", self.name, split, manual_dir)
                continue
            sequences = list_sequences(manual_dir / split)
            if self.builder_config.name == "frames":
                sequences = [s for s in sequences if (s / formats.GT_FILE).exists()]
            if sequences:
                splits[split] = self._generate_examples(manual_dir, sequences)
        if not splits:
            raise FileNotFoundError(f"No SNMOT-XXX sequence under {manual_dir}/{{{','.join(SPLITS)}}}. "
                                    f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        return splits

    def _generate_examples(self, manual_dir: epath.Path, sequences) -> Iterator[tuple[str, dict]]:
        for seq_dir in sequences:
            seq = read_sequence(seq_dir)
            width, height = seq.info.im_width or 0, seq.info.im_height or 0
            if self.builder_config.name == "sequences":
                yield seq.name, {
                    "sequence": seq.name, "seq_length": seq.info.seq_length,
                    "frame_rate": float(seq.info.frame_rate or 25), "width": width, "height": height,
                    "groundtruth": _rows(seq.groundtruth, groundtruth=True),
                    "detections": _rows(seq.detections, groundtruth=False),
                    "path": os.path.relpath(seq.path, os.fspath(manual_dir)),
                }
                continue
            gt = seq.groundtruth
            keep = gt.gt_evaluated
            classes = np.array([formats.role_class(seq.roles.get(int(t), "other")) for t in gt.track_id], np.int64)
            for frame, image in enumerate(seq.frames, start=1):
                rows = keep & (gt.frame == frame)
                yield f"{seq.name}/{frame:06d}", {
                    "image": read_jpeg(image), "boxes": gt.boxes[rows].astype(np.float32),
                    "track_id": gt.track_id[rows], "role": classes[rows], "sequence": seq.name,
                    "frame": frame, "width": width, "height": height,
                }
