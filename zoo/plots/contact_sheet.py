"""A contact sheet of tracklets: one row of crops per tracklet, titled with the number read.

Crops the pipeline read are framed green, crops it dropped as outliers red, the others grey;
`matplotlib` is imported only here.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FRAMES = {"read": (40, 170, 60), "outlier": (200, 50, 40), "other": (150, 150, 150)}


def _tile(image: np.ndarray, height: int, width: int, state: str) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    tile = np.full((height + 4, width + 4, 3), 255, np.uint8)
    tile[:, :] = FRAMES[state]
    inner = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    inner[y : y + small.shape[0], x : x + small.shape[1]] = small
    tile[2:-2, 2:-2] = inner
    return tile


def write_contact_sheet(path: str, rows: Sequence[dict], *, crops_per_row: int = 12,
                        tile_size: tuple[int, int] = (96, 48)) -> str:
    """Writes a PNG of tracklets.

    rows: one dict per tracklet: {"tracklet": id, "number": int, "confidence": float,
      "thumbnails": [uint8 RGB], "states": ["read" | "outlier" | "other"] per thumbnail}.
    At most `crops_per_row` crops are shown per tracklet, spread over it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = tile_size
    figure, axes = plt.subplots(len(rows), 1, figsize=(crops_per_row * (width + 4) / 60,
                                                       len(rows) * (height + 24) / 60), squeeze=False)
    for axis, row in zip(axes[:, 0], rows):
        picks = np.unique(np.linspace(0, len(row["thumbnails"]) - 1, min(crops_per_row, len(row["thumbnails"])))
                          .round().astype(int)) if row["thumbnails"] else []
        tiles = [_tile(row["thumbnails"][i], height, width, row["states"][i]) for i in picks]
        tiles += [np.full((height + 4, width + 4, 3), 255, np.uint8)] * (crops_per_row - len(tiles))
        axis.imshow(np.concatenate(tiles, axis=1))
        number = "-1 (not visible)" if row["number"] < 0 else str(row["number"])
        confidence = "" if np.isnan(row["confidence"]) else f", confidence {row['confidence']:.2f}"
        axis.set_title(f"tracklet {row['tracklet']}: {number}{confidence}", fontsize=8, loc="left")
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
