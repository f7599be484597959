"""Clip reading speed and disk cost: straight from the video files against pre-extracted JPEG frames.

E2E-Spot and T-DEED users first dump every frame of every video as JPEG (OpenCV, quality 95), then
read clips as folders of JPEGs. The zoo reads clips from the videos (`zoo.data.video.read_clip`:
one seek, `grab()` to skip, `retrieve()` for the kept frames). This script measures both on the
same random clips, side by side:

- videos: synthetic broadcast-like footage (`zoo.synthetic.pitch_render`: a green pitch, players,
  a panning camera) written at 398x224 (the official 224p) and 1280x720 (the official 720p), with
  OpenCV's MPEG-4 part 2 encoder (mp4v, the one the opencv wheels ship, a keyframe every 12
  frames) and, given `--ffmpeg`, with libx264 at ffmpeg's defaults (CRF 23, a keyframe every 250
  frames: `h264`), the codec of the real files, and the same with a keyframe every 25 frames
  (`h264-g25`: what a one-off re-encode, not a frame dump, buys random access). A third size,
  796x448, stands for the 720p videos re-encoded once at T-DEED's frame size (a
  one-off `ffmpeg -vf scale=796:448`, no frame dump);
- JPEG frames: every frame of the video decoded with OpenCV and written with `cv2.imwrite` at
  quality 95, at the size the clips are read at (224p: 398x224 as E2E-Spot; 720p: 796x448 as
  T-DEED), so reading JPEGs needs no resize and reading video needs one (INTER_AREA) for 720p;
- clips: `--clips` random starts, `--clip-len` frames at stride `--stride`, read in turn from the
  video (decoder with 1 thread, and with OpenCV's default of one per core) and from the JPEGs
  (`cv2.imread` of the kept frames), in alternating order, every file in the page cache (the
  JPEGs of a real dataset are not: that favours the JPEGs here).

Disk cost and extraction time are extrapolated to the real ball dataset: 9 games (7 labelled, 2
challenge) x 146,000 frames (about 97 min at 25 fps), every frame extracted. The synthetic footage
has flat colours and no sensor noise, so it compresses better than broadcast video: the bytes per
frame of both sides are indicative, their ratio less so.

    python benchmarks/video_io.py --quick [--ffmpeg /path/to/ffmpeg]
    python benchmarks/video_io.py --seconds 40 --clips 30 --clip-len 100
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo.data import video as video_lib  # noqa: E402
from zoo.synthetic import ball, pitch_render  # noqa: E402

REAL_FRAMES = 9 * 146_000  # 7 labelled + 2 challenge games, ~97 min each at 25 fps
JPEG_QUALITY = 95
# (name, video size (w, h), clip / JPEG size (h, w)): 224p read as is (E2E-Spot); 720p read at
# 796x448 (T-DEED's frames); and 720p re-encoded once to 796x448 video, read as is.
SCENARIOS = (("224p", (398, 224), (224, 398)), ("720p", (1280, 720), (448, 796)),
             ("448p", (796, 448), (448, 796)))
GAME = "england_efl/2019-2020/2019-10-01 - Reading - Fulham"


def render(size: tuple[int, int], seconds: float):
    """Synthetic broadcast frames (BGR) of one match half, `seconds` long, at `size` (w, h)."""
    match = ball.simulate_ball_game(GAME, video_seconds=2 * max(seconds, 32.0), width=size[0],
                                    height=size[1])
    broadcast = pitch_render.Broadcast(match.view, match.look_rng())
    count = round(seconds * match.fps)
    for t, frame in enumerate(broadcast.frames(match.halves[0].footage)):
        if t == count:
            return
        yield frame


def write_mp4v(path: str, size, seconds: float) -> None:
    pitch_render.write_video(path, render(size, seconds), size, 25)


def write_x264(path: str, size, seconds: float, ffmpeg: str, keyint: int | None = None) -> None:
    """H.264 at ffmpeg's defaults (CRF 23, preset medium, a keyframe every 250 frames or `keyint`)."""
    gop = [] if keyint is None else ["-g", str(keyint)]
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", f"{size[0]}x{size[1]}", "-r", "25", "-i", "-", "-c:v", "libx264", *gop,
               "-pix_fmt", "yuv420p", path]
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    for frame in render(size, seconds):
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}")


def extract_jpegs(video: str, folder: str, size_hw) -> tuple[int, float]:
    """Every frame as `frame<i>.jpg` at `size_hw`, quality 95 (the E2E-Spot / T-DEED way)."""
    os.makedirs(folder, exist_ok=True)
    start = time.perf_counter()
    capture = cv2.VideoCapture(video)
    count = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if image.shape[:2] != tuple(size_hw):
            image = cv2.resize(image, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_AREA)
        cv2.imwrite(os.path.join(folder, f"frame{count}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        count += 1
    capture.release()
    return count, time.perf_counter() - start


def read_jpeg_clip(folder: str, start: int, clip_len: int, stride: int, num_frames: int):
    """The JPEG reader of the frame-dump pipelines: imread of each kept frame, BGR -> RGB."""
    first = cv2.imread(os.path.join(folder, f"frame{start}.jpg"))
    frames = np.zeros((clip_len, *first.shape), np.uint8)
    for k in range(clip_len):
        index = start + k * stride
        if index >= num_frames:
            break
        image = first if k == 0 else cv2.imread(os.path.join(folder, f"frame{index}.jpg"))
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=frames[k])
    return frames


def folder_bytes(folder: str) -> int:
    return sum(entry.stat().st_size for entry in os.scandir(folder))


def bench(video: str, jpegs: str, num_frames: int, size_hw, args) -> dict[str, float]:
    """Median seconds per clip of each reader over the same random clips, taking turns."""
    rng = np.random.default_rng(0)
    # The second video reader opens the same file under another name (a hard link), so that the
    # two readers keep their own decoder in the cache of open videos.
    stem, ext = os.path.splitext(video)
    twin = f"{stem}_default_threads{ext}"
    if not os.path.exists(twin):
        os.link(video, twin)
    span = args.clip_len * args.stride
    starts = rng.integers(0, max(1, num_frames - span), size=args.clips) // args.stride * args.stride
    readers = {
        "video, 1 decoder thread": lambda s: video_lib.read_clip(
            video, s, args.clip_len, stride=args.stride, size=size_hw, threads=1),
        "video, default threads": lambda s: video_lib.read_clip(
            twin, s, args.clip_len, stride=args.stride, size=size_hw),
        "JPEG frames": lambda s: read_jpeg_clip(jpegs, s, args.clip_len, args.stride, num_frames),
    }
    for reader in readers.values():  # open, fill the page cache
        reader(int(starts[0]))
    seconds = {name: [] for name in readers}
    names = list(readers)
    for i, start in enumerate(starts):
        for name in (names if i % 2 == 0 else names[::-1]):
            begin = time.perf_counter()
            readers[name](int(start))
            seconds[name].append(time.perf_counter() - begin)
    video_lib.close_videos()
    return {name: float(np.median(s)) for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each synthetic video")
    parser.add_argument("--clips", type=int, default=30, help="random clips timed per reader")
    parser.add_argument("--clip-len", type=int, default=100, help="frames per clip after striding")
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--ffmpeg", default=shutil.which("ffmpeg"),
                        help="an ffmpeg with libx264, to time H.264 videos as well (default: on PATH)")
    parser.add_argument("--workdir", default=None, help="where to write the videos (default: a temp dir)")
    parser.add_argument("--scenarios", default=",".join(name for name, _, _ in SCENARIOS),
                        help="which video sizes to time, comma-separated (default: all)")
    parser.add_argument("--quick", action="store_true", help="12 s videos, 8 clips of 32 frames")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clips, args.clip_len = 12.0, 8, 32

    workdir = args.workdir or tempfile.mkdtemp(prefix="video_io_")
    os.makedirs(workdir, exist_ok=True)
    codecs = {"mp4v": write_mp4v}
    if args.ffmpeg:
        codecs["h264"] = lambda path, size, seconds: write_x264(path, size, seconds, args.ffmpeg)
        # The same with a keyframe every second: what a one-off re-encode buys random access.
        codecs["h264-g25"] = lambda path, size, seconds: write_x264(path, size, seconds, args.ffmpeg, 25)
    rows = []
    for name, size, size_hw in SCENARIOS:
        if name not in args.scenarios.split(","):
            continue
        for codec, write in codecs.items():
            video = os.path.join(workdir, f"{name}_{codec}.{'mp4' if codec == 'mp4v' else 'mkv'}")
            if not os.path.exists(video):
                write(video, size, args.seconds)
            jpegs = os.path.join(workdir, f"{name}_{codec}_jpeg")
            shutil.rmtree(jpegs, ignore_errors=True)
            num_frames, extract_s = extract_jpegs(video, jpegs, size_hw)
            per_clip = bench(video, jpegs, num_frames, size_hw, args)
            rows.append({
                "scenario": f"{name} {codec} -> {size_hw[1]}x{size_hw[0]}",
                "per_clip": per_clip,
                "video_bytes": os.path.getsize(video) / num_frames,
                "jpeg_bytes": folder_bytes(jpegs) / num_frames,
                "extract_fps": num_frames / extract_s,
            })

    print(f"\n{args.clips} random clips of {args.clip_len} frames at stride {args.stride} "
          f"(span {args.clip_len * args.stride} frames) from {args.seconds:g} s synthetic videos; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; OpenCV {cv2.__version__}\n")
    names = list(rows[0]["per_clip"])
    print("| video -> clip size | " + " | ".join(f"{n} (clips/s)" for n in names)
          + " | video / JPEG speed (1 thread) |")
    print("|---" * (len(names) + 2) + "|")
    for row in rows:
        speeds = [1.0 / row["per_clip"][n] for n in names]
        print(f"| {row['scenario']} | " + " | ".join(f"{s:.2f}" for s in speeds)
              + f" | {speeds[0] / speeds[-1]:.2f}x |")
    print(f"\nDisk and extraction, measured per frame and extrapolated to the real ball dataset "
          f"({REAL_FRAMES:,} frames: 9 games x 146k frames at 25 fps, all extracted):\n")
    print("| video -> JPEG size | video bytes/frame | JPEG bytes/frame | JPEG / video | "
          "videos, 9 games | JPEGs, 9 games | extraction (frames/s, 1 process) | extraction, 9 games |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['scenario']} | {row['video_bytes']:,.0f} | {row['jpeg_bytes']:,.0f} | "
              f"{row['jpeg_bytes'] / row['video_bytes']:.1f}x | "
              f"{row['video_bytes'] * REAL_FRAMES / 1e9:.2f} GB | {row['jpeg_bytes'] * REAL_FRAMES / 1e9:.1f} GB | "
              f"{row['extract_fps']:.0f} | {REAL_FRAMES / row['extract_fps'] / 3600:.1f} h |")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
