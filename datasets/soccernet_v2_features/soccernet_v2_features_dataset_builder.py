"""soccernet_v2_features: per-half SoccerNet-v2 video features with the action spotting labels.

Reads the tree the official `SoccerNet` downloader writes (`<manual_dir>/<league>/<season>/<game>/`
with `{1,2}_<kind>.npy` and `Labels-v2.json`) and writes one example per half. Runs without
TensorFlow: build it with `python -m soccernet_datasets.build`, read it with `tfds.data_source`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from soccernet_datasets.manual_dir import official_games
from zoo.formats.errors import FileFormatError
from zoo.formats.features import read_features
from zoo.formats.spotting import CLASSES_V2, FEATURE_KINDS, LABEL_FILE, Annotation, read_labels

_HOMEPAGE = "https://www.soccer-net.org/data"


class GameFileError(FileFormatError):
    """A file of a game folder in the manual dir is missing or unusable."""


def _instructions() -> str:
    return f"""\
Download the SoccerNet-v2 labels and features with the official `SoccerNet` package
(`pip install SoccerNet`; labels and features are public, no NDA password is needed):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadGames(files=["{LABEL_FILE}", "1_ResNET_TF2_PCA512.npy", "2_ResNET_TF2_PCA512.npy"],
                    split=["train", "valid", "test", "challenge"])

For the other configs download `1_<kind>.npy` and `2_<kind>.npy`, <kind> one of
{", ".join(FEATURE_KINDS)}.
The challenge games have no labels. Then build, pointing --manual_dir at the
`LocalDirectory` (the folder holding the league folders):

    python -m soccernet_datasets.build soccernet_v2_features/ResNET_TF2_PCA512 \\
        --manual_dir /path/to/SoccerNet --data_dir ~/tensorflow_datasets

Games missing from the manual dir are skipped with a warning, so a subset of every split works.
"""


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet-v2 action spotting: per-half features and labels, one example per half."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(
            name=kind, description=f"`{{1,2}}_{kind}.npy` features: {dim}-d at {fps} fps.")
        for kind, (dim, fps) in FEATURE_KINDS.items()
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = _instructions()

    def __init__(self, *, file_format: str | None = None, **kwargs):
        # array_record by default: random access for grain, and tfrecord would need TensorFlow.
        super().__init__(file_format=file_format or "array_record", **kwargs)

    @property
    def feature_kind(self) -> str:
        return self.builder_config.name

    def _info(self) -> tfds.core.DatasetInfo:
        dim, fps = FEATURE_KINDS[self.feature_kind]
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "game": tfds.features.Text(doc="league/season/game"),
                "half": tfds.features.Scalar(np.int32, doc="1 or 2"),
                "features": tfds.features.Tensor(
                    shape=(None, dim), dtype=np.float32, encoding=tfds.features.Encoding.ZLIB,
                    doc=f"[frames, {dim}] at {fps} frames per second"),
                "annotations": tfds.features.Sequence({
                    "label": tfds.features.ClassLabel(names=CLASSES_V2),
                    "position_ms": tfds.features.Scalar(
                        np.int64, doc="milliseconds into the half, -1 when the file has none"),
                    "game_time_s": tfds.features.Scalar(
                        np.int32, doc="seconds into the half, from gameTime"),
                    "visible": tfds.features.Scalar(np.bool_, doc='False for "not shown"'),
                    "team": tfds.features.Text(doc="home / away / not applicable"),
                }),
            }),
            homepage=_HOMEPAGE,
            metadata=tfds.core.MetadataDict(framerate=fps, feature_dim=dim),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        generators = {}
        for split, games in official_games(self, manual_dir).items():
            # Check every game before writing anything, so that a bad file fails the build early.
            labels = {game: self._game_labels(manual_dir / game, split) for game in games}
            generators[split] = self._generate_examples(manual_dir, games, labels)
        return generators

    def _feature_paths(self, game_dir: epath.Path) -> dict[int, epath.Path]:
        return {half: game_dir / f"{half}_{self.feature_kind}.npy" for half in (1, 2)}

    def _game_labels(self, game_dir: epath.Path, split: str) -> list[Annotation]:
        """Checks that the game's files exist and reads its labels (none for challenge games)."""
        for path in self._feature_paths(game_dir).values():
            if not path.is_file():
                raise GameFileError(path, "missing features file")
        if split == "challenge":  # the official challenge games have no labels
            return []
        path = game_dir / LABEL_FILE
        if not path.is_file():
            raise GameFileError(path, f"missing label file (every {split} game needs one)")
        return read_labels(os.fspath(path))

    def _read_features(self, path: epath.Path) -> np.ndarray:
        return read_features(path, kind=self.feature_kind, error=GameFileError)

    def _generate_examples(
        self, manual_dir: epath.Path, games: Sequence[str], labels: dict[str, list[Annotation]]
    ) -> Iterator[tuple[str, dict]]:
        for game in games:
            for half, path in self._feature_paths(manual_dir / game).items():
                events = [a for a in labels[game] if a.half == half]
                yield f"{game}/{half}", {
                    "game": game,
                    "half": half,
                    "features": self._read_features(path),
                    "annotations": {
                        "label": [a.label for a in events],
                        "position_ms": [-1 if a.position_ms is None else a.position_ms for a in events],
                        "game_time_s": [a.game_time_s for a in events],
                        "visible": [a.visible for a in events],
                        "team": [a.team for a in events],
                    },
                }
