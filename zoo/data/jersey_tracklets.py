"""SoccerNet jersey data for every jersey stage: the TFDS crops, the per-tracklet view, user
folders of tracklets, and the zoo's crop-label files (pseudo-labels).

Configs give `config.data.manual_dir` (the unzipped `jersey-2023` tree; empty = the synthetic
default written into the workdir), `config.data.data_dir` (TFDS output; empty = `<workdir>/tfds`),
`config.data.valid_percent` (train tracklets held out as `valid`) and `config.data.synthetic.*`
(`zoo.synthetic.jersey.write_soccernet_jersey` arguments).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
from collections.abc import Sequence

import cv2
import ml_collections
import numpy as np

from zoo.data import tfds_sources
from zoo.data.torso_crops import torso_boxes
from zoo.errors import UserError
from zoo.formats import jersey as formats
from zoo.formats.errors import FileFormatError
from zoo.synthetic import jersey as synthetic

DATASET = "soccernet_jersey"
LABELS_FORMAT = "zoo-jersey-crop-labels/1"


def synthetic_root(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "synthetic_soccernet_jersey")


def dataset_name(config: ml_collections.ConfigDict) -> str:
    percent = int(config.data.valid_percent)
    if not 0 <= percent <= 50:
        raise UserError(f"config.data.valid_percent={percent}: give 0..50 (train tracklets held out as valid)")
    return f"{DATASET}/valid{percent}"


def prepare(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    synth = config.data.synthetic
    return tfds_sources.prepare_once(
        dataset_name(config),
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(os.path.abspath(workdir), "tfds"),
        synthetic_root=synthetic_root(workdir),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_jersey,
            tracklets_per_split=synth.tracklets_per_split.to_dict(),
            frames_per_tracklet=tuple(synth.frames_per_tracklet),
            image_scale=synth.image_scale,
            seed=synth.seed,
        ),
        description="SoccerNet jersey-number",
    )


def crop_source(config: ml_collections.ConfigDict, workdir: str, split: str):
    """The crops of a split (`train`, `valid`, `test`, `challenge`), images kept as JPEG bytes."""
    return tfds_sources.data_source(dataset_name(config), split, data_dir=prepare(config, workdir),
                                    encoded=("image",))


@dataclasses.dataclass(frozen=True)
class Tracklet:
    """One tracklet of a split: its crops are `source[first : first + count]`."""

    id: str
    label: int | None  # None without ground truth
    first: int
    count: int


def tracklets(source) -> list[Tracklet]:
    """The per-tracklet view of a crop source, in stored order (from the dataset's metadata)."""
    split = source.split.split("[")[0]
    views = source.dataset_info.metadata["tracklets"]
    if split not in views:
        raise ValueError(f"the dataset has no tracklet view of split {split!r} (it has {sorted(views)})")
    return [Tracklet(str(t), None if label is None else int(label), int(first), int(count))
            for t, label, first, count in views[split]]


def decode_image(data: bytes, where: str) -> np.ndarray:
    """JPEG/PNG bytes -> uint8 RGB [h, w, 3]; a `FileFormatError` naming `where` if unreadable."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FileFormatError(where, "not a readable image (truncated or corrupt?)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as uint8 RGB [h, w, 3]; a `FileFormatError` naming it if unreadable."""
    return decode_image(pathlib.Path(path).read_bytes(), os.fspath(path))


def folder_tracklets(folder: str | os.PathLike) -> list[tuple[str, list[pathlib.Path]]]:
    """[(tracklet id, image paths in frame order)] of a user's folder of tracklet folders (or a
    split folder with `images/`). Errors name the folder that is empty or not there."""
    return [(t, formats.tracklet_frames(f)) for t, f in formats.tracklet_folders(folder).items()]


# ----------------------------------------------------------------------------- crop-label files


def write_crop_labels(path: str | os.PathLike, crops: dict[str, dict], **about) -> str:
    """Writes a crop-label file: {"format", **about, "crops": {image_path: {"legible": 0/1,
    "text": str, "torso_box": [x0, y0, x1, y1] or None, ...}}}. Returns the path."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"format": LABELS_FORMAT, **about, "crops": crops}, f)
    return path


def read_crop_labels(path: str | os.PathLike) -> dict[str, dict]:
    """The crops of a crop-label file (`write_crop_labels`), checked; errors name the file."""
    document = formats.load_json(path)
    if not isinstance(document, dict) or document.get("format") != LABELS_FORMAT:
        raise FileFormatError(path, f"not a jersey crop-label file (no \"format\": \"{LABELS_FORMAT}\")")
    crops = document.get("crops")
    if not isinstance(crops, dict) or not crops:
        raise FileFormatError(path, "holds no crop")
    for name, entry in crops.items():
        box = entry.get("torso_box") if isinstance(entry, dict) else None
        if (not isinstance(entry, dict) or entry.get("legible") not in (0, 1)
                or not isinstance(entry.get("text", ""), str)
                or not (box is None or (isinstance(box, list) and len(box) == 4))):
            raise FileFormatError(path, f"crop {name!r}: expected {{\"legible\": 0 or 1, \"text\": str, "
                                        f"\"torso_box\": [x0, y0, x1, y1] or null}}, got {entry!r}")
    return crops


def crop_label_columns(source, labels_path: str) -> dict[str, np.ndarray]:
    """Per-crop labels of a train source from a crop-label file, in source order:
    {"legible": [n] int (-1 not in the file), "text": [n] str, "box": [n, 4] float (NaN: none)}."""
    crops = read_crop_labels(labels_path)
    n = len(source)
    legible = np.full(n, -1, np.int32)
    text = np.full(n, "", object)
    box = np.full((n, 4), np.nan)
    for i in range(n):
        entry = crops.get(source[i]["image_path"].decode())
        if entry is not None:
            legible[i] = entry["legible"]
            text[i] = entry.get("text", "")
            if entry.get("torso_box") is not None:
                box[i] = entry["torso_box"]
    if not (legible >= 0).any():
        raise FileFormatError(labels_path, f"none of its crops is in the training split ({n} crops); "
                                           "was it written for this dataset?")
    return {"legible": legible, "text": text, "box": box}


def crop_truth(source, labels: str = "") -> dict[str, np.ndarray]:
    """Per-crop labels and torso boxes of a source, in source order, for the stages that learn
    from crops: {"legible" [n] (1, 0, -1 unknown), "text" [n] str, "box" [n, 4], "has_box" [n]}.

    From the crop-label file `labels` where given (its boxes where it has them, else those of the
    true keypoints), else from the synthetic truth, with boxes from the true keypoints
    (`zoo.data.torso_crops.torso_boxes`, keypoints counted when labelled).
    """
    cols = columns(source, ("legible", "text", "keypoints", "height", "width"))
    keypoints = cols["keypoints"].copy()
    keypoints[..., 2] = keypoints[..., 2] > 0  # visibility as a score
    boxes, has_box = torso_boxes(keypoints, np.stack([cols["height"], cols["width"]], axis=1), min_score=0.5)
    truth = {"legible": cols["legible"].astype(np.int32),
             "text": np.array([t.decode() for t in cols["text"]], object), "box": boxes, "has_box": has_box}
    if labels:
        given = crop_label_columns(source, labels)
        from_file = ~np.isnan(given["box"]).any(axis=1)
        truth = {"legible": given["legible"], "text": given["text"],
                 "box": np.where(from_file[:, None], given["box"], boxes), "has_box": from_file | has_box}
    return truth


def decoded(source, indices: Sequence[int], chunk: int):
    """(records, RGB thumbnails) of `source[indices]`, `chunk` at a time."""
    indices = list(indices)
    for first in range(0, len(indices), max(chunk, 1)):
        records = [source[int(i)] for i in indices[first : first + chunk]]
        yield records, [decode_image(r["image"], r["image_path"].decode()) for r in records]


def columns(source, fields: Sequence[str]) -> dict[str, np.ndarray]:
    """Fields of every record of a source (images stay encoded, so this is cheap-ish): {f: [n, ...]}."""
    records = [source[i] for i in range(len(source))]
    return {f: np.stack([np.asarray(r[f]) for r in records]) for f in fields}
