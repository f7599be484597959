"""The SoccerNet-Caption dataset as the caption tasks read it: halves with features and captions.

Both stages of dense captioning (the comment spotter and the captioner) read the same data: the
official tree `<league>/<season>/<game>/{1,2}_<features>.npy + Labels-caption.json` given by
`config.data.manual_dir`, built once into TFDS (`datasets/soccernet_caption`) and read through
`tfds.data_source`. With no manual_dir, a synthetic tree in the same layout
(`zoo.synthetic.soccernet_caption`) is written into the workdir and used instead.

Config fields read: data.manual_dir, data.data_dir, data.features, data.synthetic.*.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax
import ml_collections
import numpy as np
from tqdm import tqdm

from zoo.data import tfds_sources
from zoo.formats import captioning as captioning_format
from zoo.formats.spotting import FEATURE_KINDS
from zoo.synthetic import soccernet_caption as synthetic

DATASET = "soccernet_caption"


@dataclasses.dataclass(frozen=True)
class CaptionHalf:
    """One half of one game, as read from the dataset."""

    game: str  # league/season/game
    half: int  # 1 or 2
    features: np.ndarray  # [frames, dim] float32
    seconds: np.ndarray  # [n] int64, each caption's second into the half (from gameTime)
    captions: tuple[str, ...]  # [n] anonymised captions (empty for challenge games)
    tokens: tuple[tuple[str, ...], ...]  # [n] their tokens (zoo.data.caption_vocabulary)


def framerate(config: ml_collections.ConfigDict) -> int:
    """Frames per second of config.data.features: it follows the features (baidu 1, ResNet 2)."""
    return FEATURE_KINDS[config.data.features][1]


def feature_dim(config: ml_collections.ConfigDict) -> int:
    return FEATURE_KINDS[config.data.features][0]


def window_frames(config: ml_collections.ConfigDict) -> int:
    """config.data.window_seconds in frames of the features."""
    return round(config.data.window_seconds * framerate(config))


def synthetic_root(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "synthetic_soccernet_caption")


def labels_root(config: ml_collections.ConfigDict, workdir: str) -> str:
    """The official tree holding the Labels-caption.json files (the synthetic one by default)."""
    return config.data.manual_dir or synthetic_root(workdir)


def prepare(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    settings = config.data.synthetic
    return tfds_sources.prepare_once(
        f"{DATASET}/{config.data.features}",
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(os.path.abspath(workdir), "tfds"),
        synthetic_root=synthetic_root(workdir),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_caption,
            games_per_split=settings.games_per_split.to_dict(), feature_kinds=(config.data.features,),
            half_seconds=settings.half_seconds, captions_per_half=settings.captions_per_half, seed=settings.seed,
        ),
        description="SoccerNet-Caption",
        sources=(f"**/{captioning_format.LABEL_FILE}", f"**/[12]_{config.data.features}.npy"),
    )


def _source(config: ml_collections.ConfigDict, workdir: str, split: str, encoded: tuple[str, ...] = ()):
    return tfds_sources.data_source(f"{DATASET}/{config.data.features}", split, data_dir=prepare(config, workdir),
                                    encoded=encoded)


def metadata(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """The dataset's metadata: framerate, feature_dim, vocabulary (of the train captions), ..."""
    return dict(_source(config, workdir, config.data.train_split).dataset_info.metadata)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_halves(config: ml_collections.ConfigDict, workdir: str, split: str, games: set[str] | None = None
                ) -> list[CaptionHalf]:
    """Every half of a split, or only those of `games`: games in dataset order, each game's first
    half first (the dataset's own order is TFDS's shuffle of the halves)."""
    source = _source(config, workdir, split)
    indices = range(len(source))
    if games is not None:  # pick the halves by name first: only theirs are decompressed
        names = _source(config, workdir, split, encoded=("features",))
        indices = [i for i in indices if _text(names[i]["game"]) in games]
    halves = []
    for index in tqdm(indices, desc=f"read {split}", unit="half", disable=jax.process_index() != 0, leave=False):
        record = source[index]
        game = _text(record["game"])
        found = record["captions"]
        halves.append(CaptionHalf(
            game=game,
            half=int(record["half"]),
            features=np.asarray(record["features"], np.float32),
            seconds=np.asarray(found["seconds"], np.int64),
            captions=tuple(_text(c) for c in found["anonymized"]),
            tokens=tuple(tuple(_text(t).split()) for t in found["tokens"]),
        ))
    order = {game: i for i, game in enumerate(dict.fromkeys(h.game for h in halves))}
    return sorted(halves, key=lambda h: (order[h.game], h.half))


def split_games(config: ml_collections.ConfigDict, workdir: str, split: str) -> list[str]:
    """The games of a split, in dataset order (reads only the game names)."""
    source = _source(config, workdir, split, encoded=("features",))  # the features stay undecoded
    return list(dict.fromkeys(_text(source[i]["game"]) for i in range(len(source))))
