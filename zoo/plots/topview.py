"""Pictures of top views and player graphs, for a look at what the calibration branch sees.

    from zoo.geometry import topview
    scene = topview.players_on_pitch(calibration, players)
    plot_topviews("topviews.png", topview.render_topviews(scene), frames=[10, 20, 30])

`write_top_view` writes the calibration task's views (`topview.top_views`): the colour
composition beside the binary channels shown as colours (players red, visible ground green, lines
blue), each scaled up by an integer factor without smoothing (OpenCV only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np

from zoo.geometry.topview import EDGE_DISTANCE, PlayersOnPitch, player_adjacency, topview_pixels


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("Plots need matplotlib: pip install '.[plot]'") from error
    return plt


def plot_topviews(
    path: str | os.PathLike,
    images: np.ndarray,
    *,
    frames: Sequence[int] | None = None,
    scene: PlayersOnPitch | None = None,
    titles: Sequence[str] | None = None,
    columns: int = 4,
    edge_distance: float = EDGE_DISTANCE,
) -> None:
    """Writes a grid of top views as a PNG.

    Args:
      images: uint8 [F, H, W, 3] from `zoo.geometry.topview.render_topviews`.
      frames: which frames to show (default: up to 8 spread over the half).
      scene: if given, the player graph of each shown frame is drawn over its view (edges
        between players closer than `edge_distance` metres).
      titles: one per shown frame (default "frame i").
    """
    plt = _pyplot()
    if frames is None:
        frames = np.linspace(0, len(images) - 1, min(8, len(images))).astype(int).tolist()
    rows = -(-len(frames) // columns)
    height, width = images.shape[1:3]
    figure, axes = plt.subplots(rows, min(columns, len(frames)), squeeze=False,
                                figsize=(3.2 * min(columns, len(frames)), 3.2 * rows * height / width))
    for axis in axes.ravel():
        axis.axis("off")
    for i, frame in enumerate(frames):
        axis = axes.ravel()[i]
        axis.imshow(images[frame], interpolation="nearest")
        axis.set_title(titles[i] if titles else f"frame {frame}", fontsize=8)
        if scene is not None:
            mask = scene.mask[frame]
            points = topview_pixels(scene.positions[frame], height, width)
            edges = player_adjacency(scene.positions[frame], mask, edge_distance)
            for a, b in zip(*np.nonzero(np.triu(edges))):
                axis.plot(points[[a, b], 0] - 0.5, points[[a, b], 1] - 0.5, color="#ffcc00", linewidth=0.4)
            axis.scatter(points[mask, 0] - 0.5, points[mask, 1] - 0.5, s=4, color="#ffcc00")
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def top_view_image(composition: np.ndarray, channels: np.ndarray, *, scale: int = 2) -> np.ndarray:
    """One RGB image [size * scale, (2 * size + 4) * scale, 3] uint8 of a frame's composition
    [size, size, 3] and channels [size, size, 3], side by side."""
    gap = np.full((composition.shape[0], 4, 3), 128, np.uint8)
    both = np.concatenate([composition, gap, channels], axis=1)
    return np.repeat(np.repeat(both, scale, axis=0), scale, axis=1)


def write_top_view(path: str | os.PathLike, composition: np.ndarray, channels: np.ndarray, *,
                   scale: int = 2) -> None:
    """Writes `top_view_image(...)` as a PNG."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    image = cv2.cvtColor(top_view_image(composition, channels, scale=scale), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(os.fspath(path), image):
        raise OSError(f"{path}: could not write the top-view PNG")
