"""soccernet_ball: an index of the ball action spotting videos and their labels, one example per video.

Reads the tree the official `SoccerNet` downloads give once unzipped
(`<manual_dir>/england_efl/2019-2020/<game>/` with the video(s) and `Labels-ball.json`; for the
`v2_video` configs the SoccerNet-v2 games with `{1,2}_224p.mkv` and `Labels-v2.json`) and writes,
per video, where it is, how many frames it has and its events as frame indices. Frames are not
stored: `zoo.data.video` reads clips from the videos themselves. Runs without TensorFlow: build
it with `python -m soccernet_datasets.build soccernet_ball/2025`, read it with
`zoo.data.ball_index.load_split` (or `tfds.data_source`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import re
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from zoo.data.video import VideoFileError, VideoProbe, probe_video
from zoo.formats.errors import FileFormatError
from zoo.formats.splits import SPLITS, list_games
from zoo.formats.spotting import (
    BALL_FRAMERATE,
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    CLASSES_V2,
    LABEL_FILE,
    Annotation,
    read_labels,
)

_LOG = logging.getLogger(__name__)

_HOMEPAGE = "https://www.soccer-net.org/tasks/ball-action-spotting"
TEAM_INDEX = {"left": 0, "right": 1}  # event_team: -1 for anything else (no team, v2's home/away)
FRAME_COUNTS = ("decode", "tail")


class GameFileError(FileFormatError):
    """A file of a game folder in the manual dir is missing or unusable."""


@dataclasses.dataclass(eq=False)
class BallConfig(tfds.core.BuilderConfig):
    """One edition of the task and the video resolution to index.

    Attributes:
      edition: "2023" (two halves per game, PASS/DRIVE), "2024" (one video per game, 12 classes),
        "2025" (as 2024, every event with its team side) or "v2" (SoccerNet-v2 action spotting:
        two halves per game, 17 classes).
      resolutions: the video resolutions to look for, preferred first ("224p", "720p").
    """

    edition: str = "2025"
    resolutions: tuple[str, ...] = ("224p", "720p")

    @property
    def classes(self) -> tuple[str, ...]:
        return {"2023": CLASSES_BALL_2023, "v2": CLASSES_V2}.get(self.edition, CLASSES_BALL)

    @property
    def label_file(self) -> str:
        return LABEL_FILE if self.edition == "v2" else BALL_LABEL_FILE

    @property
    def per_half(self) -> bool:
        """Two videos per game (`1_<res>.mkv`, `2_<res>.mkv`) rather than one."""
        return self.edition in ("2023", "v2")

    @property
    def split_task(self) -> str:
        """The `zoo.formats.splits` lists of the games."""
        return "spotting" if self.edition == "v2" else "ball"

    @property
    def download_task(self) -> str:
        return f"spotting-ball-{self.edition}"


def _config(name: str, edition: str, resolutions: tuple[str, ...], description: str) -> BallConfig:
    return BallConfig(name=name, edition=edition, resolutions=resolutions, description=description)


_PREFER_224 = ("224p", "720p")
_PREFER_720 = ("720p", "224p")
CONFIGS = (
    _config("2023", "2023", _PREFER_224, "2023 ball action spotting: PASS and DRIVE, one example per half."),
    _config("2024", "2024", _PREFER_224, "2024 ball action spotting: 12 classes, one video per game."),
    _config("2025", "2025", _PREFER_224, "2025 team ball action spotting: 12 classes with the team side."),
    _config("v2_video", "v2", ("224p",), "SoccerNet-v2 action spotting videos (17 classes), for pretraining."),
    _config("2023_720p", "2023", _PREFER_720, "As 2023, indexing the 720p videos."),
    _config("2024_720p", "2024", _PREFER_720, "As 2024, indexing the 720p video."),
    _config("2025_720p", "2025", _PREFER_720, "As 2025, indexing the 720p video."),
)


def _instructions() -> str:
    return """\
The ball action spotting videos and labels come with the official `SoccerNet` package
(`pip install SoccerNet`; the data is gated on Hugging Face: accept the NDA on the dataset pages
and log in with `huggingface-cli login` first):

    from SoccerNet.Downloader import SoccerNetDownloader
    d = SoccerNetDownloader(LocalDirectory="/path/to/SoccerNet")
    d.downloadDataTask(task="spotting-ball-2025", split=["train", "valid", "test", "challenge"])

(task "spotting-ball-2023" or "spotting-ball-2024" for the other editions). This writes
`/path/to/SoccerNet/spotting-ball-2025/{train,valid,test,challenge}.zip`. Unzip them all into
one folder, so that the games sit at `<folder>/england_efl/2019-2020/<game>/` (2023: `1_224p.mkv`,
`2_224p.mkv` and/or `1_720p.mkv`, `2_720p.mkv`, plus `Labels-ball.json`; 2024 and 2025: one video
per game named `*224p.mp4|mkv` or `*720p.mp4|mkv`, plus `Labels-ball.json`):

    cd /path/to/SoccerNet/spotting-ball-2025
    for split in train valid test challenge; do unzip -q -o $split.zip -d /path/to/ball2025; done

If the zips hold a top folder of their own, point --manual_dir at the folder that holds
`england_efl`. The test and challenge labels of 2023 and 2024 are separate (`test_labels`
gives `test-private.zip`; unzip it over the same tree); challenge games have no labels. Then:

    python -m soccernet_datasets.build soccernet_ball/2025 \\
        --manual_dir /path/to/ball2025 --data_dir ~/tensorflow_datasets

Configs 2023, 2024, 2025 use the 224p videos when a game has them (else 720p); 2023_720p,
2024_720p, 2025_720p prefer 720p. For v2_video (SoccerNet-v2 action spotting, 17 classes, for
pretraining) download the 224p halves and labels of the spotting games:

    d.downloadGames(files=["1_224p.mkv", "2_224p.mkv", "Labels-v2.json"],
                    split=["train", "valid", "test", "challenge"])

and point --manual_dir at `/path/to/SoccerNet`. Games missing from the manual dir are skipped
with a warning, so a subset of every split works. Every video is decoded once while building,
to count its frames exactly and to check that seeking by frame index is exact.
"""


class Builder(tfds.core.GeneratorBasedBuilder):
    """Ball action spotting videos (and SoccerNet-v2 videos): where they are, their events."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = list(CONFIGS)
    DEFAULT_CONFIG_NAME = "2025"
    MANUAL_DOWNLOAD_INSTRUCTIONS = _instructions()

    def __init__(self, *, file_format: str | None = None, frame_count: str = "decode", **kwargs):
        """`frame_count`: "decode" decodes every frame of every video to count them (exact, and
        checks every frame's timestamp); "tail" decodes only the last frames after a seek near
        the container's estimate (fast; exact when seeking is). Neither changes the dataset's
        content for well-formed videos."""
        # array_record by default: random access for grain, and tfrecord would need TensorFlow.
        super().__init__(file_format=file_format or "array_record", **kwargs)
        if frame_count not in FRAME_COUNTS:
            raise ValueError(f"frame_count must be one of {FRAME_COUNTS}, got {frame_count!r}")
        self._frame_count = frame_count

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        classes = ", ".join(f"{i} {c}" for i, c in enumerate(config.classes))
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "game": tfds.features.Text(doc="league/season/game"),
                "half": tfds.features.Scalar(np.int32, doc="1 or 2; 1 for one-video-per-game editions"),
                "video": tfds.features.Text(
                    doc="the video file, relative to the manual dir ('/'-separated)"),
                "num_frames": tfds.features.Scalar(np.int64, doc="frames the decoder returns"),
                "fps": tfds.features.Scalar(np.float32, doc="frames per second of the video"),
                "height": tfds.features.Scalar(np.int32, doc="frame height in pixels"),
                "width": tfds.features.Scalar(np.int32, doc="frame width in pixels"),
                "seekable": tfds.features.Scalar(
                    np.bool_, doc="regular timestamps: seeking by frame index is exact (else read "
                    "by decoding forward)"),
                "event_frame": tfds.features.Tensor(
                    shape=(None,), dtype=np.int64,
                    doc="frame of each event in the video: int(fps * (position_ms / 1000))"),
                "event_label": tfds.features.Tensor(
                    shape=(None,), dtype=np.int64, doc=f"class index: {classes}"),
                "event_team": tfds.features.Tensor(
                    shape=(None,), dtype=np.int64, doc="-1 none (and v2's home/away), 0 left, 1 right"),
                "event_visible": tfds.features.Tensor(
                    shape=(None,), dtype=np.bool_, doc='False for "not shown"'),
                "event_position_ms": tfds.features.Tensor(
                    shape=(None,), dtype=np.int64,
                    doc="milliseconds into the video as in the label file; -1 when it has none"),
            }),
            homepage=_HOMEPAGE,
            metadata=tfds.core.MetadataDict(
                classes=list(config.classes),
                label_file=config.label_file,
                edition=config.edition,
                resolutions=list(config.resolutions),
                official_framerate=BALL_FRAMERATE,
                manual_dir="",  # set when built: the root the `video` paths are relative to
            ),
        )

    # ------------------------------------------------------------------------- finding the files

    def _videos_of(self, game_dir: epath.Path) -> dict[int, epath.Path]:
        """The video of each half (half 1 only for one-video-per-game editions)."""
        config = self.builder_config
        names = sorted(p.name for p in game_dir.iterdir() if p.is_file())
        if config.per_half:
            videos = {}
            for half in (1, 2):
                wanted = [f"{half}_{res}.{ext}" for res in config.resolutions for ext in ("mkv", "mp4")]
                found = [name for name in wanted if name in names]
                if not found:
                    raise VideoFileError(
                        game_dir / wanted[0], f"missing video (expected one of {', '.join(wanted)})")
                videos[half] = game_dir / found[0]
            return videos
        per_half_name = re.compile(r"^[12]_")
        for res in config.resolutions:
            found = [name for name in names if not per_half_name.match(name)
                     and name.endswith((f"{res}.mp4", f"{res}.mkv"))]
            if len(found) > 1:
                raise VideoFileError(
                    game_dir / found[0], f"several {res} videos in the game folder ({', '.join(found)}); "
                    "expected one video per game")
            if found:
                return {1: game_dir / found[0]}
        patterns = ", ".join(f"*{res}.{ext}" for res in config.resolutions for ext in ("mp4", "mkv"))
        halves = [n for n in names if per_half_name.match(n)]
        hint = (f" (found per-half videos {', '.join(halves)}: the {config.name} edition has one video "
                f"per game; is this the 2023 layout?)" if halves else "")
        raise VideoFileError(game_dir, f"missing video (expected one file matching {patterns}){hint}")

    def _labels_of(self, game_dir: epath.Path, split: str) -> list[Annotation]:
        if split == "challenge":  # the official challenge games have no labels
            return []
        path = game_dir / self.builder_config.label_file
        if not path.is_file():
            raise GameFileError(path, f"missing label file (every {split} game needs one)")
        return read_labels(os.fspath(path), classes=self.builder_config.classes)

    # ------------------------------------------------------------------------- building

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        manual_dir = epath.Path(os.path.abspath(dl_manager.manual_dir))
        plans: dict[str, list[tuple[str, dict[int, epath.Path], list[Annotation]]]] = {}
        for split in SPLITS:
            official = list_games(split, task=config.split_task)
            games = [game for game in official if (manual_dir / game).is_dir()]
            if not games:
                # Users often download only some splits (e.g. no challenge): the split is left out
                # of the dataset, and reading it later says so.
                _LOG.warning("%s: no game of the %r split in %s; the split is left out.",
                             self.name, split, manual_dir)
                continue
            if len(games) < len(official):
                _LOG.warning(
                    "%s: %d of the %d official %r games found in %s; building from those.",
                    self.name, len(games), len(official), split, manual_dir)
            # Check every game's files before decoding anything, so a bad file fails the build early.
            plans[split] = [(game, self._videos_of(manual_dir / game),
                             self._labels_of(manual_dir / game, split)) for game in games]
        if not plans:
            raise FileNotFoundError(
                f"No game of any official split found in the manual dir {manual_dir} (expected "
                f"folders such as {manual_dir / list_games('train', task=config.split_task)[0]}). "
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        paths = [path for games in plans.values() for _, videos, _ in games for path in videos.values()]
        preferred = config.resolutions[0]
        others = [path for path in paths if preferred not in path.name]
        if others:
            _LOG.warning("%s: %d of the %d videos are not %s (e.g. %s): indexing those instead.",
                         self.name, len(others), len(paths), preferred, others[0])
        probes = self._probe(paths)
        self.info.metadata["manual_dir"] = os.fspath(manual_dir)
        return {
            split: self._generate_examples([
                self._example(manual_dir, game, half, path, probes[path], labels)
                for game, videos, labels in games for half, path in videos.items()])
            for split, games in plans.items()
        }

    def _probe(self, paths: Sequence[epath.Path]) -> dict[epath.Path, VideoProbe]:
        """Counts the frames of every video, several at once (OpenCV decodes without the GIL)."""
        cores = os.cpu_count() or 1
        workers = max(1, min(len(paths), cores, 16))
        threads = max(1, cores // workers)  # decoder threads per video: use the cores, no more
        full = self._frame_count == "decode"
        _LOG.info("%s: %s %d videos to count their frames (%d at a time).", self.name,
                  "decoding" if full else "decoding the end of", len(paths), workers)

        def probe(path: epath.Path) -> VideoProbe:
            result = probe_video(os.fspath(path), full_decode=full, threads=threads)
            _LOG.info("%s: %d frames, %dx%d at %g fps%s.", path, result.num_frames, result.width,
                      result.height, result.fps, "" if result.seekable else
                      ", IRREGULAR timestamps: clips will be read by decoding forward (slow)")
            return result

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return dict(zip(paths, pool.map(probe, paths)))

    def _example(self, manual_dir: epath.Path, game: str, half: int, path: epath.Path,
                 probe: VideoProbe, labels: list[Annotation]) -> tuple[str, dict]:
        config = self.builder_config
        label_path = manual_dir / game / config.label_file
        if abs(probe.fps - BALL_FRAMERATE) > 1e-3:
            _LOG.warning("%s: %g fps, not the official %d: event frames use the video's rate.",
                         path, probe.fps, BALL_FRAMERATE)
        events = []
        for a in labels:
            if not config.per_half and a.half != 1:
                raise GameFileError(
                    label_path, f"{a.label!r} at gameTime half {a.half}: the {config.name} edition has "
                    "one video per game and every event in half 1")
            if a.half != half:
                continue
            frame = a.frame(probe.fps)
            if frame >= probe.num_frames:
                raise GameFileError(
                    label_path, f"{a.label!r} at {_when(a)} is at frame {frame}, past the end of "
                    f"{path} ({probe.num_frames} frames at {probe.fps:g} fps)")
            if config.edition == "2025" and a.team not in TEAM_INDEX:
                raise GameFileError(
                    label_path, f"{a.label!r} at {_when(a)} has team {a.team!r}; the 2025 labels give "
                    "every event a team, left or right (older label files lack it: download again)")
            team = TEAM_INDEX.get(a.team, -1) if config.edition != "v2" else -1
            events.append((frame, config.classes.index(a.label), team, a.visible,
                           -1 if a.position_ms is None else a.position_ms))
        columns = list(zip(*events)) if events else [(), (), (), (), ()]
        return f"{game}/{half}", {
            "game": game,
            "half": half,
            "video": path.relative_to(manual_dir).as_posix(),
            "num_frames": probe.num_frames,
            "fps": probe.fps,
            "height": probe.height,
            "width": probe.width,
            "seekable": probe.seekable,
            "event_frame": np.asarray(columns[0], np.int64),
            "event_label": np.asarray(columns[1], np.int64),
            "event_team": np.asarray(columns[2], np.int64),
            "event_visible": np.asarray(columns[3], np.bool_),
            "event_position_ms": np.asarray(columns[4], np.int64),
        }

    def _generate_examples(self, examples: Sequence[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
        yield from examples


def _when(a: Annotation) -> str:
    minutes, seconds = divmod(a.game_time_s, 60)
    position = "" if a.position_ms is None else f", position {a.position_ms} ms"
    return f"gameTime {a.half} - {minutes:02d}:{seconds:02d}{position}"
