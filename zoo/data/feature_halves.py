"""Half-games of SoccerNet-v2 frame features with their labels, as every feature-based spotter reads them.

The official tree `<league>/<season>/<game>/{1,2}_<features>.npy + Labels-v2.json`
(`config.data.manual_dir`) is built once into the `soccernet_v2_features/<features>` TFDS dataset
and read back one half at a time; with no manual_dir, a synthetic tree in the same layout is
written into the workdir first (`zoo.synthetic.soccernet_v2`). Config fields used:
`config.data.{features, manual_dir, data_dir, synthetic.*}`.

The one reader of the action_spotting model families (NetVLAD++, ASTRA; CALF reads its
calibration dataset's records with `annotations_of`).
"""

from __future__ import annotations

import dataclasses
import functools
import os

import ml_collections
import numpy as np

from zoo import progress
from zoo.data import tfds_sources
from zoo.formats import spotting as spotting_format
from zoo.synthetic import soccernet_v2 as synthetic
from zoo.train.task import Shard

DATASET = "soccernet_v2_features"
CLASSES = spotting_format.CLASSES_V2


@dataclasses.dataclass(frozen=True)
class Half:
    """One half of one game: its features and (except for challenge games) its labels."""

    game: str  # league/season/game
    half: int  # 1 or 2
    features: np.ndarray  # [frames, dim] float32 at the feature kind's frame rate
    annotations: tuple[spotting_format.Annotation, ...] = ()


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    synthetic_config = config.data.synthetic
    return tfds_sources.prepare_once(
        f"{DATASET}/{config.data.features}",
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=os.path.join(workdir, "synthetic_soccernet_v2"),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_v2,
            games_per_split=synthetic_config.games_per_split.to_dict(),
            feature_kinds=(config.data.features,), half_seconds=synthetic_config.half_seconds,
            events_per_half=synthetic_config.events_per_half, seed=synthetic_config.seed,
        ),
        description="SoccerNet-v2",
        sources=(f"**/{spotting_format.LABEL_FILE}", f"**/[12]_{config.data.features}.npy"),
    )


def text(value) -> str:
    """A TFDS string field as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def annotations_of(record: dict) -> tuple[spotting_format.Annotation, ...]:
    """The labels of one half's dataset record (soccernet_v2_features or soccernet_v2_calibration)."""
    found = record["annotations"]
    return tuple(
        spotting_format.Annotation(
            half=int(record["half"]),
            game_time_s=int(game_time_s),
            position_ms=None if int(position_ms) < 0 else int(position_ms),
            label=CLASSES[int(label)],
            visibility="visible" if bool(visible) else "not shown",
            team=text(team),
        )
        for label, position_ms, game_time_s, visible, team in zip(
            found["label"], found["position_ms"], found["game_time_s"], found["visible"], found["team"]
        )
    )


def read_halves(config: ml_collections.ConfigDict, workdir: str, split: str, shard: Shard = Shard()) -> list[Half]:
    """The halves of a split (this shard of them), in dataset order (games in split-list order,
    half 1 then 2)."""
    data_dir = prepare_data(config, workdir)
    source = tfds_sources.data_source(f"{DATASET}/{config.data.features}", split, data_dir=data_dir)
    halves = []
    for index in progress.bar(shard.take(range(len(source))), desc=f"read {split}", unit="half", leave=False):
        record = source[index]
        halves.append(Half(
            game=text(record["game"]),
            half=int(record["half"]),
            features=np.asarray(record["features"], np.float32),
            annotations=annotations_of(record),
        ))
    return halves


def games_of(halves: list[Half]) -> dict[str, list[Half]]:
    """game -> its halves, in order."""
    games: dict[str, list[Half]] = {}
    for half in halves:
        games.setdefault(half.game, []).append(half)
    return games
