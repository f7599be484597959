"""Tracking speed: the zoo's tracker against the packaged ByteTrack, and YOLOX in JAX against PyTorch.

    python benchmarks/tracking.py [--frames 300] [--detector-size nano] [--batch 8]

Table 1, association only (frames per second, 25 players + the ball per frame plus false alarms,
the same detections for every tracker): the zoo's ByteTrack, with camera-motion compensation
(sparse optical flow on 1280x720 synthetic frames with a slow pan), with ReID fusion (embeddings
given, as a ReID stage would compute them), next to the ByteTrack port in `supervision` and
`trackers`' ByteTrackTracker when they are installed (`pip install '.[test]'`).
Table 2, detector images/s at the synthetic input size: the zoo's YOLOX (jit, inference) and the
PyTorch reference of the same size (`tests/torch_yolox_reference.py`), interleaved on the same
inputs (`benchmarks/timing.py`).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import package_version, time_interleaved  # noqa: E402
from zoo.postprocess.bytetrack import ByteTracker, TrackerSettings  # noqa: E402
from zoo.postprocess.camera_motion import CameraMotion  # noqa: E402


def detections(frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 100], [1200, 650], (26, 2))
    size = np.column_stack([rng.uniform(25, 40, 26), rng.uniform(60, 110, 26)])
    size[0] = (12, 12)
    vel = rng.normal(0, 3, (26, 2))
    out = []
    for _ in range(frames):
        vel += rng.normal(0, 0.4, vel.shape)
        pos = np.clip(pos + vel, 0, [1240, 640])
        boxes = np.column_stack([pos, size]) + rng.normal(0, 1.5, (26, 4))
        scores = np.clip(rng.beta(6, 1.5, 26), 0.05, 1)
        fp = rng.integers(0, 3)
        boxes = np.concatenate([boxes, np.column_stack([rng.uniform(0, 1200, (fp, 2)), rng.uniform(20, 60, (fp, 2))])])
        out.append((boxes, np.concatenate([scores, rng.uniform(0.05, 0.5, fp)])))
    return out


def panning_frames(frames: int) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (800, 1280 + 2 * frames, 3)).astype(np.uint8), (7, 7), 2)
    return [np.ascontiguousarray(texture[40:760, 2 * t : 2 * t + 1280]) for t in range(frames)]


def tracker_table(frames: int, iters: int) -> list[tuple[str, float]]:
    dets = detections(frames)
    features = [np.random.default_rng(t).normal(size=(len(d[0]), 128)) for t, d in enumerate(dets)]
    images = panning_frames(frames)
    runs = {}

    def zoo(settings, cmc=None, reid=False):
        def run():
            tracker, motion = ByteTracker(settings), CameraMotion(cmc) if cmc else None
            for t, (boxes, scores) in enumerate(dets):
                warp = motion(images[t], boxes) if motion else None
                tracker.update(boxes, scores, features[t] if reid else None, warp)
        return run

    runs["zoo ByteTrack"] = zoo(TrackerSettings())
    runs["zoo ByteTrack + CMC (sparse flow, 1280x720)"] = zoo(TrackerSettings(kalman="xywh"), "sparse_flow")
    runs["zoo ByteTrack + ReID fusion"] = zoo(TrackerSettings(kalman="xywh", use_appearance=True), reid=True)
    runs["zoo ByteTrack + CMC + ReID"] = zoo(TrackerSettings(kalman="xywh", use_appearance=True), "sparse_flow", True)
    try:
        import supervision as sv

        if hasattr(sv, "ByteTrack"):
            def supervision_run():
                tracker = sv.ByteTrack(track_activation_threshold=0.5, frame_rate=25, minimum_consecutive_frames=1)
                for boxes, scores in dets:
                    tracker.update_with_tensors(np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:], scores]))

            runs[f"supervision {package_version('supervision')} ByteTrack (port of the original)"] = supervision_run
        from trackers import ByteTrackTracker

        def trackers_run():
            tracker = ByteTrackTracker(frame_rate=25)
            for boxes, scores in dets:
                tracker.update(sv.Detections(xyxy=np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]),
                                             confidence=scores))

        runs[f"trackers {package_version('trackers')} ByteTrackTracker"] = trackers_run
    except ImportError:
        pass
    seconds = time_interleaved(runs, warmup=1, iters=iters)
    return [(name, frames / seconds[name]) for name in runs]


def detector_table(size: str, batch: int, iters: int) -> list[tuple[str, float]]:
    import jax
    import jax.numpy as jnp
    import torch

    from tests.torch_yolox_reference import YOLOX as TorchYOLOX
    from zoo.convert.yolox import convert_yolox
    from zoo.models.yolox import YOLOX

    torch.set_num_threads(os.cpu_count() or 1)
    net = TorchYOLOX(size, 5).eval()
    variables = convert_yolox(net.state_dict(), arch=f"yolox_{size}").variables
    model = YOLOX(num_classes=5, size=size)
    forward = jax.jit(lambda v, x: model.apply(v, x, train=False))
    images = np.random.default_rng(0).uniform(0, 255, (batch, 224, 384, 3)).astype(np.float32)
    x_jax = jnp.asarray(images)
    x_torch = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())

    def run_torch():
        with torch.no_grad():
            net(x_torch)

    seconds = time_interleaved({"jax": lambda: forward(variables, x_jax).block_until_ready(), "torch": run_torch},
                               warmup=2, iters=iters)
    return [(f"JAX {jax.__version__} YOLOX-{size}", batch / seconds["jax"]),
            (f"PyTorch {torch.__version__} YOLOX-{size}", batch / seconds["torch"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--detector-size", default="nano")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iters", type=int, default=5)
    args = parser.parse_args()
    print(f"Association only, {args.frames} frames, 26 objects + false alarms per frame")
    print(f"{'tracker':<60}{'frames/s':>10}")
    for name, fps in tracker_table(args.frames, args.iters):
        print(f"{name:<60}{fps:>10.0f}")
    print(f"\nDetector inference, batch {args.batch} at 224x384 (images/s)")
    for name, rate in detector_table(args.detector_size, args.batch, args.iters):
        print(f"{name:<60}{rate:>10.1f}")


if __name__ == "__main__":
    main()
