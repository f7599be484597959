"""The index of an event-labelled video dataset (`soccernet_ball`): which videos a split holds,
their frame counts, and their events, as `zoo.data.video` reads clips from them.

    prepare_ball("2025", manual_dir=..., data_dir=...)   # builds the TFDS index once
    split = load_split("2025", "train", data_dir=...)     # VideoSplit: videos + events
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from zoo.data.video import VideoFileError

DATASET = "soccernet_ball"


@dataclasses.dataclass(frozen=True)
class VideoSplit:
    """The videos of one split of a `soccernet_ball` config, read from its TFDS examples."""

    videos: list[dict[str, Any]]  # one per example, see `load_split`
    video_root: str  # the folder `video` paths are relative to
    classes: tuple[str, ...]  # class names, in label index order


def load_split(config_name: str, split: str, *, data_dir: str | os.PathLike,
               video_root: str | os.PathLike | None = None) -> VideoSplit:
    """The videos of a prepared `soccernet_ball/<config_name>` split, in dataset order.

    Each video is a dict: `game` (str), `half` (int), `video` (str, relative to the video root),
    `num_frames` (int), `fps` (float), `height`, `width` (int), `seekable` (bool), and the events
    as int64 / bool arrays `[events]`: `event_frame`, `event_label`, `event_team`, `event_visible`,
    `event_position_ms`.

    Args:
      video_root: where the videos are; None uses the manual dir the dataset was built from
        (recorded in its metadata). Pass it when the video tree moved after the build.

    Raises:
      VideoFileError naming the first video missing under the video root.
    """
    from zoo.data import tfds_sources  # TFDS is imported only by who reads the index

    source = tfds_sources.data_source(f"{DATASET}/{config_name}", split, data_dir=data_dir)
    metadata = source.dataset_info.metadata
    root = os.fspath(video_root) if video_root is not None else metadata["manual_dir"]
    videos = []
    for index in range(len(source)):
        record = source[index]
        video = {
            "game": _text(record["game"]),
            "half": int(record["half"]),
            "video": _text(record["video"]),
            "num_frames": int(record["num_frames"]),
            "fps": float(record["fps"]),
            "height": int(record["height"]),
            "width": int(record["width"]),
            "seekable": bool(record["seekable"]),
        }
        for name in ("event_frame", "event_label", "event_team", "event_position_ms"):
            video[name] = np.asarray(record[name], np.int64)
        video["event_visible"] = np.asarray(record["event_visible"], bool)
        path = os.path.join(root, video["video"])
        if not os.path.isfile(path):
            how = ("recorded when the dataset was built" if video_root is None else "as given")
            raise VideoFileError(
                path, f"missing video file: the video root {root} ({how}) does not hold the video "
                f"of {video['game']} half {video['half']}; if the videos moved, pass their new root "
                f"as video_root")
        videos.append(video)
    return VideoSplit(videos=videos, video_root=root, classes=tuple(metadata["classes"]))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def prepare_ball(
    config_name: str,
    *,
    manual_dir: str,
    data_dir: str,
    synthetic_root: str | None = None,
    synthetic: Mapping[str, Any] | None = None,
) -> str:
    """Builds `soccernet_ball/<config_name>` once; with no `manual_dir`, from synthetic videos.

    The equivalent of the feature tasks' `prepare_data`, through `tfds_sources.prepare_once`:
    with an empty `manual_dir` a synthetic tree in the official layout is written once into
    `synthetic_root` (default `<data_dir>/synthetic_<config_name>`) with `zoo.synthetic.ball`
    (`write_dataset(version=...)` for the ball configs, `write_v2_video_dataset` for `v2_video`),
    given the keyword arguments in `synthetic`. Returns `data_dir`.
    """
    from zoo.data import tfds_sources
    from zoo.synthetic import ball as synthetic_ball

    data_dir = os.path.abspath(data_dir)
    if synthetic_root is None:
        synthetic_root = os.path.join(data_dir, f"synthetic_{config_name}")
    settings = dict(synthetic or {})
    year = config_name.split("_")[0]
    if config_name.startswith("v2_video"):
        write = functools.partial(synthetic_ball.write_v2_video_dataset, **settings)
        description = "SoccerNet-v2 action spotting videos"
    else:
        write = functools.partial(synthetic_ball.write_dataset, version=year, **settings)
        description = f"ball action spotting {year} videos"
    return tfds_sources.prepare_once(
        f"{DATASET}/{config_name}", manual_dir=manual_dir, data_dir=data_dir,
        synthetic_root=synthetic_root, write_synthetic=write, description=description,
        sources=("**/Labels-ball.json", "**/Labels-v2.json", "**/*.mp4", "**/*.mkv"))
