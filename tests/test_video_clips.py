"""Clip reading from video files: exact frames against a sequential decode, labels, sources.

The test videos show their own frame index as a 4x3 grid of black/white bits, so a wrong frame
is caught both by comparing pixels with a plain sequential decode and by reading the index.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
import re
import shutil
import subprocess
import sys

import cv2
import grain
import numpy as np
import pytest

from zoo.data import video as video_lib
from zoo.data.video import (
    AroundEvent,
    ClipSource,
    VideoFileError,
    balanced_events,
    clip_starts,
    clip_targets,
    event_positions,
    iter_video_frames,
    probe_video,
    read_clip,
)

WIDTH, HEIGHT = 64, 48
FRAMES = 150


def write_indexed_video(path, num_frames=FRAMES, *, fourcc="mp4v", fps=25):
    """A video whose frame i shows i in binary (12 cells of 16x16 pixels), on a moving background."""
    writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*fourcc), fps, (WIDTH, HEIGHT))
    assert writer.isOpened()
    ramp = np.linspace(0, 255, WIDTH, dtype=np.float32)
    for i in range(num_frames):
        image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        image[:] = ((ramp + 7 * i) % 256).astype(np.uint8)[None, :, None]  # gives P-frames work
        for bit in range(12):
            row, col = divmod(bit, 4)
            image[row * 16:(row + 1) * 16, col * 16:(col + 1) * 16] = 255 if (i >> bit) & 1 else 0
        writer.write(image)
    writer.release()
    return os.fspath(path)


def frame_index(image):
    return sum(1 << bit for bit in range(12)
               if image[(bit // 4) * 16 + 4:(bit // 4) * 16 + 12, (bit % 4) * 16 + 4:(bit % 4) * 16 + 12].mean() > 127)


def sequential_rgb(path):
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            return np.stack(frames)
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


@pytest.fixture(scope="module", params=["mkv", "mp4"])
def indexed(request, tmp_path_factory):
    """(path, all frames decoded in order, RGB [FRAMES, H, W, 3]) for each container."""
    path = write_indexed_video(tmp_path_factory.mktemp("videos") / f"indexed.{request.param}")
    frames = sequential_rgb(path)
    assert [frame_index(f) for f in frames] == list(range(FRAMES))
    return path, frames


def expected_clip(frames, start, length, stride):
    targets = start + stride * np.arange(length)
    valid = (targets >= 0) & (targets < len(frames))
    out = np.zeros((length, *frames.shape[1:]), np.uint8)
    out[valid] = frames[targets[valid]]
    return out, valid


# Forward and backward jumps, small skips (decoded forward), clips across both ends.
READS = [(0, 10, 1), (100, 8, 2), (37, 5, 3), (5, 6, 1), (140, 12, 1), (60, 10, 5), (61, 4, 1),
         (-3, 6, 2), (12, 1, 1), (149, 1, 1), (0, 30, 5), (90, 20, 2), (3, 4, 1)]


@pytest.mark.parametrize("seek", [True, False])
def test_read_clip_equals_sequential_decode(indexed, seek):
    path, frames = indexed
    video_lib.close_videos()
    for start, length, stride in READS:
        clip, valid = read_clip(path, start, length, stride=stride, seek=seek)
        want, want_valid = expected_clip(frames, start, length, stride)
        np.testing.assert_array_equal(valid, want_valid, err_msg=f"{(start, length, stride)}")
        np.testing.assert_array_equal(clip, want, err_msg=f"{(start, length, stride)}")
        assert [frame_index(f) for f in clip[valid]] == list(
            (start + stride * np.arange(length))[want_valid])


def test_random_reads_in_random_order_are_exact(indexed):
    path, frames = indexed
    rng = np.random.default_rng(0)
    for _ in range(25):
        start, stride = int(rng.integers(0, FRAMES)), int(rng.integers(1, 4))
        clip, valid = read_clip(path, start, 7, stride=stride)
        want, want_valid = expected_clip(frames, start, 7, stride)
        np.testing.assert_array_equal(valid, want_valid)
        np.testing.assert_array_equal(clip, want)


def test_resize_is_inter_area_of_the_decoded_frame(indexed):
    path, frames = indexed
    clip, valid = read_clip(path, 20, 4, stride=2, size=(24, 40))
    assert clip.shape == (4, 24, 40, 3) and valid.all()
    for k, frame in enumerate(frames[20:28:2]):
        np.testing.assert_array_equal(clip[k], cv2.resize(frame, (40, 24), interpolation=cv2.INTER_AREA))


def test_past_the_end_is_zero_padding(indexed):
    path, frames = indexed
    clip, valid = read_clip(path, FRAMES - 4, 6, stride=2)
    assert valid.tolist() == [True, True, False, False, False, False]
    assert not clip[2:].any() and clip[:2].any()
    clip, valid = read_clip(path, FRAMES + 40, 3)  # wholly past the end: seeks back off, then pad
    assert not valid.any() and not clip.any()
    clip, valid = read_clip(path, 0, 2)  # and the cached video still reads right afterwards
    np.testing.assert_array_equal(clip, frames[:2])


def test_open_videos_are_cached_per_thread_and_bounded(tmp_path):
    video_lib.close_videos()
    paths = [write_indexed_video(tmp_path / f"v{i}.mkv", 20) for i in range(video_lib.MAX_OPEN_VIDEOS + 1)]
    read_clip(paths[0], 0, 2)
    first = video_lib._OPEN_VIDEOS.videos[paths[0]]
    read_clip(paths[0], 2, 2)
    assert video_lib._OPEN_VIDEOS.videos[paths[0]] is first and first.next_frame == 4
    for path in paths[1:]:
        read_clip(path, 0, 1)
    assert paths[0] not in video_lib._OPEN_VIDEOS.videos  # least recently used, closed
    assert len(video_lib._OPEN_VIDEOS.videos) == video_lib.MAX_OPEN_VIDEOS


FORK_SCRIPT = """
import multiprocessing, sys
sys.path.insert(0, {repo!r})
from zoo.data.video import read_clip
from tests_helper import frame_index

def child(path, queue):
    clip, valid = read_clip(path, 10, 3, stride=2)
    queue.put(([frame_index(f) for f in clip], valid.tolist()))

if __name__ == "__main__":
    path = sys.argv[1]
    read_clip(path, 50, 3)  # the parent holds the video open, its decoder at frame 53
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(path, queue))
    process.start()
    print(queue.get(timeout=60))
    process.join(timeout=60)
    clip, _ = read_clip(path, 53, 1)  # the child did not move the parent's decoder
    print(frame_index(clip[0]), process.exitcode)
"""


def test_a_forked_worker_opens_its_own_videos(indexed, tmp_path, repo_root):
    """In a fresh interpreter: the test process runs JAX's threads, which make forking it unsafe."""
    path, _ = indexed
    (tmp_path / "tests_helper.py").write_text(
        "import numpy as np\n" + inspect.getsource(frame_index))
    script = tmp_path / "fork_reader.py"
    script.write_text(FORK_SCRIPT.format(repo=str(repo_root)))
    result = subprocess.run([sys.executable, str(script), path], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["([10, 12, 14], [True, True, True])", "53 0"]


def test_probe_counts_decoded_frames(indexed):
    path, frames = indexed
    for full in (True, False):
        probe = probe_video(path, full_decode=full)
        assert (probe.num_frames, probe.height, probe.width, probe.fps, probe.seekable) == (
            len(frames), HEIGHT, WIDTH, 25.0, True)


def test_probe_and_read_name_a_bad_file(tmp_path):
    missing = tmp_path / "missing.mkv"
    with pytest.raises(VideoFileError, match=re.escape(str(missing)) + ": missing video file"):
        probe_video(missing)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoFileError, match=re.escape(str(garbage)) + ": OpenCV .* cannot open"):
        read_clip(garbage, 0, 4)


# ----------------------------------------------------------------------------- whole videos


@pytest.mark.parametrize("stride, chunk", [(1, 64), (2, 16), (7, 5)])
def test_iter_video_frames_streams_every_kept_frame_once(indexed, stride, chunk):
    path, frames = indexed
    stream = iter_video_frames(path, num_frames=FRAMES, stride=stride, chunk=chunk, size=(24, 32))
    chunks = list(stream)
    assert len(chunks) == len(stream) == math.ceil(math.ceil(FRAMES / stride) / chunk)
    firsts = [first for first, _ in chunks]
    assert firsts == list(range(0, FRAMES, stride * chunk))
    streamed = np.concatenate([c for _, c in chunks])
    want = np.stack([cv2.resize(f, (32, 24), interpolation=cv2.INTER_AREA) for f in frames[::stride]])
    np.testing.assert_array_equal(streamed, want)


@pytest.mark.parametrize("claimed", [FRAMES - 1, FRAMES + 1])
def test_iter_video_frames_refuses_a_video_of_another_length(indexed, claimed):
    path, _ = indexed
    with pytest.raises(VideoFileError, match=re.escape(path) + ".*frames than the"):
        list(iter_video_frames(path, num_frames=claimed, chunk=32))


# ----------------------------------------------------------------------------- clips and labels


def test_clip_starts_overlap_arithmetic():
    # T-DEED ball training: 100 frames at stride 2 with 0.9 overlap -> a new clip every 10 kept frames.
    starts = clip_starts(1000, clip_len=100, stride=2, overlap=0.9)
    assert (np.diff(starts) == 20).all() and starts[0] == 0
    assert starts[-1] + 200 >= 1000 > starts[-2] + 200  # the last clip, and only it, reaches the end
    # Inference: every kept frame in exactly one clip.
    for num_frames, clip_len, stride in [(1000, 100, 2), (999, 100, 2), (57, 8, 3), (5, 8, 1), (8, 8, 1)]:
        starts = clip_starts(num_frames, clip_len=clip_len, stride=stride)
        kept = (starts[:, None] + stride * np.arange(clip_len)[None]).ravel()
        kept = kept[kept < num_frames]
        assert sorted(kept.tolist()) == list(range(0, num_frames, stride))
    assert clip_starts(10, clip_len=4, stride=1, overlap=0.5).tolist() == [0, 2, 4, 6]
    assert clip_starts(0, clip_len=4).size == 0
    with pytest.raises(ValueError, match="overlap"):
        clip_starts(10, clip_len=4, overlap=1.0)


def test_event_positions_nearest_kept_frame():
    # stride 2 from frame 10: kept frames 10, 12, 14, ...
    frames = np.array([10, 11, 13, 9, 8, 29, 30, 99])
    got = event_positions(frames, start=10, clip_len=10, stride=2, num_frames=100)
    # 11 -> 12 (tie goes later), 9 -> 10 (position 0), 8 -> 8 (outside), 29 -> 30 (outside).
    assert got.tolist() == [0, 1, 2, 0, -1, -1, -1, -1]
    # An event on the last frame, whose later neighbour does not exist, goes to the earlier one.
    assert event_positions(np.array([99]), start=90, clip_len=10, stride=2, num_frames=100).tolist() == [4]
    assert event_positions(np.array([99]), start=90, clip_len=10, stride=2, num_frames=101).tolist() == [5]


def test_clip_targets_place_classes_and_teams():
    video = {"num_frames": 200, "event_frame": np.array([40, 57, 56, 90]),
             "event_label": np.array([3, 1, 4, 0]), "event_team": np.array([0, 1, -1, 1])}
    labels, teams = clip_targets(video, start=40, clip_len=16, stride=2)
    # 40 -> 0; 56 -> 8 and 57 -> 9 (the tie goes to 58); 90 is past the clip (40..70).
    assert labels.dtype == np.int32 and teams.dtype == np.int32
    assert {int(p): int(c) for p, c in enumerate(labels) if c} == {0: 4, 8: 5, 9: 2}
    assert {int(p): int(t) for p, t in enumerate(teams) if t >= 0} == {0: 0, 9: 1}
    # Two events on one position: the later in time wins, whatever the file order.
    video = {"num_frames": 200, "event_frame": np.array([21, 20]), "event_label": np.array([5, 7]),
             "event_team": np.array([1, 0])}
    labels, teams = clip_targets(video, start=0, clip_len=16, stride=3)
    assert labels[7] == 6 and teams[7] == 1 and (labels != 0).sum() == 1


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    (root / "game a").mkdir()
    write_indexed_video(root / "game a" / "224p.mp4", 90)
    write_indexed_video(root / "b.mkv", 40)
    videos = [
        {"video": "game a/224p.mp4", "num_frames": 90, "seekable": True,
         "event_frame": np.array([3, 47, 88]), "event_label": np.array([2, 0, 11]),
         "event_team": np.array([0, 1, 1])},
        {"video": "b.mkv", "num_frames": 40, "event_frame": np.zeros(0, np.int64),
         "event_label": np.zeros(0, np.int64), "event_team": np.zeros(0, np.int64)},
    ]
    return root, videos


def test_clip_source_items(two_videos):
    root, videos = two_videos
    source = ClipSource(videos, video_root=root, clip_len=10, stride=2, overlap=0.5, size=(24, 32),
                        num_classes=12)
    # 90 frames: starts every 10 frames until a clip reaches the end; 40 frames: 0, 10, 20.
    assert source.clips.tolist() == [[0, s] for s in range(0, 80, 10)] + [[1, 0], [1, 10], [1, 20]]
    assert len(source) == 11
    item = source[2]  # video 0 from frame 20: frames 20, 22, ..., 38
    assert {k: (v.shape, v.dtype) for k, v in item.items()} == {
        "frames": ((10, 24, 32, 3), np.uint8), "valid": ((10,), np.bool_),
        "labels": ((10,), np.int32), "teams": ((10,), np.int32),
        "video_index": ((), np.int32), "start": ((), np.int32)}
    assert int(item["video_index"]) == 0 and int(item["start"]) == 20 and item["valid"].all()
    assert not item["labels"].any() and (item["teams"] == -1).all()
    item = source[4]  # frames 40..58: the event at 47 (class 0, right) sits on frame 48, position 4
    assert item["labels"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert item["teams"].tolist() == [-1, -1, -1, -1, 1, -1, -1, -1, -1, -1]
    full, _ = read_clip(root / "game a" / "224p.mp4", 48, 1)
    np.testing.assert_array_equal(
        item["frames"][4], cv2.resize(full[0], (32, 24), interpolation=cv2.INTER_AREA))
    last = source[7]  # frames 70..88; the event at 88 (class 11) at position 9; 90.. is padding
    assert last["labels"][9] == 12 and last["teams"][9] == 1 and last["valid"].all()
    tail = source[10]  # video 1 from frame 20: frames 20..38 all exist (40 frames)
    assert tail["valid"].all() and not tail["labels"].any()


def test_clip_source_pads_past_the_end(two_videos):
    root, videos = two_videos
    source = ClipSource(videos[1:], video_root=root, clip_len=16, stride=2, num_classes=12)
    assert source.clips.tolist() == [[0, 0], [0, 32]]
    item = source[1]  # frames 32..62 of a 40-frame video: 4 real frames
    assert item["valid"].tolist() == [True] * 4 + [False] * 12
    assert [frame_index(f) for f in item["frames"][:4]] == [32, 34, 36, 38]
    assert not item["frames"][4:].any()


def test_clip_source_pickles_and_reads_the_same(two_videos):
    root, videos = two_videos
    source = ClipSource(videos, video_root=root, clip_len=6, stride=1, overlap=0.0, num_classes=12)
    source[0]
    copy = pickle.loads(pickle.dumps(source))
    for index in (0, 5, 16):
        a, b = source[index], copy[index]
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_clip_source_in_a_grain_pipeline_with_read_threads(two_videos):
    root, videos = two_videos
    source = ClipSource(videos, video_root=root, clip_len=5, stride=3, overlap=0.2, num_classes=12)
    dataset = (grain.MapDataset.source(source).seed(0).shuffle()
               .map(lambda clip: {**clip, "first_index": frame_index(clip["frames"][0])})
               .batch(4, drop_remainder=False)
               .to_iter_dataset(grain.ReadOptions(num_threads=3, prefetch_buffer_size=8)))
    seen = []
    for batch in dataset:
        assert batch["frames"].shape[1:] == (5, HEIGHT, WIDTH, 3)
        # Every clip holds the frames it says, whichever thread decoded it.
        assert (batch["first_index"] == batch["start"]).all()
        seen += list(zip(batch["video_index"].tolist(), batch["start"].tolist()))
    assert sorted(seen) == sorted(map(tuple, source.clips.tolist()))


def test_balanced_events_repeat_rare_classes():
    videos = [{"event_frame": np.array([5, 9, 30, 41]), "event_label": np.array([0, 0, 2, 0])},
              {"event_frame": np.array([7, 12]), "event_label": np.array([0, 1])},
              {"event_frame": np.zeros(0, np.int64), "event_label": np.zeros(0, np.int64)}]
    # Class 0 has 4 events, classes 1 and 2 one each: with full balance each of those comes 4 times.
    rows = balanced_events(videos, num_classes=3, balance=1.0)
    assert sorted(map(tuple, rows.tolist())) == sorted(
        [(0, 5), (0, 9), (0, 41), (1, 7)] + [(0, 30)] * 4 + [(1, 12)] * 4)
    natural = balanced_events(videos, num_classes=3, balance=0.0)
    assert natural.tolist() == [[0, 5], [0, 9], [0, 30], [0, 41], [1, 7], [1, 12]]
    half = balanced_events(videos, num_classes=3, balance=0.5)  # sqrt(4) = 2 copies
    assert len(half) == 4 + 2 + 2
    assert balanced_events(videos[2:], num_classes=3).shape == (0, 2)
    with pytest.raises(ValueError, match="balance"):
        balanced_events(videos, num_classes=3, balance=-1)


def test_around_event_puts_the_event_anywhere_in_the_clip(two_videos):
    root, videos = two_videos
    source = ClipSource(videos, video_root=root, clip_len=10, stride=2, num_classes=12)
    around = AroundEvent(source)
    rng = np.random.default_rng(0)
    positions = set()
    for _ in range(60):
        item = around(np.array([0, 47]), rng)  # class 0, right team; on the kept frame 48
        start = int(item["start"])
        assert start % 2 == 0 and 0 <= start <= 90 - 20
        assert [frame_index(f) for f in item["frames"]] == list(range(start, start + 20, 2))
        (where,) = np.nonzero(item["labels"] == 1)
        assert len(where) == 1 and item["teams"][where[0]] == 1 and item["valid"].all()
        positions.add(int(where[0]))
    assert positions == set(range(10))  # every position of the clip, not only the middle
    # Near the ends of the video the clip stays inside it and still holds the event.
    for frame in (3, 88):
        for _ in range(10):
            item = around(np.array([0, frame]), rng)
            assert 0 <= int(item["start"]) <= 70 and item["valid"].all() and item["labels"].any()


def test_clip_source_names_a_missing_video(two_videos):
    root, videos = two_videos
    moved = [{**videos[0], "video": "elsewhere/224p.mp4"}]
    with pytest.raises(VideoFileError, match=re.escape(os.path.join(str(root), "elsewhere/224p.mp4"))
                       + ": missing video file .*video_root"):
        ClipSource(moved, video_root=root, clip_len=4, num_classes=12)
    with pytest.raises(ValueError, match="event labels outside"):
        ClipSource(videos, video_root=root, clip_len=4, num_classes=11)


# ----------------------------------------------------------------------------- H.264, as the real files


def _ffmpeg_with_x264():
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True,
                              check=False).stdout
    return ffmpeg if "libx264" in encoders else None


@pytest.mark.skipif(_ffmpeg_with_x264() is None, reason="needs an ffmpeg with libx264 on PATH to write H.264")
def test_h264_with_b_frames_and_a_start_offset_reads_exactly(tmp_path):
    """The real SoccerNet videos are H.264: B-frames reorder frames, and an mkv's duration (from
    which OpenCV estimates CAP_PROP_FRAME_COUNT) includes its start offset."""
    ffmpeg = _ffmpeg_with_x264()
    source = write_indexed_video(tmp_path / "source.mkv", 300, fourcc="FFV1")
    for name, extra in [("plain.mkv", []), ("plain.mp4", []),
                        ("offset.mkv", ["-output_ts_offset", "1.36"])]:
        path = str(tmp_path / name)
        subprocess.run([ffmpeg, "-loglevel", "error", "-i", source, "-c:v", "libx264", "-g", "50",
                        "-bf", "3", "-pix_fmt", "yuv420p", *extra, path], check=True)
        frames = sequential_rgb(path)
        assert [frame_index(f) for f in frames] == list(range(300))
        estimate = cv2.VideoCapture(path).get(cv2.CAP_PROP_FRAME_COUNT)
        assert estimate == (334 if name == "offset.mkv" else 300)  # 1.36 s = 34 frames too many
        for full in (True, False):
            probe = probe_video(path, full_decode=full)
            assert (probe.num_frames, probe.seekable) == (300, True)
        rng = np.random.default_rng(1)
        for start in [0, 299, 297, 150, 49, 50, 51, *rng.integers(0, 300, 12).tolist()]:
            clip, valid = read_clip(path, int(start), 4, stride=2)
            want, want_valid = expected_clip(frames, int(start), 4, 2)
            np.testing.assert_array_equal(valid, want_valid)
            np.testing.assert_array_equal(clip, want)


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, 30.0, 50.0, 60000 / 1001])
def test_any_frame_rate_is_sampled_by_time_at_the_training_rate(fps):
    """A model trained at 12.5 fps sees, from a video at any rate, the frame nearest to every
    1/12.5 s: never more than half a frame off, over a whole 97-minute half."""
    num_frames = int(97 * 60 * fps)
    kept = video_lib.frames_at_rate(num_frames, fps, 12.5)
    targets = np.arange(len(kept)) / 12.5
    assert np.abs(kept / fps - targets).max() <= 0.5 / fps + 1e-9
    assert kept.max() < num_frames and np.all(np.diff(kept) > 0)
    assert targets[-1] < num_frames / fps <= targets[-1] + 1 / 12.5  # the whole duration, no more
    if fps == 25.0:
        np.testing.assert_array_equal(kept, np.arange(0, num_frames, 2))  # a dataset video: every 2nd frame


def test_a_29_97_fps_video_is_read_at_the_frames_nearest_to_the_training_times(tmp_path):
    fps = 30000 / 1001
    path = write_indexed_video(tmp_path / "ntsc.mp4", 90, fps=fps)
    probe = probe_video(path)
    kept = video_lib.frames_at_rate(probe.num_frames, probe.fps, 12.5)
    frames, valid = video_lib.read_frames(path, kept)
    assert valid.all()
    read = [frame_index(f) for f in frames]
    assert read == kept.tolist() and read[:6] == [0, 2, 5, 7, 10, 12]  # not 0, 2, 4, 6 (15 fps)
