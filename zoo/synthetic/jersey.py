"""Synthetic SoccerNet jersey-number tracklets, written in the exact official layout.

The tree is what unzipping the official `jersey-2023` downloads gives (see `zoo.formats.jersey`):

    <root>/{train,test,challenge}/images/<tracklet>/<tracklet>_<k>.jpg
    <root>/train/train_gt.json, <root>/test/test_gt.json      {"<tracklet>": number or -1}
    <root>/challenge/challenge_gt.json                        (organiser-only for the real data;
                                                               written so challenge runs can be scored)
    <root>/synthetic_truth/<split>.json                       per-frame truth, zoo-only (below)

A tracklet is one person followed over 8-20 frames, drawn by the ReID renderer
(`zoo.synthetic.reid`): players of a game's two teams with their number (0-99, most of them 1-30)
printed large on the back and, on most kits, small on the chest, in the kit's number colour and
one of a few typefaces (`NUMBER_FONTS`); goalkeepers; referees (no number); and balls (tiny crops
of a ball). The player turns along the tracklet, so the number comes and goes; frames are
motion-blurred, occluded by another player, folded (the shirt hides part of a digit), tiny, or
show someone else for a frame or two (a tracker's identity switch, which the ReID outlier removal
should drop). A tracklet's label is its player's number if it is legible in at least one of its
own frames, else -1, as in the real ground truth.

`synthetic_truth/<split>.json` keeps what each stage needs to be trained and tested alone:

    {"<tracklet>": {"kind": "player" | "goalkeeper" | "referee" | "ball",
                    "frames": {"<tracklet>_<k>.jpg": {
                        "legible": bool,       the whole number can be read in this frame
                        "text": "23" or "",    what can be read (the other person's number in a
                                               switched frame)
                        "owner": "main" | "other",
                        "keypoints": [[x, y, v] * 17],   COCO order, pixels, v: 0 absent,
                                                         1 hidden, 2 visible
                        "digit_boxes": [[x0, y0, x1, y1], ...],  pixels, [] if no number drawn
                        "digit_height": pixels (0 if no number drawn)}}}}

    python -m zoo.synthetic.jersey --root /tmp/jersey --tracklets train=2000,test=120,challenge=40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import types
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from zoo.cli import split_counts
from zoo.formats import jersey as jersey_format
from zoo.formats.splits import list_games
from zoo.synthetic import reid as renderer

DEFAULT_TRACKLETS_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 2000, "test": 120, "challenge": 40})
TRUTH_FOLDER = "synthetic_truth"
KINDS = ("player", "goalkeeper", "referee", "ball")
KIND_WEIGHTS = (0.83, 0.05, 0.07, 0.05)
FONTS = tuple(renderer.NUMBER_FONTS)
# What makes a frame's number legible: digits this many pixels tall, this share of their pixels
# showing, motion blur no longer than this share of the digit height.
MIN_DIGIT_HEIGHT = 7.0
MIN_VISIBLE = 0.85
MAX_BLUR_SHARE = 0.45
JPEG_QUALITY = 92  # of the written files; the frames themselves went through a lower-quality round trip


def truth_file(root: str | os.PathLike, split: str) -> str:
    return os.path.join(os.fspath(root), TRUTH_FOLDER, f"{split}.json")


def read_truth(root: str | os.PathLike, split: str) -> dict | None:
    """The per-frame truth of a synthetic split, or None (real data has none)."""
    path = truth_file(root, split)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _player_number(rng: np.random.Generator) -> int:
    """Most shirt numbers are low; a few are 0 or in the 40s-90s."""
    if rng.uniform() < 0.6:
        return int(rng.integers(1, 31))
    return int(rng.integers(0, 100))


def _cast_person(rng: np.random.Generator, roster: dict, kind: str) -> renderer.Person:
    """The tracklet's person: a roster member with a new number and number typeface."""
    if kind == "referee":
        return roster["main_referee"][0] if rng.uniform() < 0.6 else roster["side_referee"][0]
    person = roster["player" if kind == "player" else "goalkeeper"][
        int(rng.integers(len(roster["player" if kind == "player" else "goalkeeper"])))]
    kit = dataclasses.replace(person.kit, number_font=FONTS[int(rng.integers(len(FONTS)))],
                              front_number=bool(rng.uniform() < 0.75))
    number = _player_number(rng) if kind == "player" else int(rng.choice([1, 1, 1, 12, 13, 23, 30]))
    return dataclasses.replace(person, number=number, kit=kit)


def _facing(heading: float) -> str:
    """heading 0 = back to the camera, pi = facing it."""
    c = math.cos(heading)
    return "back" if c > 0.3 else "front" if c < -0.5 else "side"


def _render_ball(rng: np.random.Generator, size: int, look: dict) -> np.ndarray:
    """A ball on grass, `size` pixels square, as the real data's stray ball tracklets."""
    view = renderer.View(
        height=size, width=size, facing="front", stride=0.0, figure_scale=1.0, offset=(0, 0),
        grass=look["grass"], stripe_phase=float(rng.uniform(0, 2 * math.pi)), line=None,
        gain=look["gain"], blur=0, blur_angle=0.0, noise=2.0, jpeg_quality=80, occluder=None,
        seed=int(rng.integers(2**31)))
    img = renderer._background(view, rng)  # noqa: SLF001 (the renderer's own background)
    r = size * rng.uniform(0.3, 0.42)
    centre = (size / 2 + rng.uniform(-2, 2), size / 2 + rng.uniform(-2, 2))
    cv2.circle(img, (int(centre[0] * 16), int(centre[1] * 16)), int(r * 16), (235, 235, 235), -1,
               cv2.LINE_AA, 4)
    for angle in rng.uniform(0, 2 * math.pi, 3):
        at = (centre[0] + 0.5 * r * math.cos(angle), centre[1] + 0.5 * r * math.sin(angle))
        cv2.circle(img, (int(at[0] * 16), int(at[1] * 16)), max(16, int(r * 4.5)), (30, 30, 30), -1,
                   cv2.LINE_AA, 4)
    return img


def _frame_truth(truth: dict, view: renderer.View, owner: str) -> dict:
    """The per-frame record of `synthetic_truth/<split>.json` for one rendered frame."""
    boxes = [list(map(float, b)) for b in truth.get("digit_boxes", [])]
    digit_height = boxes[0][3] - boxes[0][1] if boxes else 0.0
    legible = bool(
        boxes and digit_height >= MIN_DIGIT_HEIGHT and truth["number_visible"] >= MIN_VISIBLE
        and view.blur <= MAX_BLUR_SHARE * digit_height
        and all(b[0] >= 0 and b[1] >= 0 and b[2] <= view.width and b[3] <= view.height for b in boxes))
    keypoints = [[float(x), float(y), int(v)] for x, y, v in truth["keypoints"].values()]
    return {"legible": legible, "text": truth["number"] if legible else "", "owner": owner,
            "keypoints": keypoints, "digit_boxes": boxes, "digit_height": float(digit_height)}


@dataclasses.dataclass(frozen=True)
class _Tracklet:
    kind: str
    number: int  # the person's number (-1: none)
    frames: list  # (file name, BGR image, truth dict)


def _plan_tracklet(seed: int, split: str, index: int, *, frames_per_tracklet: tuple[int, int],
                   image_scale: float) -> _Tracklet:
    """Renders one tracklet (a deterministic function of the arguments)."""
    rng = renderer._rng(seed, "jersey", split, index)  # noqa: SLF001
    games = list_games(split if split != "challenge" else "challenge")
    roster = renderer.game_roster(games[int(rng.integers(len(games)))], seed)
    kind = KINDS[int(rng.choice(len(KINDS), p=KIND_WEIGHTS))]
    count = int(rng.integers(frames_per_tracklet[0], frames_per_tracklet[1] + 1))
    first = int(rng.integers(0, 400))
    look = renderer._frame_look(rng, "replay")  # noqa: SLF001 (one camera shot per tracklet)
    names = [f"{index}_{first + k}.jpg" for k in range(count)]
    if kind == "ball":
        size = max(10, int(round(rng.uniform(14, 30) * image_scale)))
        frames = [(n, _render_ball(rng, max(8, size + int(rng.integers(-2, 3))), look),
                   {"legible": False, "text": "", "owner": "main", "keypoints": [[0.0, 0.0, 0]] * 17,
                    "digit_boxes": [], "digit_height": 0.0}) for n in names]
        return _Tracklet(kind, -1, frames)

    person = _cast_person(rng, roster, kind)
    # Camera distance: tiny crops for one tracklet in ten; heights ~60-200 px otherwise.
    base = rng.uniform(26, 40) if rng.uniform() < 0.1 else math.exp(rng.uniform(math.log(60), math.log(200)))
    heading = float(rng.uniform(0, 2 * math.pi))
    turn = float(rng.normal(0, 0.45))
    hides_back = rng.uniform() < 0.08  # never shows the back: the number may never be seen
    switched = set(rng.choice(count, size=int(rng.integers(1, 4)), replace=False).tolist()
                   if rng.uniform() < 0.25 and count > 4 else [])
    others = roster["player"] + roster["goalkeeper"]
    frames = []
    for k, name in enumerate(names):
        heading += turn + rng.normal(0, 0.25)
        facing = _facing(heading)
        if hides_back and facing == "back":
            facing = "side"
        owner, who = "main", person
        if k in switched:  # the tracker jumped to someone close by for this frame
            owner = "other"
            who = others[int(rng.integers(len(others)))]
            who = dataclasses.replace(who, number=_player_number(rng), kit=dataclasses.replace(
                who.kit, number_font=FONTS[int(rng.integers(len(FONTS)))]))
        height = max(renderer.MIN_HEIGHT // 2, int(round(base * rng.uniform(0.92, 1.08) * image_scale)))
        frame_look = dict(look, height=height,
                          blur=int(rng.integers(2, max(3, int(0.08 * height)))) if rng.uniform() < 0.25 else 0,
                          blur_angle=float(rng.uniform(0, math.pi)))
        occluder = others[int(rng.integers(len(others)))] if rng.uniform() < 0.8 else None
        view = renderer._view(rng, frame_look, occluder, 1.0)  # noqa: SLF001
        # The crop follows the tracker's box: the height is the camera's, the facing the player's.
        view = dataclasses.replace(view, height=height, width=max(6, int(round(height * view.width / view.height))),
                                   facing=facing)
        fold = ((float(rng.uniform(0.2, 0.8)), float(rng.uniform(-0.4, 0.4)), float(rng.uniform(0.2, 0.6)))
                if rng.uniform() < 0.12 else None)
        image, truth = renderer.render_with_truth(who, view, fold=fold)
        frames.append((name, image, _frame_truth(truth, view, owner)))
    legible = any(t["legible"] and t["owner"] == "main" for _, _, t in frames)
    number = person.number if person.number is not None and legible else -1
    return _Tracklet(kind, number, frames)


def write_soccernet_jersey(
    root: str | os.PathLike,
    *,
    tracklets_per_split: Mapping[str, int] = DEFAULT_TRACKLETS_PER_SPLIT,
    frames_per_tracklet: tuple[int, int] = (8, 20),
    image_scale: float = 1.0,
    seed: int = 0,
) -> dict[str, dict[str, int]]:
    """Writes a synthetic SoccerNet jersey tree under `root` (the folder that plays `jersey-2023`).

    Args:
      root: where to write the split folders and `synthetic_truth/`.
      tracklets_per_split: tracklets per split ("train", "test", "challenge"); others get none.
      frames_per_tracklet: (min, max) frames of a tracklet, both included.
      image_scale: multiplies every crop size (heights ~40-180 px at 1).
      seed: everything is a deterministic function of the arguments.

    Returns:
      split -> {"tracklets", "frames", "illegible" (tracklets labelled -1), "legible_frames"}.
    """
    for split, count in tracklets_per_split.items():
        if split not in jersey_format.SPLITS:
            raise ValueError(f"Unknown jersey split {split!r}; expected one of {jersey_format.SPLITS}")
        if count < 1:
            raise ValueError(f"{split}: {count} tracklets asked; give at least one or leave the split out")
    if not 1 <= frames_per_tracklet[0] <= frames_per_tracklet[1]:
        raise ValueError(f"frames_per_tracklet {frames_per_tracklet} must be 1 <= min <= max")
    if image_scale <= 0:
        raise ValueError(f"image_scale must be positive, got {image_scale}")
    root = os.fspath(root)
    counts = {}
    for split in (s for s in jersey_format.SPLITS if s in tracklets_per_split):
        labels, truth = {}, {}
        frames_written = legible_frames = 0
        for index in range(tracklets_per_split[split]):
            tracklet = _plan_tracklet(seed, split, index, frames_per_tracklet=frames_per_tracklet,
                                      image_scale=image_scale)
            folder = os.path.join(root, split, jersey_format.IMAGES_FOLDER, str(index))
            os.makedirs(folder, exist_ok=True)
            for name, image, _ in tracklet.frames:
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                assert ok
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data.tobytes())
            labels[str(index)] = tracklet.number
            truth[str(index)] = {"kind": tracklet.kind, "frames": {n: t for n, _, t in tracklet.frames}}
            frames_written += len(tracklet.frames)
            legible_frames += sum(t["legible"] for _, _, t in tracklet.frames)
        jersey_format.write_predictions(os.path.join(root, jersey_format.groundtruth_file(split)), labels)
        os.makedirs(os.path.join(root, TRUTH_FOLDER), exist_ok=True)
        with open(truth_file(root, split), "w") as f:
            json.dump(truth, f)
        counts[split] = {"tracklets": len(labels), "frames": frames_written,
                         "illegible": sum(v == -1 for v in labels.values()),
                         "legible_frames": legible_frames}
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder to write the jersey tree into")
    parser.add_argument("--tracklets", type=split_counts, default=dict(DEFAULT_TRACKLETS_PER_SPLIT),
                        help="tracklets per split, e.g. train=2000,test=120,challenge=40")
    parser.add_argument("--image_scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    counts = write_soccernet_jersey(args.root, tracklets_per_split=args.tracklets,
                                    image_scale=args.image_scale, seed=args.seed)
    for split, c in counts.items():
        print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in c.items()))


if __name__ == "__main__":
    main()
