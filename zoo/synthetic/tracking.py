"""Synthetic SoccerNet-Tracking sequences, written in the exact official layout.

    <root>/{train,test,challenge}/SNMOT-XXX/
        img1/000001.jpg ...   frames (JPEG)
        gt/gt.txt             frame,id,x,y,w,h,1,-1,-1,-1 (every visible person and the ball)
        det/det.txt           frame,-1,x,y,w,h,score,-1,-1,-1 (noisy detections)
        seqinfo.ini           [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
        gameinfo.ini          [Sequence] num_tracklets, trackletID_<k>= <role>;<detail>

Test and challenge sequences take the first names of the official `SNMOT-test` / `SNMOT-challenge`
lists; train sequences take names in neither. The motion is a simulated match
(`zoo.synthetic.match_plan`: two teams in a moving shape, passes, runs, duels, the referee and
a linesman, the ball in the air and on the ground), seen by a broadcast camera that pans after the
ball, tilts across the pitch and zooms slowly in and out, and in some sequences cuts once to another
framing (a shot change), so camera-motion compensation matters. People are drawn with the player
figures of `zoo.synthetic.reid` (each team's kit with per-player numbers, hair, skin and build), so
team-mates that cross can only be told apart by appearance. A person who leaves the view and
comes back starts a new tracklet (new id), as SNMOT's per-tracklet `gameinfo.ini` entries suggest
(several tracklets may share a jersey); the ball is one tracklet while visible.

`write_video` renders one more sequence of the same kind as a video, e.g. a match no run has seen,
for `python -m zoo.predict tracking`:

    python -m zoo.synthetic.tracking match.mp4 --frames 250 --seed 7
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import types
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from zoo.cli import user_errors
from zoo.errors import UserError
from zoo.formats import splits
from zoo.formats import tracking as formats
from zoo.synthetic import match_plan as mp
from zoo.synthetic import pitch_render as pr
from zoo.synthetic import reid as looks

DEFAULT_SEQUENCES: Mapping[str, int] = types.MappingProxyType({"train": 6, "test": 2, "challenge": 1})
FPS = 25
CANVAS_PX_PER_M = 16.0  # resolution of the pitch texture the camera samples
FORESHORTENING = 0.55  # pixels per metre across the pitch / along it (a raised camera)
PERSON_HEIGHT_M = 1.9
BALL_RADIUS_M = 0.35  # drawn larger than life, as broadcast compression makes the ball look
MIN_VISIBLE = 0.4  # a box less visible than this (clipped by the frame) is not annotated


def sequence_names(split: str, count: int) -> list[str]:
    if split in ("test", "challenge"):
        official = splits.tracking_sequences(split)
        if count > len(official):
            raise ValueError(f"{split} has {len(official)} official sequences; asked for {count}")
        return list(official[:count])
    taken = set(splits.tracking_sequences("test")) | set(splits.tracking_sequences("challenge"))
    return [n for n in (f"SNMOT-{i:03d}" for i in range(1, 1000)) if n not in taken][:count]


class _Camera:
    """Per-frame world-to-image similarity: x' = s (x - cx) + W/2, y' = s f (y - cy) + H/2."""

    def __init__(self, ball: np.ndarray, width: int, height: int, rng: np.random.Generator, view_m: float):
        frames = len(ball)
        sigma = 0.8 * FPS
        t = np.arange(frames)
        kernel = np.exp(-0.5 * (np.arange(-3 * sigma, 3 * sigma + 1) / sigma) ** 2)
        kernel /= kernel.sum()

        def smooth(x):
            pad = len(kernel) // 2
            return np.convolve(np.pad(x, pad, mode="edge"), kernel, mode="valid")

        period = rng.uniform(6, 12) * FPS
        self.zoom = 1.1 + 0.25 * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        self.cx = smooth(ball[:, 0])
        self.cy = np.clip(smooth(ball[:, 1]), 22, 46)
        self.cut = -1
        if frames > 20 and rng.uniform() < 0.5:  # one shot change: another framing of the play
            self.cut = int(rng.integers(frames // 3, 2 * frames // 3))
            self.cx[self.cut:] += rng.choice([-1, 1]) * rng.uniform(8, 14)
            self.zoom[self.cut:] *= rng.uniform(0.8, 1.2)
        self.scale = width / view_m * self.zoom  # pixels per metre along the pitch
        self.width, self.height = width, height

    def project(self, t: int, xy: np.ndarray) -> np.ndarray:
        s = self.scale[t]
        u = s * (xy[..., 0] - self.cx[t]) + self.width / 2
        v = s * FORESHORTENING * (xy[..., 1] - self.cy[t]) + self.height / 2
        return np.stack([u, v], axis=-1)


def _canvas(rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """The pitch texture at CANVAS_PX_PER_M: (image, pixel u of x = 0, pixel v of y = 0)."""
    view = pr.View(width=int(pr.VIEW_LENGTH * CANVAS_PX_PER_M),
                   height=int(round(FORESHORTENING * CANVAS_PX_PER_M * pr.PITCH_WIDTH / 0.78)))
    return pr.pitch_canvas(view, rng), float(view.canvas_u(0.0)), float(view.v(0.0))


def _people(game: str, seed: int) -> list[tuple[looks.Person, str, str]]:
    """(look, role, detail) of match_plan's people 0-24 (substitutes are not shown)."""
    roster = looks.game_roster(game, seed)
    out = []
    for team in range(2):
        keeper = roster["goalkeeper"][team]
        players = [p for p in roster["player"] if p.team == team][:mp.TEAM_SIZE - 1]
        out.append((keeper, "goalkeeper", str(keeper.number)))
        out += [(p, "player", str(p.number)) for p in players]
    out.append((roster["main_referee"][0], "referee", "main"))
    out.append((roster["side_referee"][0], "referee", "side"))
    out.append((roster["staff"][0], "other", "staff"))
    return out


def _figure_box(u: float, v: float, size: float) -> np.ndarray:
    """tlwh of a figure standing at (u, v) (feet) and `size` pixels tall."""
    width = 0.36 * size
    return np.array([u - width / 2, v - size, width, size])


def _visible_box(box: np.ndarray, width: int, height: int) -> np.ndarray | None:
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], width), min(box[1] + box[3], height)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < MIN_VISIBLE * box[2] * box[3]:
        return None
    return np.array([x0, y0, x1 - x0, y1 - y0])


def write_sequence(seq_dir: str | os.PathLike, name: str, *, frames: int, width: int, height: int,
                   seed: int, view_m: float = 44.0, jpeg_quality: int = 90) -> dict:
    """Renders and writes one sequence folder; returns {"frames", "boxes", "tracklets", "cut"}."""
    seq_dir = pathlib.Path(seq_dir)
    rng = mp.keyed_rng(seed, "tracking", name)
    match = mp.simulate_match(name, style="ball", half_frames=[frames], seed=seed)
    half = match.halves[0]
    footage = half.footage
    camera = _Camera(footage.ball, width, height, rng, view_m)
    canvas, u0, v0 = _canvas(rng)
    people = _people(name, seed)
    left = half.left_team
    (seq_dir / "img1").mkdir(parents=True, exist_ok=True)

    rows, det_rows, tracklets = [], [], {}
    current: dict[int, int] = {}  # object -> its open tracklet id (object 25 is the ball)
    next_id = 1
    phase = rng.uniform(0, 2 * np.pi, len(people))
    for t in range(frames):
        s = camera.scale[t]
        # The canvas maps world (x, y) to (u0 + k x, v0 + k f y); the frame to s x', s f y' around the camera.
        k = CANVAS_PX_PER_M
        affine = np.array([[s / k, 0, -s / k * u0 - s * camera.cx[t] + width / 2],
                           [0, s / k, -s / k * v0 - s * FORESHORTENING * camera.cy[t] + height / 2]])
        img = cv2.warpAffine(canvas, affine, (width, height), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        feet = camera.project(t, footage.positions[t, : len(people)])
        depth = 0.8 + 0.4 * footage.positions[t, : len(people), 1] / pr.PITCH_WIDTH  # nearer is larger
        sizes = PERSON_HEIGHT_M * s * depth
        boxes = {}
        for i in np.argsort(feet[:, 1], kind="stable"):
            look, role, _ = people[i]
            u, v = feet[i]
            box = _figure_box(u, v, sizes[i])
            if _visible_box(box, width, height) is None:
                continue
            step = footage.positions[t, i] - footage.positions[max(t - 1, 0), i]
            speed = float(np.hypot(*step)) * FPS
            facing = "side" if abs(step[0]) > abs(step[1]) and speed > 1.0 else ("back" if (i + t // 50) % 2 else "front")
            stride = 0.5 * np.sin(phase[i] + t * 0.9) * min(speed / 5.0, 1.0)
            looks.draw_figure(img, look, cx=u, top=v - sizes[i], size=sizes[i], facing=facing, stride=stride)
            boxes[int(i)] = box
        bx, by, bz = footage.ball[t]
        bu, bv = camera.project(t, np.array([bx, by]))
        radius = max(BALL_RADIUS_M * s * 0.5, 2.0)
        bv = bv - bz * s * FORESHORTENING * 1.2 - radius
        cv2.circle(img, (int(round(bu * 16)), int(round(bv * 16))), int(round(radius * 16)), pr.BALL, -1,
                   cv2.LINE_AA, 4)
        boxes[len(people)] = np.array([bu - radius, bv - radius, 2 * radius, 2 * radius])
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])

        seen = set()
        for obj, box in sorted(boxes.items()):
            visible = _visible_box(box, width, height)
            if visible is None:
                continue
            seen.add(obj)
            if obj not in current:
                current[obj] = next_id
                if obj == len(people):
                    tracklets[next_id] = formats.Tracklet("ball", "1")
                else:
                    _, role, detail = people[obj]
                    if role in ("player", "goalkeeper"):
                        side = "left" if mp.team_of(obj) == left else "right"
                        tracklets[next_id] = formats.Tracklet(f"{role} team {side}", detail)
                    else:
                        tracklets[next_id] = formats.Tracklet(role, detail)
                next_id += 1
            rows.append((t + 1, current[obj], *visible))
            if rng.uniform() < (0.75 if obj == len(people) else 0.93):  # the detector misses a few
                noise = rng.normal(0, 0.04, 4) * [visible[2], visible[3], visible[2], visible[3]]
                noisy = visible + noise
                noisy[2:] = np.maximum(noisy[2:], 2.0)
                det_rows.append((t + 1, *noisy, float(np.clip(rng.beta(6, 1.5), 0.05, 0.99))))
        for obj in list(current):
            if obj not in seen:
                del current[obj]  # out of view: a return starts a new tracklet
        for _ in range(rng.poisson(0.6)):  # false alarms: mostly low scores
            w = rng.uniform(6, 30)
            det_rows.append((t + 1, rng.uniform(0, width - w), rng.uniform(0, height - 2 * w), w, 2 * w,
                             float(rng.uniform(0.05, 0.6))))

    gt = np.array(rows, np.float64).reshape(-1, 6)
    formats.write_mot(seq_dir / formats.GT_FILE, gt[:, 0].astype(int), gt[:, 1].astype(int), gt[:, 2:6])
    det = np.array(det_rows, np.float64).reshape(-1, 6)
    (seq_dir / "det").mkdir(exist_ok=True)
    with open(seq_dir / "det" / "det.txt", "w") as f:
        f.writelines(f"{int(r[0])},-1,{r[1]:.2f},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.4f},-1,-1,-1\n"
                     for r in det)
    formats.write_seqinfo(seq_dir / formats.SEQINFO_FILE, formats.SeqInfo(
        seq_length=frames, name=name, frame_rate=FPS, im_width=width, im_height=height, im_dir="img1",
        im_ext=".jpg"))
    formats.write_gameinfo(seq_dir / formats.GAMEINFO_FILE, tracklets, name=name)
    return {"frames": frames, "boxes": len(gt), "tracklets": len(tracklets), "cut": camera.cut}


def write_soccernet_tracking(
    root: str | os.PathLike,
    *,
    sequences_per_split: Mapping[str, int] = DEFAULT_SEQUENCES,
    frames: int = 150,
    width: int = 384,
    height: int = 216,
    seed: int = 0,
) -> dict[str, dict[str, dict]]:
    """Writes `<root>/<split>/SNMOT-XXX/...` for every split; returns split -> sequence -> summary."""
    root = pathlib.Path(root)
    summary: dict[str, dict[str, dict]] = {}
    for split, count in sequences_per_split.items():
        summary[split] = {}
        for name in sequence_names(split, count):
            summary[split][name] = write_sequence(root / split / name, name, frames=frames, width=width,
                                                  height=height, seed=seed)
    return summary


def write_video(path: str | os.PathLike, *, frames: int = 250, width: int = 384, height: int = 216, seed: int = 0,
                name: str = "SNMOT-900", fps: int = FPS) -> dict:
    """Renders one sequence (named `name`, a number no split uses, so another match than the
    dataset's) as an MP4 video at `path`; returns its summary (see `write_sequence`)."""
    with tempfile.TemporaryDirectory() as folder:
        summary = write_sequence(folder, name, frames=frames, width=width, height=height, seed=seed)
        writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise UserError(f"{path}: OpenCV cannot write an MP4 video there")
        try:
            for t in range(frames):
                writer.write(cv2.imread(os.path.join(folder, "img1", f"{t + 1:06d}.jpg")))
        finally:
            writer.release()
    return summary


@user_errors
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Renders a synthetic broadcast sequence as an MP4 video.")
    parser.add_argument("video", help="the MP4 file to write")
    parser.add_argument("--frames", type=int, default=250, help="frames at 25 fps")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--height", type=int, default=216)
    parser.add_argument("--seed", type=int, default=1, help="another seed than the dataset's gives an unseen match")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    summary = write_video(args.video, frames=args.frames, width=args.width, height=args.height, seed=args.seed)
    cut = f", a shot change at frame {summary['cut'] + 1}" if summary["cut"] >= 0 else ""
    print(f"wrote {args.video}: {args.frames} frames, {summary['tracklets']} tracklets{cut}")


if __name__ == "__main__":
    main()
