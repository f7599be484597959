"""Synthetic SoccerNet-Caption data, written in the exact official layout.

The first N games of each official caption split (`zoo.formats.splits.list_games(split,
"caption")`), each as `<root>/<league>/<season>/<game>/` with per-half feature files
`{1,2}_<kind>.npy` (float32 `[frames, dim]` at the kind's frame rate) and, except for challenge
games, `Labels-caption.json` in the official schema (`gameTime`, `label`, `description`,
`identified`, `anonymized`). Every reader, builder and evaluator runs unchanged on it.

Captions are anonymised commentaries from templates tied to the caption type (goal, card, corner,
substitution, injury, whistle, plain comment...) and its participants ("[PLAYER] ([TEAM]) scores!
[PLAYER] ([TEAM]) provided the assist."). Each template has its own random unit direction in
feature space, and the features around a caption get that direction times a Gaussian bump in time
on top of unit noise, as the SoccerNet-v2 synthetic data does for actions
(`zoo.synthetic.soccernet_v2.half_features`), but wider: a commentary speaks of several seconds of
play (the bump's standard deviation is 4 s, about 9 s at half height, against the actions' 1.5 s;
with the 1.5 s bump, a 45 s window's NetVLAD++ code keeps too little of it for a captioner to
learn from a few hundred training captions). So both when a commentator speaks and every word of
what they say are predictable from the features around that second.

    python -m zoo.synthetic.soccernet_caption --root /tmp/caption --games train=12,valid=2,test=4
"""

from __future__ import annotations

import argparse
import json
import os
import types
from collections.abc import Mapping, Sequence

import numpy as np

from zoo.cli import split_counts
from zoo.formats.captioning import LABEL_FILE, game_time
from zoo.formats.splits import list_games
from zoo.formats.spotting import FEATURE_KINDS

# The v2 generator's seeding, half lengths, header and feature signal.
from zoo.synthetic.soccernet_v2 import (
    _half_seconds,
    _rng,
    check_request,
    game_header,
    write_features,
)

DEFAULT_GAMES_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 12, "valid": 2, "test": 4, "challenge": 1})

# Caption type (the official label) -> anonymised templates. The types are the keys of the
# official caption dictionary; "" is a real label of the dataset too.
TEMPLATES: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    "comments": (
        "[TEAM] keep the ball and look for an opening.",
        "[PLAYER] ([TEAM]) tries a long shot, but it goes wide.",
        "The fans are loud as [TEAM] push forward.",
        "[PLAYER] ([TEAM]) wins a free kick in a dangerous position.",
    ),
    "whistle": (
        "[REFEREE] blows the whistle and the half is over.",
        "The match is under way.",
    ),
    "corner": (
        "Corner kick for [TEAM].",
        "[PLAYER] ([TEAM]) swings in a corner, but the defence clears it.",
    ),
    "y-card": (
        "[PLAYER] ([TEAM]) is booked after bringing down an opponent.",
        "[REFEREE] shows a yellow card to [PLAYER] ([TEAM]) for a late tackle.",
    ),
    "substitution": (
        "[COACH] makes a change: [PLAYER] replaces [PLAYER] ([TEAM]).",
        "[PLAYER] comes off and [PLAYER] ([TEAM]) takes his place.",
    ),
    "soccer-ball": (
        "[PLAYER] ([TEAM]) scores! [PLAYER] ([TEAM]) provided the assist.",
        "Goal! [PLAYER] ([TEAM]) heads the ball into the back of the net.",
    ),
    "injury": (
        "The game is stopped as [PLAYER] ([TEAM]) needs medical treatment.",
        "[PLAYER] ([TEAM]) is down injured and the physio comes on.",
    ),
    "": ("[PLAYER] ([TEAM]) is caught offside.",),
    "penalty": ("Penalty! [PLAYER] ([TEAM]) converts it from the spot.",),
    "penalty-missed": ("[PLAYER] ([TEAM]) misses the penalty! The keeper guessed right.",),
    "r-card": ("[REFEREE] sends [PLAYER] ([TEAM]) off with a straight red card!",),
    "yr-card": ("A second yellow card for [PLAYER] ([TEAM]), who has to leave the pitch.",),
    "soccer-ball-own": ("Own goal! [PLAYER] ([TEAM]) turns the ball into his own net.",),
})
# Relative frequencies of the caption types: plain comments dominate, as in the real data, but
# flattened so that every template appears a few times in a handful of synthetic games.
TYPE_WEIGHTS: Mapping[str, float] = types.MappingProxyType({
    "comments": 4.0, "whistle": 1.5, "corner": 2.0, "y-card": 1.5, "substitution": 1.5,
    "soccer-ball": 1.5, "injury": 1.0, "": 0.5, "penalty": 0.4, "penalty-missed": 0.4,
    "r-card": 0.4, "yr-card": 0.4, "soccer-ball-own": 0.4,
})
# One signal per template, "type/variant", in a fixed order: the rows of the feature directions.
SIGNALS: tuple[str, ...] = tuple(f"{kind}/{i}" for kind, texts in TEMPLATES.items() for i in range(len(texts)))

BUMP_SIGMA_S = 4.0  # the caption signal's standard deviation in time, in seconds

# Names the (non-anonymised) "description" and "identified" texts use.
_NAMES = {"[PLAYER]": ("Silva", "Müller", "Kane", "Rossi", "Martin", "Costa"), "[TEAM]": ("Home FC", "Away United"),
          "[REFEREE]": ("M. Oliver",), "[COACH]": ("J. Klopp", "P. Guardiola")}


def _filled(template: str, rng: np.random.Generator) -> str:
    text = template
    for placeholder, names in _NAMES.items():
        while placeholder in text:
            text = text.replace(placeholder, names[rng.integers(len(names))], 1)
    return text


def _captions(rng: np.random.Generator, half: int, duration_s: int, count: int) -> list[dict]:
    """`count` captions in one half, one per equal time slot (so that they rarely overlap), each
    with its template's signal name under "signal"."""
    kinds = list(TEMPLATES)
    weights = np.array([TYPE_WEIGHTS[k] for k in kinds])
    slot = duration_s / count
    captions = []
    for i in range(count):
        seconds = int((i + rng.uniform(0.2, 0.8)) * slot)
        kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
        variant = int(rng.integers(len(TEMPLATES[kind])))
        template = TEMPLATES[kind][variant]
        description = _filled(template, rng)
        captions.append({
            "gameTime": game_time(half, seconds),
            "label": kind,
            "description": description,
            "identified": description,
            "anonymized": template,
            "signal": f"{kind}/{variant}",
            "seconds": seconds,
        })
    return captions


def write_game(
    root: str | os.PathLike,
    game: str,
    *,
    with_labels: bool = True,
    feature_kinds: Sequence[str] = ("ResNET_TF2_PCA512",),
    half_seconds: int = 300,
    captions_per_half: int = 8,
    seed: int = 0,
) -> str:
    """Writes one game folder; returns its path. The content depends only on (game, seed, sizes)."""
    rng = _rng(seed, "caption game", game)
    durations = {half: _half_seconds(rng, half_seconds) for half in (1, 2)}
    captions = {half: _captions(rng, half, durations[half], captions_per_half) for half in (1, 2)}
    folder = os.path.join(os.fspath(root), game)
    os.makedirs(folder, exist_ok=True)
    events = {half: [{"label": c["signal"], "position": str(1000 * c["seconds"]), "visibility": "visible"}
                     for c in captions[half]] for half in (1, 2)}
    write_features(folder, game, events, durations, feature_kinds=feature_kinds, seed=seed, classes=SIGNALS,
                   key="caption features", bump_sigma_s=BUMP_SIGMA_S)
    if with_labels:
        fields = ("gameTime", "label", "description", "identified", "anonymized")
        annotations = [{k: c[k] for k in fields} for half in (1, 2) for c in captions[half]]
        header = {k: v for k, v in game_header(game).items() if k != "UrlYoutube"}
        with open(os.path.join(folder, LABEL_FILE), "w", encoding="utf-8") as f:
            json.dump({**header, "annotations": annotations}, f, indent=4, ensure_ascii=False)
    return folder


def write_soccernet_caption(
    root: str | os.PathLike,
    *,
    games_per_split: Mapping[str, int] = DEFAULT_GAMES_PER_SPLIT,
    feature_kinds: Sequence[str] = ("ResNET_TF2_PCA512",),
    half_seconds: int = 300,
    captions_per_half: int = 8,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Writes a synthetic SoccerNet-Caption tree under `root`.

    Args:
      root: the folder that plays the SoccerNet `LocalDirectory`.
      games_per_split: how many games of each official caption split to write (the first ones of
        the official list); splits not named get none.
      feature_kinds: keys of `FEATURE_KINDS`; each writes `{1,2}_<kind>.npy` per game at its own
        frame rate (baidu_soccer_embeddings: 1 fps, the ResNet features: 2 fps).
      half_seconds: nominal half length; each half lasts 90-100% of it.
      captions_per_half: captions per half (the real data has about one a minute).
      seed: everything is a deterministic function of the seed; a game's files do not depend on
        which other games are written.

    Returns:
      split -> the games written, as `league/season/game` paths relative to `root`.
    """
    check_request(games_per_split, feature_kinds, task="caption")
    if half_seconds < 10 or captions_per_half < 1:
        raise ValueError("half_seconds must be >= 10 and captions_per_half >= 1")
    written = {}
    for split, count in games_per_split.items():
        written[split] = list(list_games(split, task="caption")[:count])
        for game in written[split]:
            write_game(root, game, with_labels=split != "challenge", feature_kinds=feature_kinds,
                       half_seconds=half_seconds, captions_per_half=captions_per_half, seed=seed)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder to write the SoccerNet tree into")
    parser.add_argument("--games", type=split_counts, default=dict(DEFAULT_GAMES_PER_SPLIT),
                        help="games per split, e.g. train=12,valid=2,test=4,challenge=1")
    parser.add_argument("--features", default="ResNET_TF2_PCA512",
                        help=f"comma-separated feature kinds among {', '.join(FEATURE_KINDS)}")
    parser.add_argument("--half_seconds", type=int, default=300)
    parser.add_argument("--captions_per_half", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    written = write_soccernet_caption(
        args.root, games_per_split=args.games, feature_kinds=tuple(args.features.split(",")),
        half_seconds=args.half_seconds, captions_per_half=args.captions_per_half, seed=args.seed)
    for split, games in written.items():
        print(f"{split}: {len(games)} games written under {args.root}")


if __name__ == "__main__":
    main()
