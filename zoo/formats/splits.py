"""Official SoccerNet-v2 split lists: which games belong to train / valid / test / challenge.

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
}


@functools.cache
def list_games(split: str, task: str = "spotting") -> tuple[str, ...]:
    """Games of an official split as `league/season/game` paths, in the official order.

    Args:
      split: one of train, valid, test, challenge.
      task: the SoccerNet task whose lists to use (only `spotting` is vendored so far).
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
