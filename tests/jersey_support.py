"""Shared pieces of the jersey tests: the opt-in marker and a user's own folder of crops (XLA's
optimisations are off for the whole suite: tests/conftest.py)."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from zoo.synthetic import reid as renderer

# minute-long tests (learning, the full pipeline of every stage, PARSeq decoding parity)
SLOW = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


def user_folder(root, crops: int = 3):
    """Crops a user cut from their own video: free names, PNG and JPEG, one per player folder."""
    roster = renderer.game_roster("england_epl/2014-2015/2015-02-21 - 18-00 Chelsea 1 - 1 Burnley", 3)
    rng = np.random.default_rng(0)
    for player in ("home 10", "away keeper"):
        folder = root / "my clip" / player
        folder.mkdir(parents=True)
        person = roster["player"][2] if player.startswith("home") else roster["goalkeeper"][0]
        for k in range(crops):
            look = renderer._frame_look(rng, "replay")
            image = renderer.render(person, renderer._view(rng, look, None, 1.0))
            cv2.imwrite(str(folder / (f"frame{k:04d}.png" if k % 2 else f"shot-{k}.jpeg")), image)
    return root / "my clip"
