"""soccernet_v2_calibration: SoccerNet-v2 features and labels, plus each half's per-frame camera
calibrations and player detections.

Reads the tree the official `SoccerNet` downloader writes: per game `{1,2}_<kind>.npy`,
`Labels-v2.json` (not for challenge games), `{1,2}_field_calib_ccbv.json` and
`{1,2}_player_boundingbox_maskrcnn.json` (formats in `zoo.formats.frame_detections`). One example
per half, with everything of `soccernet_v2_features` and, aligned with the feature frames:

  calibration/homography [F, 3, 3] float64, pitch -> image; calibration/confidence [F];
  calibration/image_size (height, width); calibration/file_frames (frames in the file);
  players/boxes [N, 4], players/colors [N, 3], players/scores [N] (-1: none in the file),
  players/counts [F] (detections per frame, in frame order), players/image_size,
  players/file_frames.

The published files do not always have as many frames as the features. Every mismatch is
reported with the file named; with `frame_mismatch="align"` (the default) a file with fewer
frames leaves the last feature frames uncalibrated (confidence 0) and without players, and the
extra frames of a longer file are not stored, which is what the official code does when it walks
the features' frames; with "error" the build stops at the first mismatch.

Only the 2 fps feature kinds have configs: the files are at 2 fps.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from soccernet_datasets.soccernet_v2_features.soccernet_v2_features_dataset_builder import (
    Builder as FeaturesBuilder,
)
from soccernet_datasets.soccernet_v2_features.soccernet_v2_features_dataset_builder import (
    GameFileError,
)

from zoo.formats import frame_detections
from zoo.formats.spotting import FEATURE_KINDS, LABEL_FILE, Annotation

_LOG = logging.getLogger(__name__)
FRAME_MISMATCH = ("align", "error")
FRAMERATE = 2


def _instructions() -> str:
    return f"""\
Download the SoccerNet-v2 labels, features, calibrations and player detections with the official
`SoccerNet` package (`pip install SoccerNet`; these files need no NDA password):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadGames(files=["{LABEL_FILE}", "1_ResNET_TF2_PCA512.npy", "2_ResNET_TF2_PCA512.npy",
                           "1_field_calib_ccbv.json", "2_field_calib_ccbv.json",
                           "1_player_boundingbox_maskrcnn.json", "2_player_boundingbox_maskrcnn.json"],
                    split=["train", "valid", "test", "challenge"])

Then build, pointing --manual_dir at the `LocalDirectory`:

    python -m soccernet_datasets.build soccernet_v2_calibration/ResNET_TF2_PCA512 \\
        --manual_dir /path/to/SoccerNet --data_dir ~/tensorflow_datasets

Games missing from the manual dir are skipped with a warning, so a subset of every split works.
"""


def _align(array: np.ndarray, frames: int, fill) -> np.ndarray:
    if len(array) >= frames:
        return array[:frames]
    pad = np.full((frames - len(array),) + array.shape[1:], fill, array.dtype)
    return np.concatenate([array, pad])


class Builder(FeaturesBuilder):
    """SoccerNet-v2 per-half features and labels with per-frame calibrations and players."""

    name = "soccernet_v2_calibration"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=kind, description=f"`{{1,2}}_{kind}.npy` features: {dim}-d at {fps} fps.")
        for kind, (dim, fps) in FEATURE_KINDS.items() if fps == FRAMERATE
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = _instructions()

    def __init__(self, *, frame_mismatch: str = "align", **kwargs):
        if frame_mismatch not in FRAME_MISMATCH:
            raise ValueError(f"frame_mismatch must be one of {FRAME_MISMATCH}, got {frame_mismatch!r}")
        self._frame_mismatch = frame_mismatch
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        info = super()._info()
        tensor = tfds.features.Tensor
        zlib = tfds.features.Encoding.ZLIB
        features = dict(info.features)
        features["calibration"] = tfds.features.FeaturesDict({
            "homography": tensor(shape=(None, 3, 3), dtype=np.float64, encoding=zlib,
                                 doc="[frames, 3, 3] pitch (metres) -> image (pixels)"),
            "confidence": tensor(shape=(None,), dtype=np.float32, encoding=zlib,
                                 doc="[frames]; 0 for frames the file does not have"),
            "image_size": tensor(shape=(2,), dtype=np.int32, doc="(height, width)"),
            "file_frames": tfds.features.Scalar(np.int32, doc="frames in the file"),
        })
        features["players"] = tfds.features.FeaturesDict({
            "boxes": tensor(shape=(None, 4), dtype=np.float32, encoding=zlib, doc="[N, 4] x1, y1, x2, y2"),
            "colors": tensor(shape=(None, 3), dtype=np.float32, encoding=zlib, doc="[N, 3] 0-255"),
            "scores": tensor(shape=(None,), dtype=np.float32, encoding=zlib, doc="[N], -1 when absent"),
            "counts": tensor(shape=(None,), dtype=np.int32, encoding=zlib, doc="[frames] detections per frame"),
            "image_size": tensor(shape=(2,), dtype=np.int32, doc="(height, width)"),
            "file_frames": tfds.features.Scalar(np.int32, doc="frames in the file"),
        })
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features), homepage=info.homepage,
            metadata=tfds.core.MetadataDict(dict(info.metadata)))

    def _game_labels(self, game_dir: epath.Path, split: str) -> list[Annotation]:
        for half in (1, 2):
            for path in (frame_detections.calibration_path(game_dir, half),
                         frame_detections.players_path(game_dir, half)):
                if not os.path.isfile(path):
                    raise GameFileError(path, "missing file (every game needs its calibrations and "
                                        "player detections for this dataset)")
        return super()._game_labels(game_dir, split)

    def _context(self, game_dir: epath.Path, half: int, frames: int) -> dict:
        calibration_file = frame_detections.calibration_path(game_dir, half)
        players_file = frame_detections.players_path(game_dir, half)
        calibration = frame_detections.read_calibration(calibration_file)
        players = frame_detections.read_players(players_file)
        problems = frame_detections.frame_count_problems(
            frames, [(calibration_file, calibration.num_frames), (players_file, players.num_frames)])
        for problem in problems:
            if self._frame_mismatch == "error":
                path, _, message = problem.partition(": ")
                raise frame_detections.FrameDetectionsError(path, message)
            _LOG.warning("%s; aligned to the features (missing frames count as uncalibrated, "
                         "without players; extra frames are left out).", problem)
        counts = _align(players.counts, frames, 0)
        kept = int(counts.sum())
        return {
            "calibration": {
                "homography": _align(calibration.homography, frames, np.eye(3)),
                "confidence": _align(calibration.confidence, frames, 0.0),
                "image_size": np.asarray(calibration.image_size, np.int32),
                "file_frames": calibration.num_frames,
            },
            "players": {
                "boxes": players.boxes[:kept], "colors": players.colors[:kept], "scores": players.scores[:kept],
                "counts": counts, "image_size": np.asarray(players.image_size, np.int32),
                "file_frames": players.num_frames,
            },
        }

    def _generate_examples(
        self, manual_dir: epath.Path, games: Sequence[str], labels: dict[str, list[Annotation]]
    ) -> Iterator[tuple[str, dict]]:
        for key, example in super()._generate_examples(manual_dir, games, labels):
            example.update(self._context(manual_dir / example["game"], example["half"], len(example["features"])))
            yield key, example
