"""The frames the official SoccerNet ResNet-TF2 features were computed from, read as they were.

The official extraction (sn-spotting `Features/ExtractResNET_TF2.py` with the SoccerNet package's
`DataLoader.FrameCV`, REFERENCE.md §1.2) did, per half video:

1. **Frame rule.** OpenCV reads every frame; a 1-based counter `i` counts them, and frame `i` is
   kept when `i % (fps / 2) < 1`, fps being `CAP_PROP_FPS` as OpenCV reports it (not rounded).
   At 25 fps that keeps the 0-based frames 12, 24, 37, 49, 62, ... (not 0, 12, 25).
2. **Frame count check.** If the video has fewer frames than `int(duration * fps)` - 1 (the
   duration from the container), FrameCV re-reads it with fps replaced by
   `(frames + 1) / duration`, so that the rule still keeps about 2 frames a second.
3. **Crop.** `imutils.resize(frame, height=224)` (cv2.INTER_AREA, width `int(w * 224 / h)`), then
   `off = int((width - 224) / 2)` columns are cut from each side.
4. **Colours.** Frames stay BGR as OpenCV decodes them, but Keras' ResNet `preprocess_input`
   ("caffe" mode) assumes RGB input: it reverses the channels (so the network sees RGB) and
   subtracts the ImageNet means in BGR order [103.939, 116.779, 123.68] from those RGB channels.
   `caffe_preprocess` does the same, so features match the official ones.

Decoding streams: frames are grabbed one by one and only the kept ones are decoded to pixels
(`retrieve`), a batch at a time, so a 45-minute half never sits in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import cv2
import numpy as np

from zoo.data.video import VideoFileError, open_video, probe_video

FEATURE_FPS = 2.0  # the official features: 2 frames per second
CROP_SIZE = 224
# keras.applications.imagenet_utils "caffe" mode: means of the B, G, R channels of ImageNet.
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)


def kept_frame_indices(num_frames: int, fps: float, *, target_fps: float = FEATURE_FPS) -> np.ndarray:
    """0-based indices of the frames FrameCV keeps: those whose 1-based count i has i % (fps / target) < 1.

    Python's float `%` as FrameCV computes it (`np.mod` agrees for positive operands).
    Returns int64 [kept].
    """
    if num_frames < 0 or not fps > 0:
        raise ValueError(f"need num_frames >= 0 and fps > 0, got {num_frames} and {fps}")
    count = np.arange(1, num_frames + 1, dtype=np.float64)
    return np.flatnonzero(np.mod(count, fps / target_fps) < 1).astype(np.int64)


def framecv_fps(num_frames: int, fps: float, duration_s: float) -> float:
    """The frame rate FrameCV ends up using for a video of `num_frames` decodable frames.

    FrameCV expects `int(duration * fps)` frames; when the read ends more than one frame short of
    that (`expected - (read + 1) > 1`), it reads again with fps = (read + 1) / duration.
    """
    expected = int(duration_s * fps)
    if expected - (num_frames + 1) <= 1 or duration_s <= 0:
        return fps
    return (num_frames + 1) / duration_s


def crop_frame(frame: np.ndarray, *, size: int = CROP_SIZE) -> np.ndarray:
    """FrameCV's "crop" transform: resize to height `size` (INTER_AREA), keep the centre `size` columns.

    frame: uint8 [H, W, 3] as decoded (BGR). Returns uint8 [size, size, 3].
    The official slicing `frame[:, off:-off]` keeps `size + 1` columns when the resized width
    exceeds `size` by an odd number (the Keras model then refuses the batch) and none when it
    equals `size`; here the `size` columns from `off` are kept, which equals the official crop in
    every case where that crop works.
    """
    height, width = frame.shape[:2]
    new_width = int(width * (size / float(height)))
    if new_width < size:
        raise ValueError(f"a {width}x{height} frame is narrower than tall: the official crop needs "
                         f"width >= height")
    resized = cv2.resize(frame, (new_width, size), interpolation=cv2.INTER_AREA)
    offset = int((new_width - size) / 2)
    return resized[:, offset : offset + size]


def caffe_preprocess(frames):
    """Keras `preprocess_input(mode="caffe")` of what it is given: channels reversed, BGR means off.

    Given OpenCV's BGR frames (as the official extraction did), the network sees RGB pixels minus
    the BGR means. Works on numpy and jax arrays: [..., 3] uint8 or float -> float32.
    """
    return frames[..., ::-1].astype(np.float32) - CAFFE_BGR_MEAN


class OfficialFrames:
    """The kept, cropped frames of one video, streamed in batches: `for first, batch in frames`.

    `len()` is the number of batches (for a progress bar), `num_kept` the number of frames; each
    batch is uint8 [n <= batch_size, 224, 224, 3] BGR (feed it to `caffe_preprocess`), `first` the
    index of its first frame among the kept ones.

    Raises VideoFileError naming the file when it is missing, cannot be opened, has no frame, or
    a kept frame cannot be decoded.
    """

    def __init__(self, path: str | os.PathLike, *, batch_size: int = 64, target_fps: float = FEATURE_FPS,
                 num_frames: int | None = None):
        """`num_frames`: the decodable frames if known; else counted by `probe_video` (exact: it
        decodes the tail after a checked seek, or the whole video when seeking is not exact)."""
        self.path = os.fspath(path)
        self.batch_size = batch_size
        capture = open_video(self.path)
        try:
            self.fps = float(capture.get(cv2.CAP_PROP_FPS))  # as FrameCV reads it: not rounded
            estimate = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        finally:
            capture.release()
        if not self.fps > 0 or height <= 0 or width <= 0:
            raise VideoFileError(self.path, f"no usable frame size or rate ({width}x{height} at {self.fps} fps)")
        if int(width * (CROP_SIZE / height)) < CROP_SIZE:
            raise VideoFileError(self.path, f"{width}x{height} frames are narrower than tall; the official "
                                 "features crop the centre square of landscape frames")
        # FFmpeg derives CAP_PROP_FRAME_COUNT of an mkv from the container duration (round(duration x
        # fps)), the duration moviepy gives FrameCV; this is the same within half a frame.
        self.duration_s = estimate / self.fps
        self.num_frames = num_frames if num_frames is not None else probe_video(self.path, full_decode=False).num_frames
        self.used_fps = framecv_fps(self.num_frames, self.fps, self.duration_s)
        self.indices = kept_frame_indices(self.num_frames, self.used_fps, target_fps=target_fps)

    @property
    def num_kept(self) -> int:
        return len(self.indices)

    def __len__(self) -> int:
        return math.ceil(self.num_kept / self.batch_size)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        capture = open_video(self.path)
        try:
            decoded = 0
            for first in range(0, self.num_kept, self.batch_size):
                targets = self.indices[first : first + self.batch_size]
                batch = np.empty((len(targets), CROP_SIZE, CROP_SIZE, 3), np.uint8)
                for k, target in enumerate(targets):
                    while decoded <= target:
                        if not capture.grab():
                            raise FrameCountMismatch(self.path, decoded, self.num_frames)
                        decoded += 1
                    ok, image = capture.retrieve()
                    if not ok:
                        raise VideoFileError(self.path, f"frame {target} was found but cannot be decoded")
                    batch[k] = crop_frame(image)
                yield first, batch
            while capture.grab():  # the rest: the frame rule depends on the true count
                decoded += 1
        finally:
            capture.release()
        if decoded != self.num_frames:
            raise FrameCountMismatch(self.path, decoded, self.num_frames)


class FrameCountMismatch(VideoFileError):
    """The video decoded to another number of frames than it was counted to have (read it again)."""

    def __init__(self, path, decoded: int, counted: int):
        super().__init__(path, f"decoded {decoded} frames where {counted} were counted")
        self.decoded, self.counted = decoded, counted

    def __reduce__(self):
        return type(self), (self.path, self.decoded, self.counted)
