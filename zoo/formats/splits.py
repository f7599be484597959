"""Official SoccerNet split lists: which games belong to train / valid / test / challenge.

The lists are the ones the `SoccerNet` package ships (`SoccerNet.utils.getListGames`), vendored
under `split_lists/` so that the zoo does not need that package to build datasets.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

SPLITS = ("train", "valid", "test", "challenge")

_FILES = {
    "spotting": {
        "train": "SoccerNetGamesTrain.json",
        "valid": "SoccerNetGamesValid.json",
        "test": "SoccerNetGamesTest.json",
        "challenge": "SoccerNetGamesChallenge.json",
    },
    # Ball action spotting (2023, 2024 and 2025 use the same 9 games).
    "ball": {
        "train": "BallTrain.json",
        "valid": "BallValid.json",
        "test": "BallTest.json",
        "challenge": "BallChallenge.json",
    },
    "caption": {
        "train": "SoccerNetCaptionTrain.json",
        "valid": "SoccerNetCaptionValid.json",
        "test": "SoccerNetCaptionTest.json",
        "challenge": "SoccerNetCaptionChallenge.json",
    },
}
# Tracking sequence maps (one `SNMOT-XXX` per line, after a `name` header).
_SEQMAPS = {
    "test": "SNMOT-test.txt",
    "challenge": "SNMOT-challenge.txt",
    "challenge-nodet": "SNMOT-challenge-nodet.txt",
}


@functools.cache
def list_games(split: str, task: str = "spotting") -> tuple[str, ...]:
    """Games of an official split as `league/season/game` paths, in the official order.

    Args:
      split: one of train, valid, test, challenge.
      task: the SoccerNet task whose lists to use: spotting, ball or caption.
    """
    if task not in _FILES:
        raise ValueError(f"No split lists for task {task!r}; known: {sorted(_FILES)}")
    if split not in _FILES[task]:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}")
    text = resources.files(__package__).joinpath("split_lists", _FILES[task][split]).read_text()
    nested = json.loads(text)  # {league: {season: [game, ...]}}
    return tuple(
        f"{league}/{season}/{game}"
        for league, seasons in nested.items()
        for season, games in seasons.items()
        for game in games
    )


@functools.cache
def tracking_sequences(split: str) -> tuple[str, ...]:
    """The `SNMOT-XXX` sequences of an official tracking split (test, challenge, challenge-nodet)."""
    if split not in _SEQMAPS:
        raise ValueError(f"No tracking sequence map for split {split!r}; known: {sorted(_SEQMAPS)}")
    lines = resources.files(__package__).joinpath("split_lists", _SEQMAPS[split]).read_text().split()
    return tuple(line for line in lines if line.startswith("SNMOT-"))
