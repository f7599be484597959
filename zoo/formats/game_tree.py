"""Per-game files of a SoccerNet tree, in a folder or a zip: `league/season/game/<file>`.

Shared by the tasks whose labels and predictions are one JSON file per game (spotting, ball
spotting, dense captioning): the evaluators read either layout through `zoo.formats.archive`, as
the official ones do, and the writers zip a predictions folder into the layout the challenge
servers read.
"""

from __future__ import annotations

import os
import pathlib
import zipfile
from collections.abc import Sequence
from typing import Any

from zoo.formats import splits
from zoo.formats.archive import Archive, is_hidden
from zoo.formats.errors import FileFormatError


def games_with(archive: Archive, file: str) -> list[str]:
    """The games (`league/season/game`, or whatever folder holds it) that have `file`, sorted."""
    suffix = "/" + file
    return sorted(name[: -len(suffix)] for name in archive.members() if name.endswith(suffix))


def games_to_evaluate(
    labels: Archive,
    predictions: Archive,
    games: Sequence[str] | str | None,
    *,
    label_file: str,
    prediction_file: str,
    split_task: str,
) -> list[str]:
    """The games an evaluator scores, each checked to have its label and prediction file.

    games: `league/season/game` paths; an official split name ("test", ...; "val" is "valid", as
      the 2025 code names it) of the `zoo.formats.splits` lists of `split_task` ("spotting",
      "ball" or "caption"); or None for every game of `labels` that has `label_file`.
    Raises ValueError when there is no game, and FileNotFoundError listing the games that have no
    label file, else those that have no prediction file (the official evaluators stop at the
    first one).
    """
    if games is None:
        games = games_with(labels, label_file)
    elif isinstance(games, str):
        games = splits.list_games("valid" if games == "val" else games, split_task)
    games = list(games)
    if not games:
        raise ValueError(f"no game with {label_file} under {labels.path}")
    for archive, file in ((labels, label_file), (predictions, prediction_file)):
        missing = [game for game in games if not archive.has(f"{game}/{file}")]
        if missing:
            raise FileNotFoundError(missing_message(file, archive.path, missing))
    return games


def games_at_hand(
    labels: str | os.PathLike,
    predictions: str | os.PathLike,
    split: str | None,
    *,
    label_file: str,
    prediction_file: str,
    split_task: str,
) -> tuple[list[str], str]:
    """The games a metric command scores when the user has only part of the official data.

    With a split: its official games that `labels` holds (a local download, or the synthetic
    data, holds only some); without: the games that `predictions` holds. Returns the games and a
    line saying which were chosen, for the command to print. The library's `evaluate` functions
    keep the official rule (every game of the split), which this chooses the games for.
    """
    with Archive(labels) as label_archive, Archive(predictions) as prediction_archive:
        if split:
            official = splits.list_games("valid" if split == "val" else split, split_task)
            games = [g for g in official if label_archive.has(f"{g}/{label_file}")]
            if not games:
                raise FileFormatError(labels, f"none of the {len(official)} official {split} games has a {label_file}")
            return games, (f"Scoring the {len(games)} of the {len(official)} official {split} games found in "
                           f"{labels} (those with a {label_file}).")
        games = games_with(prediction_archive, prediction_file)
        if not games:
            raise FileFormatError(predictions, f"no <league>/<season>/<game>/{prediction_file} there")
        return games, f"Scoring the {len(games)} games of {predictions} (use --split to score an official split)."


def missing_message(file: str, root: Any, games: list[str]) -> str:
    """`N game(s) have no <file> under <root>:` and the first ten of them."""
    shown = "\n  ".join(games[:10])
    more = f"\n  ... and {len(games) - 10} more" if len(games) > 10 else ""
    return f"{len(games)} game(s) have no {file} under {root}:\n  {shown}{more}"


def zip_game_files(
    predictions_dir: str | os.PathLike,
    zip_path: str | os.PathLike,
    prediction_file: str,
    *,
    error: type[FileFormatError] = FileFormatError,
) -> pathlib.Path:
    """Zips every `league/season/game/<prediction_file>` under `predictions_dir` for submission.

    The entries are the paths relative to `predictions_dir`, the layout the challenge servers
    read; hidden files are left out. Raises `error` when there is no such file or one is not
    exactly three folders deep.
    """
    root = pathlib.Path(predictions_dir)
    files = sorted(
        file for file in root.rglob(prediction_file)
        if not is_hidden(file.relative_to(root).as_posix())
    )
    if not files:
        raise error(root, f"no {prediction_file} found")
    for file in files:
        if len(file.relative_to(root).parts) != 4:
            raise error(file, f"expected <league>/<season>/<game>/{prediction_file} under {root}")
    zip_path = pathlib.Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(root).as_posix())
    return zip_path
