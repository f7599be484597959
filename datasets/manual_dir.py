"""Which games of the official split lists a builder's manual dir holds."""

from __future__ import annotations

import logging

from etils import epath

from zoo.formats.splits import SPLITS, list_games

_LOG = logging.getLogger(__name__)


def official_games(builder, manual_dir: epath.Path, *, task: str = "spotting") -> dict[str, list[str]]:
    """split -> the games of the official `task` list (zoo.formats.splits) that are folders in
    `manual_dir`, in the official order.

    Users often download only some splits (no challenge, say): a split without any game is left
    out with a warning (reading it later says so), a partial split is built from the games found,
    with a warning. No game at all raises FileNotFoundError with the builder's download
    instructions.
    """
    found = {}
    for split in SPLITS:
        official = list_games(split, task=task)
        games = [game for game in official if (manual_dir / game).is_dir()]
        if not games:
            _LOG.warning("%s: no game of the %r split in %s; the split is left out.", builder.name, split, manual_dir)
            continue
        if len(games) < len(official):
            _LOG.warning("%s: %d of the %d official %r games found in %s; building from those.",
                         builder.name, len(games), len(official), split, manual_dir)
        found[split] = games
    if not found:
        raise FileNotFoundError(
            f"No game of any official split found in the manual dir {manual_dir} (expected folders such as "
            f"{manual_dir / list_games('train', task=task)[0]}). {builder.MANUAL_DOWNLOAD_INSTRUCTIONS}")
    return found
