"""soccernet_caption: SoccerNet-Caption per-half video features with their anonymised commentaries.

Reads the tree the official `SoccerNet` downloader writes (`<manual_dir>/<league>/<season>/<game>/`
with `{1,2}_<kind>.npy` and `Labels-caption.json`), keeps the games of the official caption split
lists and writes one example per half. The captions are tokenized as the captioning metric
tokenizes them (`zoo.data.caption_vocabulary`, the PTB tokenizer: Java is needed to build), and
the vocabulary of the train split's captions (tokens seen at least 5 times, as the official
baseline) is stored in the dataset's metadata. Runs without TensorFlow: build it with
`python -m soccernet_datasets.build`, read it with `tfds.data_source`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from soccernet_datasets.manual_dir import official_games

from zoo.data import caption_vocabulary
from zoo.formats.captioning import CAPTION_LABELS_V2, LABEL_FILE, SCORED_HALVES, parse_game_time, parse_labels
from zoo.formats.errors import FileFormatError
from zoo.formats.features import feature_frames, read_features
from zoo.formats.spotting import FEATURE_KINDS

_LOG = logging.getLogger(__name__)

_HOMEPAGE = "https://www.soccer-net.org/data"
# Whitespace the PTB tokenizer reads as such; every other control character is refused (the
# tokenizer takes "\r", "\x0b" and "\x0c" for line ends and shifts every later caption).
_ALLOWED_CONTROLS = frozenset("\t\n")


class GameFileError(FileFormatError):
    """A file of a game folder in the manual dir is missing or unusable."""


@dataclasses.dataclass(frozen=True)
class _Caption:
    half: int
    seconds: int
    label: str
    anonymized: str


def _instructions() -> str:
    return f"""\
Download the SoccerNet-Caption labels and features with the official `SoccerNet` package
(`pip install SoccerNet`; the features and labels need no NDA password):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadDataTask(task="caption-2024", split=["train", "valid", "test", "challenge"])

or, game by game, `d.downloadGames(files=["{LABEL_FILE}", "1_baidu_soccer_embeddings.npy",
"2_baidu_soccer_embeddings.npy"], split=[...], task="caption")`. Unzip the split archives so that
the games sit at <LocalDirectory>/<league>/<season>/<game>/. Other configs read `1_<kind>.npy` and
`2_<kind>.npy`, <kind> one of {", ".join(FEATURE_KINDS)}. The challenge games have no labels.
Then build (Java is needed: the captions are tokenized as the metric tokenizes them):

    python -m soccernet_datasets.build soccernet_caption/baidu_soccer_embeddings \\
        --manual_dir /path/to/SoccerNet --data_dir ~/tensorflow_datasets

Games missing from the manual dir are skipped with a warning, so a subset of every split works.
"""


def _control_character(text: str) -> str | None:
    for c in text:
        if c not in _ALLOWED_CONTROLS and unicodedata.category(c) == "Cc":
            return c
    return None


def read_captions(path: epath.Path) -> list[_Caption]:
    """The captions of a `Labels-caption.json`, checked: every label a caption label, every
    gameTime "H - M:SS" in half 1 or 2, every anonymised caption free of control characters.
    Raises GameFileError (or CaptioningFormatError) naming the file and the annotation."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GameFileError(path, f"invalid JSON: {e}") from e
    # The checks the official reader would skip past silently, with the builder's own words.
    for i, entry in enumerate(document.get("annotations", []) if isinstance(document, dict) else []):
        if not isinstance(entry, dict):
            continue  # parse_labels names it
        where = f"annotation {i} ({entry.get('gameTime', 'no gameTime')!s})"
        label = entry.get("label")
        if isinstance(label, str) and label not in CAPTION_LABELS_V2:
            raise GameFileError(path, f"{where}: unknown caption label {label!r}; the caption labels "
                                f"are {', '.join(repr(x) for x in sorted(CAPTION_LABELS_V2))}")
        if "gameTime" in entry:
            half, _ = parse_game_time(entry["gameTime"], path=path, where=f"annotation {i}")
            if half not in SCORED_HALVES:
                raise GameFileError(path, f"{where}: half {half}; a game has halves 1 and 2")
        text = entry.get("anonymized")
        if isinstance(text, str) and (c := _control_character(text)) is not None:
            raise GameFileError(path, f"{where}: the anonymized caption holds the control character "
                                f"U+{ord(c):04X} ({text!r}); use spaces")
    annotations = parse_labels(document, path=path)
    return [_Caption(a.half, a.seconds, a.label, a.anonymized) for a in annotations]


class Builder(tfds.core.GeneratorBasedBuilder):
    """SoccerNet-Caption: per-half features and timestamped anonymised captions, one example per half."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=kind, description=f"`{{1,2}}_{kind}.npy` features: {dim}-d at {fps} fps.")
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
                "captions": tfds.features.Sequence({
                    "seconds": tfds.features.Scalar(np.int32, doc="seconds into the half, from gameTime"),
                    "label": tfds.features.Text(doc="caption type: corner, y-card, comments, ... or ''"),
                    "anonymized": tfds.features.Text(doc="the ground truth the metric scores"),
                    "tokens": tfds.features.Text(doc="the caption's tokens, space-separated (caption_vocabulary)"),
                }),
            }),
            homepage=_HOMEPAGE,
            # The vocabulary is filled from the train split when the dataset is built.
            metadata=tfds.core.MetadataDict(
                framerate=fps, feature_dim=dim, vocabulary=[], vocabulary_min_count=caption_vocabulary.MIN_COUNT),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = epath.Path(dl_manager.manual_dir)
        games_of = official_games(self, manual_dir, task="caption")
        # Check every game before writing anything, so that a bad file fails the build early.
        captions = {game: self._game_captions(manual_dir / game, split)
                    for split, games in games_of.items() for game in games}
        texts = [c.anonymized for game_captions in captions.values() for c in game_captions]
        token_lists = iter(caption_vocabulary.tokenize(texts))
        tokens = {game: [next(token_lists) for _ in game_captions] for game, game_captions in captions.items()}
        if "train" in games_of:
            vocabulary = caption_vocabulary.build(
                (t for game in games_of["train"] for t in tokens[game]), min_count=caption_vocabulary.MIN_COUNT)
            self.info.metadata["vocabulary"] = list(vocabulary)
            _LOG.info("%s: vocabulary of %d tokens from %d train captions.", self.name, len(vocabulary),
                      sum(len(captions[g]) for g in games_of["train"]))
        else:
            _LOG.warning("%s: no train games, so no vocabulary: captioning runs cannot train on this "
                         "dataset.", self.name)
        return {split: self._generate_examples(manual_dir, games, captions, tokens)
                for split, games in games_of.items()}

    def _feature_paths(self, game_dir: epath.Path) -> dict[int, epath.Path]:
        return {half: game_dir / f"{half}_{self.feature_kind}.npy" for half in SCORED_HALVES}

    def _game_captions(self, game_dir: epath.Path, split: str) -> list[_Caption]:
        """Checks the game's files and reads its captions (none for challenge games)."""
        frames = {}
        for half, path in self._feature_paths(game_dir).items():
            if not path.is_file():
                raise GameFileError(path, "missing features file")
            frames[half] = feature_frames(path, error=GameFileError)
        if split == "challenge":  # the official challenge games have no labels
            return []
        path = game_dir / LABEL_FILE
        if not path.is_file():
            raise GameFileError(path, f"missing label file (every {split} game needs one)")
        captions = read_captions(path)
        _, fps = FEATURE_KINDS[self.feature_kind]
        for i, caption in enumerate(captions):
            if caption.seconds * fps >= frames[caption.half]:
                features = self._feature_paths(game_dir)[caption.half]
                raise GameFileError(
                    features, f"{frames[caption.half]} frames at {fps} fps end at second "
                    f"{frames[caption.half] / fps:g} of half {caption.half}, but caption {i} of {path} is at "
                    f"second {caption.seconds}: features shorter than the labelled time")
        return captions

    def _generate_examples(
        self, manual_dir: epath.Path, games: Sequence[str], captions: dict, tokens: dict
    ) -> Iterator[tuple[str, dict]]:
        for game in games:
            for half, path in self._feature_paths(manual_dir / game).items():
                chosen = [i for i, c in enumerate(captions[game]) if c.half == half]
                yield f"{game}/{half}", {
                    "game": game,
                    "half": half,
                    "features": read_features(path, kind=self.feature_kind, error=GameFileError),
                    "captions": {
                        "seconds": [captions[game][i].seconds for i in chosen],
                        "label": [captions[game][i].label for i in chosen],
                        "anonymized": [captions[game][i].anonymized for i in chosen],
                        "tokens": [" ".join(tokens[game][i]) for i in chosen],
                    },
                }
