"""Per-game files of a SoccerNet tree, in a folder or a zip: `league/season/game/<file>`.

Shared by the tasks whose labels and predictions are one JSON file per game (spotting, ball
spotting, dense captioning): the evaluators read either layout, as the official ones do, and the
writers zip a predictions folder into the layout the challenge servers read.
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile
from typing import Any

from zoo.formats.errors import FileFormatError


class GameTree:
    """A folder or a zip file of `league/season/game/<file>` entries.

    error: the FileFormatError subclass raised (naming the file) for a file that is not JSON.
    """

    def __init__(self, path: str | os.PathLike, *, error: type[FileFormatError] = FileFormatError):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"{self.path} does not exist")
        self.error = error
        self.zip = zipfile.ZipFile(self.path) if zipfile.is_zipfile(self.path) else None
        self.names = set(self.zip.namelist()) if self.zip else None

    def games_with(self, file: str) -> list[str]:
        if self.zip:
            return sorted(name[: -len(file) - 1] for name in self.names if name.endswith("/" + file))
        root = pathlib.Path(self.path)
        return sorted(p.parent.relative_to(root).as_posix() for p in root.rglob(file))

    def has(self, game: str, file: str) -> bool:
        if self.zip:
            return f"{game}/{file}" in self.names
        return os.path.isfile(os.path.join(self.path, game, file))

    def name(self, game: str, file: str) -> str:
        return f"{self.path}:{game}/{file}" if self.zip else os.path.join(self.path, game, file)

    def load(self, game: str, file: str) -> Any:
        try:
            if self.zip:
                return json.loads(self.zip.read(f"{game}/{file}"))
            with open(os.path.join(self.path, game, file), "rb") as f:
                return json.loads(f.read())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise self.error(self.name(game, file), f"invalid JSON: {e}") from e

    def close(self) -> None:
        if self.zip:
            self.zip.close()


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
    read. Raises `error` when there is no such file or one is not exactly three folders deep.
    """
    root = pathlib.Path(predictions_dir)
    files = sorted(root.rglob(prediction_file))
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
