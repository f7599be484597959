"""A timeline picture of the actions spotted in a video: one row per class, a mark per action.

Marks are coloured by team (left / right / none) and their opacity is the confidence, so a user
sees at a glance where the match's actions are and how sure the model is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

TEAM_COLOURS = {0: "#1f77b4", 1: "#d62728", -1: "#444444"}  # left blue, right red, no team grey


def plot_timeline(
    path: str | os.PathLike,
    *,
    seconds: np.ndarray,
    class_index: np.ndarray,
    confidence: np.ndarray,
    classes: Sequence[str],
    team: np.ndarray | None = None,
    title: str = "",
    min_confidence: float = 0.0,
    duration_s: float | None = None,
) -> str:
    """Writes the timeline as a PNG; returns what was drawn ("12 of 40 actions with confidence >= 0.2").

    Args:
      seconds, class_index, confidence: [N] time (s), class and score of each spotted action.
      classes: class names, one row each.
      team: [N] 0 left / 1 right, or None.
      title: the video's name; the title also says how many actions are drawn above which threshold.
      min_confidence: actions below it are not drawn (long videos hold thousands of weak ones).
      duration_s: the video's length, the extent of the time axis (default: the last action).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = len(np.asarray(seconds))
    keep = np.asarray(confidence) >= min_confidence
    seconds, class_index, confidence = (np.asarray(a)[keep] for a in (seconds, class_index, confidence))
    team = np.full(len(seconds), -1) if team is None else np.asarray(team)[keep]
    extent = duration_s if duration_s else (float(seconds.max()) if len(seconds) else 1.0)
    # Seconds for a clip, minutes for a match.
    unit, scale = ("s", 1.0) if extent < 180 else ("min", 60.0)
    figure, axis = plt.subplots(figsize=(14, 0.45 * len(classes) + 1.6))
    for side in (-1, 0, 1):
        mine = team == side
        if not mine.any():
            continue
        colours = np.zeros((mine.sum(), 4))
        colours[:, :3] = matplotlib.colors.to_rgb(TEAM_COLOURS[side])
        colours[:, 3] = np.clip(confidence[mine], 0.08, 1.0)
        axis.scatter(seconds[mine] / scale, class_index[mine], marker="|", s=180, c=colours,
                     label={-1: "action", 0: "left team", 1: "right team"}[side])
    axis.set_yticks(range(len(classes)), classes)
    axis.set_ylim(-0.7, len(classes) - 0.3)
    axis.invert_yaxis()
    axis.set_xlabel(f"time ({unit})")
    axis.set_xlim(0, extent / scale)
    axis.grid(axis="x", alpha=0.3)
    if len(seconds):
        axis.legend(loc="upper right", fontsize="small", framealpha=0.8)
        drawn = f"{len(seconds)} of {total} actions with confidence >= {min_confidence:g}"
    else:
        drawn = f"none of {total} actions reaches confidence {min_confidence:g}"
    axis.set_title(f"{title}: {drawn} (opacity = confidence)" if title else f"{drawn} (opacity = confidence)")
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=110)
    plt.close(figure)
    return drawn
