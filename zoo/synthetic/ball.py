"""Synthetic ball action spotting videos (2023, 2024, 2025) and SoccerNet-v2 videos, in the official layout.

Real SoccerNet videos need an NDA, so every ball-spotting pipeline and test runs on these. The
tree is a subset of the official one: the official ball games (`list_games(split, task="ball")`),
each `<root>/england_efl/2019-2020/<game>/` with

- 2023: per-half videos `1_224p.mkv`, `2_224p.mkv` and `Labels-ball.json` (PASS, DRIVE; gameTime
  half 1 or 2, positions from the start of the half);
- 2024 / 2025: one video `224p.mp4` for the whole match and `Labels-ball.json` with the 12 classes,
  every gameTime in half "1", positions from the start of the video, and a `halftime` field
  ("1 - MM:SS", where the second half starts in the video);

challenge games with videos but no labels. `write_v2_video_dataset` writes SoccerNet-v2 games the
same way (`1_224p.mkv`, `2_224p.mkv`, `Labels-v2.json` with the 17 classes) for pretraining on
action spotting video, as the T-DEED recipe does.

The videos show a match (`zoo.synthetic.pitch_render`): 2 x 11 players in per-game kits, a
referee, a linesman, a fourth official and two substitutes, a ball that is always at someone's
feet, head or hands, resting on a spot, or travelling. Teams swap ends at half time. Each label
is an action that happens on screen at its frame, the frame of the kick or contact:

    PASS        the ball leaves a player rolling along the ground, at ~15 m/s, to a team-mate
    DRIVE       a player sets off running with the ball kept just ahead of his feet
    HIGH PASS   a lofted ball (6-11 m high: drawn higher, larger, with a shadow) to a far team-mate
    HEADER      a lofted ball reaches a player at head height and leaves again from there
    CROSS       a lofted ball from a wing, near the opponents' goal line, into their box
    SHOT        a fast (22-27 m/s) ball towards the goal
    GOAL        the ball crosses the goal line between the posts (then a pause and a kick-off)
    OUT         the ball crosses a touchline or a goal line outside the goal
    THROW IN    a player outside the touchline, arms up with the ball above his head, throws it
    BALL PLAYER BLOCK           the ball stops dead at an opponent and bounces back
    PLAYER SUCCESSFUL TACKLE    an opponent runs in and takes the ball from its holder
    FREE KICK   the ball lies still for 2-3 s before a wall of four opponents, then is kicked

The team of an event is the acting player's: "left" if his team defends the left goal in that
half. The v2 classes add fouls (the fouled player falls), cards (the referee raises a yellow or
red card), offside (the linesman raises his flag), substitution (the fourth official's board,
players at the halfway line), corners, penalties, clearances and kick-offs. A few events are
"not shown": the camera is on the crowd while they happen.

Everything is a deterministic function of (game, version, sizes, seed); a game does not depend on
which other games are written.

    python -m zoo.synthetic.ball /tmp/soccernet_ball --version 2025
    python -m zoo.synthetic.ball /tmp/soccernet --v2-video
"""

from __future__ import annotations

import argparse
import json
import os
import types
from collections.abc import Mapping, Sequence

import numpy as np

from zoo.cli import split_counts, user_errors
from zoo.formats.splits import SPLITS, list_games
from zoo.formats.spotting import BALL_LABEL_FILE, LABEL_FILE, positions_ms
from zoo.synthetic import pitch_render
from zoo.synthetic.match_plan import (
    LABELS_BALL,
    LABELS_BALL_2023,
    LABELS_V2,
    Half,
    Match,
    simulate_match,
    team_of,
)
from zoo.synthetic.soccernet_v2 import game_header

VERSIONS = ("2023", "2024", "2025")
VIDEO_FILES: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    "2023": ("1_224p.mkv", "2_224p.mkv"),
    "2024": ("224p.mp4",),
    "2025": ("224p.mp4",),
})
V2_VIDEO_FILES = ("1_224p.mkv", "2_224p.mkv")
DEFAULT_V2_GAMES_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 2, "valid": 1, "test": 1, "challenge": 1})
V2_LABELS_PER_SCENE = 3.0  # a v2 incident or set piece gives ~3 labels (foul, card, free kick...)
# The shortest video (ball: per game, v2: per half). Rare classes need set pieces, and a half has
# room for them only from SCENE_BUDGET_S on: below ~2 x 30 s a game holds mostly passes and runs.
MIN_SECONDS = 10.0


def ball_labels(version: str) -> Mapping[str, str]:
    """The planner's action kinds -> the labels a ball-spotting version gives them."""
    if version not in VERSIONS:
        raise ValueError(f"Unknown version {version!r}; expected one of {VERSIONS}")
    return LABELS_BALL_2023 if version == "2023" else LABELS_BALL


def simulate_ball_game(game: str, *, video_seconds: float = 120.0, events_per_minute: float = 30.0,
                       width: int = 160, height: int = 96, fps: float = 25, seed: int = 0) -> Match:
    """The match `write_dataset` renders for `game` (the same for every version): two halves of
    `video_seconds / 2` each; a 2024/2025 video is the first half followed by the second."""
    total = round(video_seconds * fps)
    return simulate_match(game, style="ball", half_frames=(total // 2, total - total // 2),
                          events_per_minute=events_per_minute, width=width, height=height, fps=fps,
                          seed=seed)


def simulate_v2_game(game: str, *, half_seconds: float = 120.0, events_per_half: int = 12,
                     width: int = 160, height: int = 96, fps: float = 25, seed: int = 0) -> Match:
    """The match `write_v2_video_dataset` renders for `game`."""
    frames = round(half_seconds * fps)
    return simulate_match(game, style="v2", half_frames=(frames, frames),
                          scenes_per_minute=events_per_half / V2_LABELS_PER_SCENE / (half_seconds / 60),
                          width=width, height=height, fps=fps, seed=seed)


def label_positions(frames: Sequence[int], fps: float) -> list[int]:
    """Milliseconds of frames that read back as the same frames both ways the evaluators read
    them: int(fps * (ms / 1000)) (SoccerNet package) and int(fps * ms / 1000) (sn-teamspotting)."""
    out = []
    for frame, ms in zip(frames, positions_ms(np.asarray(frames, np.int64), fps).tolist()):
        while int(fps * (ms / 1000)) < frame or int(fps * ms / 1000) < frame:
            ms += 1
        if int(fps * (ms / 1000)) != frame or int(fps * ms / 1000) != frame:
            raise AssertionError(f"no millisecond position reads back as frame {frame} at {fps} fps")
        out.append(ms)
    return out


def _game_time(half: int, ms: int) -> str:
    seconds = ms // 1000
    return f"{half} - {seconds // 60:02d}:{seconds % 60:02d}"


def _annotations(half: Half, game_half: int, offset: int, labels: Mapping[str, str], fps: float,
                 team_names: Sequence[str]) -> list[dict]:
    """Label entries of one half's events, in time order; `offset` frames are added (a half that
    starts later in its video); `team_names[i]` names team side i."""
    events = [e for e in half.events if e.kind in labels]
    entries = []
    for event, ms in zip(events, label_positions([e.frame + offset for e in events], fps)):
        entries.append({
            "gameTime": _game_time(game_half, ms),
            "label": labels[event.kind],
            "position": str(ms),
            "team": team_names[team_of(event.person)],
            "visibility": "visible" if event.visible else "not shown",
        })
    return entries


def _sides(half: Half) -> tuple[str, str]:
    """Team 0 and team 1 as sides of the screen in this half: the team defending the left goal
    is "left"."""
    return ("left", "right") if half.left_team == 0 else ("right", "left")


def _games(games_per_split, task: str, default: Mapping[str, int]) -> list[tuple[str, str]]:
    """(split, league/season/game) of the games to write: the first N of each official split."""
    if games_per_split is None:
        games_per_split = default
    if isinstance(games_per_split, int):
        games_per_split = {split: min(games_per_split, len(list_games(split, task=task))) for split in SPLITS}
    chosen = []
    for split, count in games_per_split.items():
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}")
        official = list_games(split, task=task)
        if not 0 <= count <= len(official):
            raise ValueError(f"{split}: {count} games asked, the official split has {len(official)}")
        chosen += [(split, game) for game in official[:count]]
    return chosen


def _write_json(path: str, document: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=4)


def render_video(match: Match, halves: Sequence[int], path: str | os.PathLike) -> int:
    """Writes the footage of the given halves of `match`, one after the other, as one video;
    returns the number of frames."""
    broadcast = pitch_render.Broadcast(match.view, match.look_rng())

    def frames():
        for h in halves:
            yield from broadcast.frames(match.halves[h].footage)

    return pitch_render.write_video(path, frames(), (match.view.width, match.view.height), match.fps)


def write_dataset(root, *, version="2025", games_per_split=None, video_seconds=120.0,
                  events_per_minute=30.0, width=160, height=96, fps=25, seed=0) -> list[str]:
    """Writes ball-spotting games in the official layout under root; returns league/season/game paths.

    Args:
      root: the folder that plays the SoccerNet `LocalDirectory`.
      version: "2023" (two half videos `1_224p.mkv`, `2_224p.mkv`; PASS and DRIVE), "2024" or
        "2025" (one video `224p.mp4`; 12 classes, all in half "1"; a `halftime` field).
      games_per_split: None (all 9 official ball games), an int (the first N of each split) or
        {split: N}.
      video_seconds: footage per game (2023: two halves of half that each), or {split: seconds}
        (longer test games give a steadier metric).
      events_per_minute: about how many ball-class events happen per minute (2023 labels only
        the passes and runs among them).
      width, height, fps: video frame size and rate (the official 224p is 398x224 at 25 fps).
      seed: everything is a deterministic function of (game, sizes, seed); the same game is the
        same match in every version.
    """
    labels = ball_labels(version)
    seconds_of = dict(video_seconds) if isinstance(video_seconds, Mapping) else {s: video_seconds for s in SPLITS}
    if min(seconds_of.values()) < MIN_SECONDS or events_per_minute <= 0 or fps <= 0:
        raise ValueError(f"video_seconds must be >= {MIN_SECONDS}, events_per_minute and fps > 0")
    everything = {split: len(list_games(split, task="ball")) for split in SPLITS}
    written = []
    for split, game in _games(games_per_split, "ball", everything):
        if split not in seconds_of:
            raise ValueError(f"video_seconds gives no length for the {split} games")
        match = simulate_ball_game(game, video_seconds=seconds_of[split], events_per_minute=events_per_minute,
                                   width=width, height=height, fps=fps, seed=seed)
        folder = os.path.join(os.fspath(root), game)
        os.makedirs(folder, exist_ok=True)
        header = {"UrlLocal": game + "/"}
        annotations = []
        if version == "2023":  # one video per half, positions from the start of the half
            for h, name in enumerate(VIDEO_FILES[version]):
                render_video(match, [h], os.path.join(folder, name))
                annotations += _annotations(match.halves[h], h + 1, 0, labels, fps, _sides(match.halves[h]))
        else:  # one video of the match, everything in half "1"
            render_video(match, [0, 1], os.path.join(folder, VIDEO_FILES[version][0]))
            second_half = match.halves[0].footage.frames
            for h, offset in ((0, 0), (1, second_half)):
                annotations += _annotations(match.halves[h], 1, offset, labels, fps, _sides(match.halves[h]))
            header["halftime"] = _game_time(1, label_positions([second_half], fps)[0])
        if split != "challenge":  # challenge labels are hidden, as in the real data
            _write_json(os.path.join(folder, BALL_LABEL_FILE), {**header, "annotations": annotations})
        written.append(game)
    return written


def write_v2_video_dataset(root, *, games_per_split=None, half_seconds=120.0, events_per_half=12,
                           width=160, height=96, fps=25, seed=0) -> list[str]:
    """SoccerNet-v2 style games with videos (1_224p.mkv, 2_224p.mkv) and Labels-v2.json (17 classes),
    for pretraining on action spotting video as the T-DEED recipe does.

    Args:
      games_per_split: None ({train: 2, valid: 1, test: 1, challenge: 1}), an int (the first N of
        each official split) or {split: N}.
      half_seconds: length of each half video.
      events_per_half: about how many labelled events a half holds (incidents and set pieces give
        1-4 labels each; every class shows up in every game at the defaults).
    """
    if half_seconds < MIN_SECONDS or events_per_half < 1 or fps <= 0:
        raise ValueError(f"half_seconds must be >= {MIN_SECONDS}, events_per_half >= 1, fps > 0")
    written = []
    for split, game in _games(games_per_split, "spotting", DEFAULT_V2_GAMES_PER_SPLIT):
        match = simulate_v2_game(game, half_seconds=half_seconds, events_per_half=events_per_half,
                                 width=width, height=height, fps=fps, seed=seed)
        folder = os.path.join(os.fspath(root), game)
        os.makedirs(folder, exist_ok=True)
        annotations = []
        for h, name in enumerate(V2_VIDEO_FILES):
            render_video(match, [h], os.path.join(folder, name))
            annotations += _annotations(match.halves[h], h + 1, 0, LABELS_V2, fps, ("home", "away"))
        if split != "challenge":
            _write_json(os.path.join(folder, LABEL_FILE), {**game_header(game), "annotations": annotations})
        written.append(game)
    return written


def _parse_games(text: str) -> int | dict[str, int]:
    """--games: N games per split, or split=N,... (`zoo.cli.split_counts`)."""
    return int(text) if text.isdigit() else split_counts(text)


@user_errors
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="folder to write the SoccerNet tree into")
    parser.add_argument("--version", choices=VERSIONS, default="2025", help="ball-spotting edition")
    parser.add_argument("--v2-video", action="store_true",
                        help="write SoccerNet-v2 games with videos (17 classes) instead of ball games")
    parser.add_argument("--games", type=_parse_games, default=None,
                        help="games per split: N (the first N of each) or train=4,valid=1,...")
    parser.add_argument("--seconds", type=float, default=None,
                        help="video per game (ball, default 120) or per half (--v2-video, default 120)")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    size = {"width": args.width, "height": args.height, "seed": args.seed, "games_per_split": args.games}
    if args.v2_video:
        games = write_v2_video_dataset(args.root, half_seconds=args.seconds or 120.0, **size)
    else:
        games = write_dataset(args.root, version=args.version, video_seconds=args.seconds or 120.0, **size)
    print(f"{len(games)} games written under {args.root}")


if __name__ == "__main__":
    main()
