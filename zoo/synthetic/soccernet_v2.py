"""Synthetic SoccerNet-v2 action spotting data, written in the exact official layout.

The tree is a genuine subset of the official one: the first N games of each official split
(`zoo.formats.splits.list_games`), each as `<root>/<league>/<season>/<game>/` with per-half feature
files `{1,2}_<kind>.npy` (float32 `[frames, dim]` at the kind's frame rate) and, except for
challenge games, `Labels-v2.json` in the official schema. So every reader, builder and evaluator
runs unchanged on real and on synthetic data.

The features carry a learnable signal: each class has a fixed random unit direction (per feature
kind), and around each event the features get that direction times a Gaussian bump in time (about
3.5 s wide at half height, half as strong for "not shown" events) on top of unit Gaussian noise.
One frame alone is a noisy cue; a few seconds of context spot the class to the second.

With `with_players`, each half also gets the 2 fps camera calibrations and player detections of
the official `{1,2}_field_calib_ccbv.json` and `{1,2}_player_boundingbox_maskrcnn.json`, whose
player layouts carry the signal of the patterned classes (`zoo.synthetic.soccernet_v2_players`).
With `set_piece_features="shared"`, the set pieces those layouts tell apart (penalty, kick-off,
throw-in, direct free-kick, corner) share one feature direction: the features then say that a
restart happens and when, and only the players say which one, as a broadcast frame's global
features are vague about it while the player positions are not.

    python -m zoo.synthetic.soccernet_v2 --root /tmp/soccernet --games train=6,valid=2,test=2,challenge=1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import types
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from zoo.cli import split_counts, user_errors
from zoo.formats import frame_detections
from zoo.formats.splits import SPLITS, list_games
from zoo.formats.spotting import CLASSES_V2, FEATURE_KINDS, LABEL_FILE
from zoo.synthetic import soccernet_v2_players as players

DEFAULT_GAMES_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 6, "valid": 2, "test": 2, "challenge": 1})

# Relative class frequencies: skewed like the real labels (ball out of play, throw-ins and fouls
# dominate; penalties and red cards are rare) but flattened so that every class still shows up a
# few times in a handful of synthetic games.
CLASS_WEIGHTS: Mapping[str, float] = types.MappingProxyType({
    "Penalty": 0.3, "Kick-off": 1.0, "Goal": 1.0, "Substitution": 1.0, "Offside": 1.0,
    "Shots on target": 1.5, "Shots off target": 1.5, "Clearance": 2.0, "Ball out of play": 4.0,
    "Throw-in": 3.0, "Foul": 2.5, "Indirect free-kick": 2.0, "Direct free-kick": 1.0,
    "Corner": 1.5, "Yellow card": 1.0, "Red card": 0.3, "Yellow->red card": 0.3,
})

SIGNAL_AMPLITUDE = 5.0  # peak of the class direction at a visible event, in noise standard deviations
NOT_SHOWN_AMPLITUDE = 2.5  # "not shown" events are off screen, so their cue is weaker
BUMP_SIGMA_S = 1.5  # temporal standard deviation of the bump: ~3.5 s wide at half height
NOT_SHOWN_FRACTION = 0.1
TEAMS = ("home", "away", "not applicable")
# The set pieces the player layouts tell apart, sharing a feature direction with "shared".
SET_PIECES = ("Penalty", "Kick-off", "Throw-in", "Direct free-kick", "Corner")
SET_PIECE_FEATURES = ("distinct", "shared")
PLAYERS_FPS = 2  # the official calibration and detection files are at 2 fps
TEAM_PROBABILITIES = (0.45, 0.45, 0.1)

_GAME_NAME = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}) - (?P<hour>\d{2})-(?P<minute>\d{2}) "
    r"(?P<home>.+?) (?P<home_goals>\d+) - (?P<away_goals>\d+) (?P<away>.+)$")


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the keys (not on what else is written)."""
    words = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def class_directions(kind: str, seed: int = 0, set_piece_features: str = "distinct", *,
                     classes: Sequence[str] = CLASSES_V2) -> np.ndarray:
    """The unit direction of each class in the feature space of `kind`: float32 `[classes, dim]`.

    With set_piece_features="shared", the classes of `SET_PIECES` all take the first one's.
    """
    if set_piece_features not in SET_PIECE_FEATURES:
        raise ValueError(f"set_piece_features must be one of {SET_PIECE_FEATURES}, got {set_piece_features!r}")
    dim, _ = FEATURE_KINDS[kind]
    directions = _rng(seed, "directions", kind).standard_normal((len(classes), dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    if set_piece_features == "shared":
        directions[[list(classes).index(c) for c in SET_PIECES]] = directions[list(classes).index(SET_PIECES[0])]
    return directions.astype(np.float32)


def game_header(game: str) -> dict[str, str]:
    """The top-level keys of `Labels-v2.json`, derived from a `league/season/game` path."""
    match = _GAME_NAME.match(game.split("/")[-1])
    if match is None:
        raise ValueError(f"Game folder name {game!r} is not '<date> - <time> <home> <n> - <m> <away>'")
    g = match.groupdict()
    return {
        "UrlLocal": game + "/",
        "UrlYoutube": "",
        "gameHomeTeam": g["home"],
        "gameAwayTeam": g["away"],
        "gameDate": f"{g['day']}/{g['month']}/{g['year']} - {g['hour']}:{g['minute']}",
        "gameScore": f"{g['home_goals']} - {g['away_goals']}",
    }


def _half_seconds(rng: np.random.Generator, half_seconds: int) -> int:
    # Real halves differ in length (stoppage time); keep 90-100% of the nominal length.
    return int(half_seconds - rng.integers(0, half_seconds // 10 + 1))


def _events(rng: np.random.Generator, half: int, duration_s: int, count: int) -> list[dict]:
    """`count` events in one half, one per equal time slot so that they rarely overlap."""
    weights = np.array([CLASS_WEIGHTS[c] for c in CLASSES_V2])
    slot_ms = duration_s * 1000 / count
    events = []
    for i in range(count):
        # The middle 60% of the slot: neighbouring events are at least 0.4 slot apart.
        position_ms = int((i + rng.uniform(0.2, 0.8)) * slot_ms)
        seconds = position_ms // 1000
        events.append({
            "gameTime": f"{half} - {seconds // 60:02d}:{seconds % 60:02d}",
            "label": CLASSES_V2[rng.choice(len(CLASSES_V2), p=weights / weights.sum())],
            "position": str(position_ms),
            "team": TEAMS[rng.choice(len(TEAMS), p=TEAM_PROBABILITIES)],
            "visibility": "not shown" if rng.uniform() < NOT_SHOWN_FRACTION else "visible",
        })
    return events


def half_features(
    rng: np.random.Generator, events: Sequence[dict], directions: np.ndarray, frames: int, fps: int,
    classes: Sequence[str] = CLASSES_V2, bump_sigma_s: float = BUMP_SIGMA_S,
) -> np.ndarray:
    """Unit Gaussian noise plus, around each event, its class direction times a temporal bump
    (a Gaussian of standard deviation `bump_sigma_s` seconds).

    events: dicts with "label" (one of `classes`, the rows of `directions`), "position" (ms, as
    text) and "visibility". Returns float32 `[frames, dim]`.
    """
    features = rng.standard_normal((frames, directions.shape[1]), dtype=np.float32)
    reach = int(np.ceil(3 * bump_sigma_s * fps))
    for event in events:
        centre_s = int(event["position"]) / 1000
        amplitude = SIGNAL_AMPLITUDE if event["visibility"] == "visible" else NOT_SHOWN_AMPLITUDE
        centre = int(centre_s * fps)
        window = np.arange(max(centre - reach, 0), min(centre + reach + 1, frames))
        bump = amplitude * np.exp(-0.5 * ((window / fps - centre_s) / bump_sigma_s) ** 2)
        features[window] += bump[:, None].astype(np.float32) * directions[classes.index(event["label"])]
    return features


def write_features(
    folder: str, game: str, events: Mapping[int, Sequence[dict]], durations: Mapping[int, int], *,
    feature_kinds: Sequence[str], seed: int, classes: Sequence[str] = CLASSES_V2, key: str = "features",
    bump_sigma_s: float = BUMP_SIGMA_S, set_piece_features: str = "distinct",
) -> None:
    """Writes `{1,2}_<kind>.npy` of one game: noise plus each event's class bump (`half_features`).

    events, durations: per half (1, 2), the events (see `half_features`) and the length in seconds.
    key: names the noise's random stream, so that other generators draw other noise.
    """
    for kind in feature_kinds:
        _, fps = FEATURE_KINDS[kind]
        directions = class_directions(kind, seed, set_piece_features, classes=classes)
        for half in (1, 2):
            features = half_features(
                _rng(seed, key, game, half, kind), events[half], directions, durations[half] * fps, fps, classes,
                bump_sigma_s)
            np.save(os.path.join(folder, f"{half}_{kind}.npy"), features)


def check_request(
    games_per_split: Mapping[str, int], feature_kinds: Sequence[str], *, task: str = "spotting"
) -> None:
    """Raises ValueError for an unknown split or feature kind, or more games than the official
    split of `task` has (zoo.formats.splits)."""
    for split, count in games_per_split.items():
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}")
        official = len(list_games(split, task))
        if not 0 <= count <= official:
            which = "" if task == "spotting" else f"{task} "
            raise ValueError(f"{split}: {count} games asked, the official {which}split has {official}")
    for kind in feature_kinds:
        if kind not in FEATURE_KINDS:
            raise ValueError(f"Unknown feature kind {kind!r}; expected one of {sorted(FEATURE_KINDS)}")


def write_game(
    root: str | os.PathLike,
    game: str,
    *,
    with_labels: bool = True,
    feature_kinds: Sequence[str] = ("ResNET_TF2_PCA512",),
    half_seconds: int = 300,
    events_per_half: int = 24,
    seed: int = 0,
    with_players: bool = False,
    set_piece_features: str = "distinct",
) -> str:
    """Writes one game folder; returns its path. The content depends only on (game, seed, sizes)."""
    rng = _rng(seed, "game", game)
    durations = {half: _half_seconds(rng, half_seconds) for half in (1, 2)}
    events = {half: _events(rng, half, durations[half], events_per_half) for half in (1, 2)}
    folder = os.path.join(os.fspath(root), game)
    os.makedirs(folder, exist_ok=True)
    if with_players:
        write_players(folder, game, events, durations, seed)
    write_features(folder, game, events, durations, feature_kinds=feature_kinds, seed=seed,
                   set_piece_features=set_piece_features)
    if with_labels:
        # Official files list the events by half, then by position.
        annotations = sorted(events[1], key=lambda e: int(e["position"])) + sorted(
            events[2], key=lambda e: int(e["position"]))
        with open(os.path.join(folder, LABEL_FILE), "w") as f:
            json.dump({**game_header(game), "annotations": annotations}, f, indent=4)
    return folder


def write_players(
    folder: str, game: str, events: Mapping[int, list[dict]], durations: Mapping[int, int], seed: int
) -> None:
    """Writes the calibration and player-detection files of both halves of a game folder."""
    sides = _rng(seed, "sides", game)
    home_sign = float(sides.choice([-1.0, 1.0]))
    shirts = players.team_colours(_rng(seed, "kits", game))
    for half in (1, 2):
        rng = _rng(seed, "players", game, half)
        sign = home_sign if half == 1 else -home_sign  # ends swap at half time
        scene = players.half_scene(rng, events[half], durations[half] * PLAYERS_FPS, PLAYERS_FPS, sign)
        calibration, detections = players.half_detections(rng, scene, shirts, PLAYERS_FPS)
        frame_detections.write_calibration(frame_detections.calibration_path(folder, half), calibration)
        frame_detections.write_players(frame_detections.players_path(folder, half), detections)


def write_soccernet_v2(
    root: str | os.PathLike,
    *,
    games_per_split: Mapping[str, int] = DEFAULT_GAMES_PER_SPLIT,
    feature_kinds: Sequence[str] = ("ResNET_TF2_PCA512",),
    half_seconds: int = 300,
    events_per_half: int = 24,
    seed: int = 0,
    with_players: bool = False,
    set_piece_features: str = "distinct",
) -> dict[str, list[str]]:
    """Writes a synthetic SoccerNet-v2 tree under `root`.

    Args:
      root: the folder that plays the SoccerNet `LocalDirectory`.
      games_per_split: how many games of each official split to write (the first ones of the
        official list); splits not named get none.
      feature_kinds: keys of `FEATURE_KINDS`; each writes `{1,2}_<kind>.npy` per game.
      half_seconds: nominal half length; each half lasts 90-100% of it.
      events_per_half: labelled events per half.
      seed: everything is a deterministic function of the seed; a game's files do not depend on
        which other games are written.
      with_players: also write `{1,2}_field_calib_ccbv.json` and
        `{1,2}_player_boundingbox_maskrcnn.json` (see the module docstring).
      set_piece_features: "distinct" (every class its own feature direction) or "shared".

    Returns:
      split -> the games written, as `league/season/game` paths relative to `root`.
    """
    check_request(games_per_split, feature_kinds)
    if half_seconds < 10 or events_per_half < 1:
        raise ValueError("half_seconds must be >= 10 and events_per_half >= 1")
    if set_piece_features not in SET_PIECE_FEATURES:
        raise ValueError(f"set_piece_features must be one of {SET_PIECE_FEATURES}, got {set_piece_features!r}")
    written = {}
    for split, count in games_per_split.items():
        written[split] = list(list_games(split)[:count])
        for game in written[split]:
            write_game(
                root, game, with_labels=split != "challenge", feature_kinds=feature_kinds,
                half_seconds=half_seconds, events_per_half=events_per_half, seed=seed,
                with_players=with_players, set_piece_features=set_piece_features)
    return written


@user_errors
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder to write the SoccerNet tree into")
    parser.add_argument(
        "--games", type=split_counts, default=dict(DEFAULT_GAMES_PER_SPLIT),
        help="games per split, e.g. train=6,valid=2,test=2,challenge=1 (splits left out get none)")
    parser.add_argument(
        "--features", default="ResNET_TF2_PCA512",
        help=f"comma-separated feature kinds among {', '.join(FEATURE_KINDS)}")
    parser.add_argument("--half_seconds", type=int, default=300)
    parser.add_argument("--events_per_half", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with_players", action="store_true",
                        help="also write the 2 fps calibration and player-detection files")
    parser.add_argument("--set_piece_features", choices=SET_PIECE_FEATURES, default="distinct")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    written = write_soccernet_v2(
        args.root, games_per_split=args.games, feature_kinds=tuple(args.features.split(",")),
        half_seconds=args.half_seconds, events_per_half=args.events_per_half, seed=args.seed,
        with_players=args.with_players, set_piece_features=args.set_piece_features)
    for split, games in written.items():
        print(f"{split}: {len(games)} games written under {args.root}")


if __name__ == "__main__":
    main()
