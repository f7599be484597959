"""Clips read straight from the SoccerNet videos with OpenCV: frame-exact, no frame dumps.

    split = load_split("2025", "train", data_dir=...)            # the TFDS index of the videos
    source = ClipSource(split.videos, video_root=split.video_root, clip_len=100, stride=2,
                        overlap=0.9, size=(224, 398), num_classes=len(split.classes))
    dataset = grain.MapDataset.source(source).shuffle(seed=0).map(...)

Frame `i` of a video is the i-th frame its decoder returns (0-based), the index the official
evaluators compute as `int(fps * (position_ms / 1000))`. A clip of `T` frames at `stride` s starting
at frame `start` holds frames `start, start + s, ..., start + (T - 1) * s`.

How a clip is read: one seek (`CAP_PROP_POS_FRAMES`), then `grab()` for the skipped frames and
`retrieve()` only for the kept ones. OpenCV seeks by timestamp (it jumps to the keyframe before
the target and decodes forward until the timestamp-derived frame number reaches it), so a seek
lands on the right frame exactly when every frame's timestamp-derived number equals its decoding
order ("regular timestamps": constant frame rate, no gaps). `probe_video` checks that for every
frame while it counts them (the TFDS builder stores it as `seekable`); a video without it is read
by decoding forward from the start instead, which is exact but slow. After every seek the reader
also checks the position OpenCV reports: OpenCV clamps seeks to `CAP_PROP_FRAME_COUNT`, only an
estimate for mkv, so a seek that reports another frame is retried further back (then from the
start) and the rest decoded forward. OpenCV 5.0 seeks exactly in every file checked (H.264 with
B-frames in mkv and mp4, with and without a start offset, VP9, MPEG-4; 25 and 29.97 fps).

Open `VideoCapture`s are kept in a small LRU cache per thread and process (grain read threads and
worker processes each have their own), so consecutive clips of a video skip the re-opening and,
when the next clip starts a little ahead, the seek too.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from zoo.formats.errors import FileFormatError

_LOG = logging.getLogger(__name__)

# Open videos kept per thread. A 720p H.264 decoder holds a few tens of MB of frame buffers, and
# a training worker reads clips of a handful of games at random, so a few are enough to make most
# reads of inference (one video after the other) and of shuffled training (random) cheap.
MAX_OPEN_VIDEOS = 4
# A target at most this many frames ahead of the decoder is reached by decoding forward rather
# than by seeking: a seek decodes from the keyframe before the target anyway (about half a GOP,
# tens of frames for broadcast H.264), and decoding forward cannot land on a wrong frame.
SKIP_AHEAD_FRAMES = 48


class VideoFileError(FileFormatError):
    """A video that is missing, cannot be opened or decoded, or differs from the dataset's index."""


# ----------------------------------------------------------------------------- probing


@dataclasses.dataclass(frozen=True)
class VideoProbe:
    """What the TFDS builder stores about a video file."""

    num_frames: int  # frames the decoder returns (not CAP_PROP_FRAME_COUNT, an estimate for mkv)
    fps: float  # CAP_PROP_FPS, snapped to the integer when within 1e-3 (25.000001 -> 25.0)
    height: int
    width: int
    seekable: bool  # every frame's timestamp-derived number equals its decoding order


def open_video(path: str | os.PathLike, *, threads: int | None = None) -> cv2.VideoCapture:
    """An opened `cv2.VideoCapture` (FFmpeg backend) of `path`, or `VideoFileError` naming it.

    `threads` sets the decoder threads (`CAP_PROP_N_THREADS`; OpenCV's default is one per core,
    which oversubscribes the cores when many grain workers decode at once).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VideoFileError(path, "missing video file")
    params = [] if threads is None else [cv2.CAP_PROP_N_THREADS, int(threads)]
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        raise VideoFileError(path, "OpenCV (FFmpeg) cannot open the video (truncated, corrupt or not a video?)")
    return capture


def _fps(capture: cv2.VideoCapture) -> float:
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else fps


def probe_video(path: str | os.PathLike, *, full_decode: bool = True, threads: int | None = None) -> VideoProbe:
    """Counts the frames of a video by decoding them and checks that seeking by index is exact.

    `full_decode=True` decodes every frame (`grab()`, no colour conversion): the count is the
    decoder's, and `seekable` says whether the timestamp-derived position OpenCV reports after
    each frame equals the number of frames decoded so far. `full_decode=False` seeks to a little
    before `CAP_PROP_FRAME_COUNT` and decodes only the tail (further back if that estimate is past
    the end): exact whenever seeking is (then `seekable` covers the tail only).

    Raises:
      VideoFileError naming the file when it is missing, cannot be opened, has no frame, or has no
      frame size.
    """
    path = os.fspath(path)
    capture = open_video(path, threads=threads)
    try:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = _fps(capture)
        if width <= 0 or height <= 0 or not fps > 0:
            raise VideoFileError(path, f"no usable frame size or rate ({width}x{height} at {fps} fps)")
        counted = None if full_decode else _count_tail(capture)
        if counted is None:
            capture.release()
            capture = open_video(path, threads=threads)
            counted = _count_from(capture, 0)
        num_frames, seekable = counted
    finally:
        capture.release()
    if num_frames == 0:
        raise VideoFileError(path, "no frame could be decoded")
    return VideoProbe(num_frames=num_frames, fps=fps, height=height, width=width, seekable=seekable)


def _count_from(capture: cv2.VideoCapture, first: int) -> tuple[int, bool]:
    """Decodes to the end from frame `first` (where the capture stands): (frame count, regular)."""
    count, regular = first, True
    while capture.grab():
        count += 1
        # OpenCV derives the position from the frame's timestamp, the same rule its seek follows.
        regular = regular and round(capture.get(cv2.CAP_PROP_POS_FRAMES)) == count
    return count, regular


def _count_tail(capture: cv2.VideoCapture) -> tuple[int, bool] | None:
    """Seeks a little before the estimated end and decodes the rest: (frame count, regular tail)."""
    estimate = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    back = 64
    while True:
        first = max(estimate - back, 0)
        capture.set(cv2.CAP_PROP_POS_FRAMES, first)
        if (round(capture.get(cv2.CAP_PROP_POS_FRAMES)) == first and capture.grab()
                and round(capture.get(cv2.CAP_PROP_POS_FRAMES)) == first + 1):
            return _count_from(capture, first + 1)
        if first == 0:
            return None  # no seek lands where it says: the caller decodes everything
        back *= 4  # the estimate was past the end (mkv durations can include a start offset)


# ----------------------------------------------------------------------------- reading clips


class _OpenVideo:
    """A capture and the index of the frame its next `grab()` returns."""

    def __init__(self, path: str, threads: int | None):
        self.path = path
        self.threads = threads
        self.capture = open_video(path, threads=threads)
        self.next_frame = 0
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))

    def reopen(self) -> None:
        self.capture.release()
        self.capture = open_video(self.path, threads=self.threads)
        self.next_frame = 0

    def grab(self) -> bool:
        if not self.capture.grab():
            return False
        self.next_frame += 1
        return True

    def go_to(self, target: int, *, seek: bool) -> bool:
        """Makes the next `grab()` return frame `target`; False if the video ends before it."""
        if 0 <= target - self.next_frame <= SKIP_AHEAD_FRAMES:
            return self._forward(target)
        if seek:
            return self._seek(target)
        if target < self.next_frame:
            self.reopen()
        return self._forward(target)

    def _forward(self, target: int) -> bool:
        while self.next_frame < target:
            if not self.grab():
                return False
        return True

    def _seek(self, target: int) -> bool:
        """Seeks to `target`, or to an earlier frame and decodes forward, checking where it lands.

        OpenCV clamps a seek to `CAP_PROP_FRAME_COUNT`, which for mkv is an estimate from the
        duration (it can be short or long by the start offset), and cannot seek past the end: a
        seek that does not report the target is retried further back, then from the start.
        """
        back = 0
        while True:
            first = max(target - back, 0)
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, first)
            if round(self.capture.get(cv2.CAP_PROP_POS_FRAMES)) == first:
                self.next_frame = first
                return self._forward(target)
            if first == 0:
                break
            back = 4 * back or SKIP_AHEAD_FRAMES
        self.reopen()
        return self._forward(target)

    def release(self) -> None:
        self.capture.release()


_INHERITED: list[_OpenVideo] = []  # videos a forked child got from its parent: never touched


class _VideoCache(threading.local):
    """The open videos of one thread, least recently used first; emptied after a fork."""

    def __init__(self):
        self.pid = os.getpid()
        self.videos: collections.OrderedDict[str, _OpenVideo] = collections.OrderedDict()

    def get(self, path: str, threads: int | None) -> _OpenVideo:
        if self.pid != os.getpid():
            # A forked child shares the parent's file offsets: never use the parent's captures.
            # Nor release them: closing a decoder joins its threads, which a child does not have
            # (it would hang), so they are kept, unused, for the life of the child.
            _INHERITED.extend(self.videos.values())
            self.pid = os.getpid()
            self.videos = collections.OrderedDict()
        video = self.videos.pop(path, None)
        if video is None:
            video = _OpenVideo(path, threads)
            while len(self.videos) >= MAX_OPEN_VIDEOS:
                self.videos.popitem(last=False)[1].release()
        self.videos[path] = video
        return video

    def clear(self) -> None:
        for video in self.videos.values():
            video.release()
        self.videos.clear()


_OPEN_VIDEOS = _VideoCache()


def close_videos() -> None:
    """Releases the videos this thread keeps open (e.g. before deleting or replacing the files)."""
    _OPEN_VIDEOS.clear()


def frames_at_rate(num_frames: int, fps: float, rate: float) -> np.ndarray:
    """The frame nearest to each time k / `rate` of a video of `num_frames` frames at `fps`.

    How a model trained at `rate` frames per second sees a video at any frame rate: 12.5 fps from
    a 29.97 fps video takes frames 0, 2, 5, 7, 10, ... (never more than half a frame from the
    target time), not every second frame (15 fps). For fps = rate * stride it is every
    stride-th frame exactly.

    Returns: int64 `[K]`, non-decreasing, all < num_frames; K covers the video's duration.
    """
    if fps <= 0 or rate <= 0:
        raise ValueError(f"need fps > 0 and rate > 0, got {fps} and {rate}")
    count = int(math.floor((num_frames - 0.5) * rate / fps)) + 1 if num_frames > 0 else 0
    # Exact rational arithmetic for the common case of an integer ratio (25 fps at 12.5).
    ratio = fps / rate
    indices = np.floor(np.arange(count, dtype=np.float64) * ratio + 0.5).astype(np.int64)
    return np.minimum(indices, num_frames - 1)


def read_frames(
    path: str | os.PathLike,
    indices: np.ndarray,
    *,
    size: tuple[int, int] | None = None,
    seek: bool = True,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of a video at `indices` (non-decreasing; negative = padding), RGB.

    Returns: frames uint8 `[T, H, W, 3]` (zero where not valid) and valid bool `[T]` (False for
    indices before 0 or past the end of the video). A repeated index repeats its frame.

    Raises:
      VideoFileError naming the file when it cannot be opened, or a frame that was found cannot
      be decoded.
    """
    indices = np.asarray(indices, np.int64)
    if np.any(np.diff(indices) < 0):
        raise ValueError("read_frames needs non-decreasing frame indices")
    video = _OPEN_VIDEOS.get(os.fspath(path), threads)
    height, width = size if size is not None else (video.height, video.width)
    frames = np.zeros((len(indices), height, width, 3), np.uint8)
    valid = np.zeros(len(indices), bool)
    first = int(np.searchsorted(indices, 0))  # frames before 0 stay padding
    if first == len(indices) or not video.go_to(int(indices[first]), seek=seek):
        return frames, valid
    for k in range(first, len(indices)):
        if k > first and indices[k] == indices[k - 1]:
            frames[k], valid[k] = frames[k - 1], valid[k - 1]
            continue
        if not video.go_to(int(indices[k]), seek=seek) or not video.grab():
            break  # past the end: the rest stays padding
        ok, image = video.capture.retrieve()
        if not ok:
            raise VideoFileError(video.path, f"frame {indices[k]} was found but cannot be decoded")
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=frames[k])
        valid[k] = True
    return frames, valid


def read_clip(
    path: str | os.PathLike,
    start: int,
    num_frames: int,
    *,
    stride: int = 1,
    size: tuple[int, int] | None = None,
    seek: bool = True,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames `start, start + stride, ...` (`num_frames` of them) of a video, RGB.

    Args:
      path: the video file.
      start: index of the first frame (may be negative: frames before 0 are padding).
      num_frames: frames in the clip, `T`.
      stride: keep every `stride`-th frame.
      size: (height, width) to resize every frame to with `cv2.INTER_AREA`; None keeps the video's.
      seek: seek by frame index (set False for a video whose timestamps are not regular, see the
        module docstring; it is then read by decoding forward, reopening it to go backwards).
      threads: decoder threads when the video is opened (None: OpenCV's default).

    Returns:
      frames: uint8 `[T, H, W, 3]` RGB; zero where not valid.
      valid: bool `[T]`, False for frames before 0 or past the end of the video.

    Raises:
      VideoFileError naming the file when it cannot be opened, or a frame that was found cannot
      be decoded.
    """
    if num_frames < 0 or stride < 1:
        raise ValueError(f"need num_frames >= 0 and stride >= 1, got {num_frames} and {stride}")
    return read_frames(path, start + stride * np.arange(num_frames), size=size, seek=seek, threads=threads)


class VideoFrames:
    """Every `stride`-th frame of a whole video, decoded in order, in chunks: for inference.

    `len()` is the number of chunks, so `tqdm(VideoFrames(...))` shows a true progress bar;
    iterating yields `(first_frame, frames)`: the index of the chunk's first frame and its frames,
    uint8 `[n, H, W, 3]` RGB with `n <= chunk` (frames `first_frame, first_frame + stride, ...`).
    """

    def __init__(self, path: str | os.PathLike, *, num_frames: int, stride: int = 1,
                 size: tuple[int, int] | None = None, chunk: int = 256, threads: int | None = None):
        if stride < 1 or chunk < 1 or num_frames < 0:
            raise ValueError(f"need stride >= 1, chunk >= 1, num_frames >= 0; got {stride}, {chunk}, {num_frames}")
        self.path = os.fspath(path)
        self.num_frames = num_frames
        self.stride = stride
        self.size = size
        self.chunk = chunk
        self.threads = threads

    @property
    def num_kept(self) -> int:
        """Frames yielded in total: ceil(num_frames / stride)."""
        return math.ceil(self.num_frames / self.stride)

    def __len__(self) -> int:
        return math.ceil(self.num_kept / self.chunk)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        capture = open_video(self.path, threads=self.threads)
        try:
            decoded = 0
            for first in range(0, self.num_kept, self.chunk):
                count = min(self.chunk, self.num_kept - first)
                frames = None
                for k in range(count):
                    target = (first + k) * self.stride
                    while decoded <= target:
                        if not capture.grab():
                            raise VideoFileError(
                                self.path, f"the video has fewer frames than the {self.num_frames} "
                                f"the dataset says: it ends after {decoded} (was the file replaced?)")
                        decoded += 1
                    ok, image = capture.retrieve()
                    if not ok:
                        raise VideoFileError(self.path, f"frame {target} was found but cannot be decoded")
                    if self.size is not None and image.shape[:2] != tuple(self.size):
                        image = cv2.resize(image, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
                    if frames is None:
                        frames = np.empty((count, *image.shape), np.uint8)
                    cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=frames[k])
                yield first * self.stride, frames
            while decoded < self.num_frames and capture.grab():
                decoded += 1
            if decoded < self.num_frames or capture.grab():
                raise VideoFileError(
                    self.path, f"the video has {'fewer' if decoded < self.num_frames else 'more'} "
                    f"frames than the {self.num_frames} the dataset says (was the file replaced?)")
        finally:
            capture.release()


def iter_video_frames(
    path: str | os.PathLike,
    *,
    num_frames: int,
    stride: int = 1,
    size: tuple[int, int] | None = None,
    chunk: int = 256,
    threads: int | None = None,
) -> VideoFrames:
    """Streams a whole video for inference; see `VideoFrames` (sequential decoding, no seek)."""
    return VideoFrames(path, num_frames=num_frames, stride=stride, size=size, chunk=chunk, threads=threads)


# ----------------------------------------------------------------------------- clips of a split


def clip_starts(num_frames: int, *, clip_len: int, stride: int = 1, overlap: float = 0.0) -> np.ndarray:
    """First frames of the clips that cover a video of `num_frames` frames.

    A clip spans `clip_len * stride` frames; consecutive clips share a fraction `overlap` of their
    `clip_len` kept frames (the step is `round(clip_len * (1 - overlap))` kept frames, at least
    one). Starts are multiples of `stride`, so all clips keep the same frames (0, stride, ...), and
    the last clip reaches the end of the video (it may run past it: that part is padding). With
    `overlap=0` every kept frame is in exactly one clip: the inference cover.

    Returns: int64 `[num_clips]`.
    """
    if clip_len < 1 or stride < 1:
        raise ValueError(f"need clip_len >= 1 and stride >= 1, got {clip_len} and {stride}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if num_frames <= 0:
        return np.zeros(0, np.int64)
    step = max(1, round(clip_len * (1.0 - overlap))) * stride
    count = 1 + max(0, math.ceil((num_frames - clip_len * stride) / step))
    return np.arange(count, dtype=np.int64) * step


def event_positions(event_frames: np.ndarray, *, start: int, clip_len: int, stride: int,
                    num_frames: int) -> np.ndarray:
    """Clip position of each event (-1 when it is not in the clip): the nearest kept frame.

    Kept frames are `start + p * stride`. An event halfway between two goes to the later one
    (Python's `round` would send odd offsets one way and the next the other way), except past the
    last frame of the video, where it goes to the earlier one, the last frame that exists.

    Returns: int64 `[events]`.
    """
    frames = np.asarray(event_frames, np.int64)
    positions = (frames - start + stride // 2) // stride
    past_end = start + positions * stride >= num_frames
    positions = np.where(past_end, positions - 1, positions)
    return np.where((positions >= 0) & (positions < clip_len), positions, -1)


def clip_targets(video: Mapping[str, Any], *, start: int, clip_len: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame class and team targets of one clip of `video` (a dict of `load_split`).

    Returns: labels int32 `[clip_len]` (0 background, c + 1 for class c) and teams int32
    `[clip_len]` (-1 none, 0 left, 1 right). Two events on one position: the later in time wins
    (then the later in the label file), as a later write wins in the official evaluator's label
    vectors; a frame-level softmax target holds one class.
    """
    labels = np.zeros(clip_len, np.int32)
    teams = np.full(clip_len, -1, np.int32)
    frames = np.asarray(video["event_frame"], np.int64)
    order = np.argsort(frames, kind="stable")
    positions = event_positions(frames[order], start=start, clip_len=clip_len, stride=stride,
                                num_frames=int(video["num_frames"]))
    inside = positions >= 0
    # Fancy-index assignment keeps the last value written for a repeated index.
    labels[positions[inside]] = np.asarray(video["event_label"], np.int64)[order][inside] + 1
    teams[positions[inside]] = np.asarray(video["event_team"], np.int64)[order][inside]
    return labels, teams


class ClipSource:
    """Random-access clips over the videos of a split, for `grain.MapDataset.source`.

    `source[i]` is a dict: `frames` uint8 `[T, H, W, 3]` RGB, `valid` bool `[T]`, `labels` int32
    `[T]` (0 background, c + 1 for class c, see `clip_targets`), `teams` int32 `[T]` (-1 none,
    0 left, 1 right), `video_index` int32 (into `videos`) and `start` int32 (the clip's first
    frame, at the video's frame rate). Clip i is `clips[i] = (video_index, start)`, videos in the
    given order, starts from `clip_starts`. Picklable: the open videos live in each reading
    thread, not in the source.
    """

    def __init__(
        self,
        videos: Sequence[Mapping[str, Any]],
        *,
        video_root: str | os.PathLike,
        clip_len: int,
        stride: int = 1,
        overlap: float = 0.0,
        size: tuple[int, int] | None = None,
        num_classes: int,
        threads: int | None = None,
    ):
        """
        Args:
          videos: dicts with `video` (path relative to `video_root`), `num_frames`,
            `event_frame`, `event_label`, `event_team` and optionally `seekable` (default True):
            the examples of the TFDS dataset, as `load_split` returns them.
          video_root: folder the `video` paths are relative to.
          clip_len: frames per clip, after striding (`T`).
          stride: keep every `stride`-th frame.
          overlap: fraction of a clip shared with the next one, in [0, 1) (0.9 for ball training
            as T-DEED; 0 for inference, where every kept frame is in exactly one clip).
          size: (height, width) frames are resized to; None keeps each video's size.
          num_classes: classes of the labels (event labels must be in [0, num_classes)).
          threads: decoder threads per open video (None: OpenCV's default).

        Raises:
          VideoFileError naming the first video file that does not exist under `video_root`.
        """
        self.video_root = os.fspath(video_root)
        self.clip_len, self.stride, self.overlap, self.size = clip_len, stride, overlap, size
        self.num_classes, self.threads = num_classes, threads
        self.videos = [dict(v) for v in videos]
        for v in self.videos:
            path = os.path.join(self.video_root, v["video"])
            if not os.path.isfile(path):
                raise VideoFileError(
                    path, f"missing video file (the dataset's video root is {self.video_root}; if "
                    f"the videos moved, pass their new root as video_root)")
            labels = np.asarray(v["event_label"])
            if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
                raise ValueError(f"{v['video']}: event labels outside [0, {num_classes})")
        starts = [clip_starts(int(v["num_frames"]), clip_len=clip_len, stride=stride, overlap=overlap)
                  for v in self.videos]
        self.clips = np.concatenate(
            [np.stack([np.full(len(s), i), s], axis=1) for i, s in enumerate(starts)]
            or [np.zeros((0, 2), np.int64)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        video_index, start = (int(x) for x in self.clips[index])
        return self.read(video_index, start)

    def read(self, video_index: int, start: int) -> dict[str, np.ndarray]:
        """The clip of video `video_index` that starts at frame `start`, as `source[i]` gives it."""
        video = self.videos[video_index]
        frames, valid = read_clip(
            os.path.join(self.video_root, video["video"]), start, self.clip_len, stride=self.stride,
            size=self.size, seek=bool(video.get("seekable", True)), threads=self.threads)
        labels, teams = clip_targets(video, start=start, clip_len=self.clip_len, stride=self.stride)
        return {"frames": frames, "valid": valid, "labels": labels, "teams": teams,
                "video_index": np.int32(video_index), "start": np.int32(start)}

    def __repr__(self) -> str:
        return (f"ClipSource({len(self.videos)} videos, {len(self)} clips of {self.clip_len} "
                f"frames at stride {self.stride}, overlap {self.overlap}, size {self.size})")


def balanced_events(videos: Sequence[Mapping[str, Any]], *, num_classes: int, balance: float = 1.0) -> np.ndarray:
    """Every labelled event, repeated so that rare classes come up about as often as common ones.

    An event of class c is listed `round((n_max / n_c) ** balance)` times, n_c being the events of
    class c over all `videos` and n_max that of the most frequent class: `balance=1` gives every
    class about the same share, `balance=0` the events' natural frequencies. Rare ball actions
    (a goal, a free kick) are a few per game, against hundreds of passes; clips sampled uniformly
    along the video show them too seldom for a short run to learn them.

    Returns: int64 `[N, 2]` rows (video index, event frame), the input of `AroundEvent`.
    """
    if balance < 0:
        raise ValueError(f"balance must be >= 0, got {balance}")
    rows = [np.stack([np.full(len(v["event_frame"]), i), np.asarray(v["event_frame"], np.int64)], axis=1)
            for i, v in enumerate(videos)]
    labels = np.concatenate([np.asarray(v["event_label"], np.int64) for v in videos] or [np.zeros(0, np.int64)])
    rows = np.concatenate(rows or [np.zeros((0, 2), np.int64)]).astype(np.int64)
    if not len(rows):
        return rows
    counts = np.bincount(labels, minlength=num_classes)
    repeats = np.rint((counts.max() / counts[labels]) ** balance).astype(np.int64)
    return np.repeat(rows, np.maximum(repeats, 1), axis=0)


@dataclasses.dataclass(frozen=True)
class AroundEvent:
    """Reads a clip that holds a given event at a random position (a grain random map).

    Maps a row (video index, event frame) of `balanced_events` to `source.read(video, start)`, with
    `start` on the stride grid (as the inference clips are) and drawn so that the event lands on
    any of the clip's kept frames with equal odds, kept inside the video where it is long enough.
    """

    source: ClipSource

    def __call__(self, row: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        video_index, frame = int(row[0]), int(row[1])
        stride, clip_len = self.source.stride, self.source.clip_len
        position = int(rng.integers(clip_len))
        # The kept frame nearest the event (event_positions rounds halves up) is then `position`.
        start = ((frame + stride // 2) // stride - position) * stride
        last = max(0, (int(self.source.videos[video_index]["num_frames"]) - clip_len * stride) // stride * stride)
        return self.source.read(video_index, min(max(start, 0), last))
