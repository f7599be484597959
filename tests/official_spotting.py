"""The official SoccerNet action-spotting evaluator on the games of a test's own split."""

from __future__ import annotations

import contextlib
import glob
import io
import os

from zoo.formats import spotting as spotting_format


def written_games(output_dir: str) -> list[str]:
    """league/season/game of every results file under output_dir."""
    pattern = os.path.join(output_dir, "*", "*", "*", spotting_format.PREDICTION_FILE)
    return sorted(os.path.relpath(os.path.dirname(p), output_dir) for p in glob.glob(pattern))


def official_scores(labels_dir: str, predictions: str, games: list[str], metric: str) -> dict:
    """`SoccerNet.Evaluation.ActionSpotting.evaluate` restricted to `games` (its split lists are
    the official games)."""
    from SoccerNet.Evaluation import ActionSpotting

    original = ActionSpotting.getListGames
    ActionSpotting.getListGames = lambda *a, **k: list(games)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return ActionSpotting.evaluate(labels_dir, predictions, split="test", version=2, metric=metric)
    finally:
        ActionSpotting.getListGames = original
