"""Spotting metrics: the official evaluators against `zoo.metrics.spotting`, on the same files.

Cases (synthetic games in the official layout, written once to a temporary folder):
  * action spotting Average-mAP, loose and tight: 100 games at 2 fps (two halves, ~100-300 GT
    and ~2000 NMS-like predictions per game); official = `SoccerNet.Evaluation.ActionSpotting.evaluate`.
  * ball action spotting mAP@1 (2024): 7 games at 25 fps, one 97-minute video each, ~2000 GT
    events and ~5000 predictions per game over the 12 classes; official = the same `evaluate`
    with framerate 25, metric at1, Labels-ball.json and the 12-class dictionary.
  * Team mAP@1 (2025): the same 7 games with teams. Its official evaluator (sn-teamspotting) is
    not a package: the official side is the test suite's reference,
    `tests/test_metrics_ball_spotting.py::official_team_map`, which builds the official dense
    24-column vectors and calls the package's `average_mAP`, as the sn-teamspotting glue does.

Every run checks that both sides agree to 1e-9 on every key. Rounds alternate official and zoo
runs, so other load on shared cores hits both alike; each side's time is its fastest run.

    python benchmarks/metrics_spotting.py            # the cases above
    python benchmarks/metrics_spotting.py --quick    # 20 action games, 2 ball games
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo.formats.spotting import (
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_V2,
    PREDICTION_FILE,
    write_predictions,
)
from zoo.metrics import spotting, team_spotting

# ------------------------------------------------------------------------------------------------
# Synthetic games
# ------------------------------------------------------------------------------------------------

HALF_SECONDS = 47 * 60
# Rough share of each class among SoccerNet-v2 events (Ball out of play, Throw-in, Foul dominate).
CLASS_WEIGHTS_V2 = np.array(
    [1, 12, 2, 12, 6, 17, 22, 35, 140, 96, 60, 48, 12, 23, 10, 1, 1], dtype=np.float64
)
BALL_VIDEO_MS = 97 * 60 * 1000
# Rough share of each ball class (passes and drives dominate; goals are rare).
CLASS_WEIGHTS_BALL = np.array([48, 30, 5, 4, 3, 2, 2, 1.5, 1.5, 1.5, 1, 0.2])


def write_action_game(root: pathlib.Path, game: str, rng: np.random.Generator) -> None:
    """One action-spotting game: ~100-300 GT events and NMS-like predictions (~20-60 per class
    and half)."""
    num_events = int(rng.integers(100, 300))
    weights = CLASS_WEIGHTS_V2 / CLASS_WEIGHTS_V2.sum()
    classes = rng.choice(len(CLASSES_V2), size=num_events, p=weights)
    halves = rng.integers(1, 3, size=num_events)
    positions = rng.integers(0, HALF_SECONDS * 1000, size=num_events)
    annotations = []
    for c, h, ms in zip(classes.tolist(), halves.tolist(), positions.tolist()):
        seconds = ms // 1000
        annotations.append({
            "gameTime": f"{h} - {seconds // 60:02d}:{seconds % 60:02d}", "label": CLASSES_V2[c],
            "position": str(ms), "team": rng.choice(["home", "away", "not applicable"]).item(),
            "visibility": "not shown" if rng.random() < 0.15 else "visible",
        })
    label_dir = root / "labels" / game
    label_dir.mkdir(parents=True)
    (label_dir / "Labels-v2.json").write_text(json.dumps({"UrlLocal": game, "annotations": annotations}))

    # A noisy detection near most GTs plus background peaks at least ~10 s apart.
    half, frame, class_index, confidence = [], [], [], []
    detected = rng.random(num_events) < 0.8
    half.append(halves[detected])
    frame.append(np.clip(positions[detected] // 500 + rng.normal(0, 6, detected.sum()).astype(int), 0, None))
    class_index.append(classes[detected])
    confidence.append(rng.beta(4, 2, detected.sum()))
    for h in (1, 2):
        for c in range(len(CLASSES_V2)):
            n = int(rng.integers(20, 60))
            peaks = np.sort(rng.choice(HALF_SECONDS * 2 // 20, n, replace=False)) * 20
            half.append(np.full(n, h))
            frame.append(peaks + rng.integers(0, 20, n))
            class_index.append(np.full(n, c))
            confidence.append(rng.beta(1, 4, n))
    write_predictions(
        root / "predictions" / game / PREDICTION_FILE, url_local=game, half=np.concatenate(half),
        frame=np.concatenate(frame), class_index=np.concatenate(class_index),
        confidence=np.round(np.concatenate(confidence), 4), framerate=2,
    )


def write_ball_game(root: pathlib.Path, game: str, rng: np.random.Generator) -> None:
    """One 2025-style ball game: a 97-minute video, ~2000 GT events with teams, ~5000 predictions
    (a detection within ~0.3 s of 80 % of the GTs, 85 % of them with the right team, and false
    positives with lower scores), deduplicated per 40 ms frame as NMS would leave them."""
    num_events = int(rng.integers(1800, 2200))
    classes = rng.choice(12, size=num_events, p=CLASS_WEIGHTS_BALL / CLASS_WEIGHTS_BALL.sum())
    positions = np.sort(rng.integers(0, BALL_VIDEO_MS, size=num_events))
    teams = rng.integers(0, 2, size=num_events)
    annotations = []
    for c, t, ms in zip(classes.tolist(), teams.tolist(), positions.tolist()):
        seconds = ms // 1000
        annotations.append({
            "gameTime": f"1 - {seconds // 60:02d}:{seconds % 60:02d}", "label": CLASSES_BALL[c],
            "position": str(ms), "team": ("left", "right")[t],
            "visibility": "not shown" if rng.random() < 0.05 else "visible",
        })
    label_dir = root / "labels" / game
    label_dir.mkdir(parents=True)
    (label_dir / BALL_LABEL_FILE).write_text(json.dumps({"UrlLocal": game, "annotations": annotations}))

    detected = rng.random(num_events) < 0.8
    frame = [np.clip(positions[detected] * 25 // 1000 + rng.normal(0, 4, detected.sum()).astype(int), 0, None)]
    class_index = [classes[detected]]
    team = [np.where(rng.random(detected.sum()) < 0.85, teams[detected], 1 - teams[detected])]
    confidence = [rng.beta(4, 2, detected.sum())]
    num_false = int(rng.integers(2800, 3200))
    frame.append(rng.integers(0, BALL_VIDEO_MS * 25 // 1000, num_false))
    class_index.append(rng.choice(12, size=num_false, p=CLASS_WEIGHTS_BALL / CLASS_WEIGHTS_BALL.sum()))
    team.append(rng.integers(0, 2, num_false))
    confidence.append(rng.beta(1, 4, num_false))
    frame, class_index, team, confidence = (np.concatenate(a) for a in (frame, class_index, team, confidence))
    _, first = np.unique(np.stack([frame, class_index, team]), axis=1, return_index=True)
    keep = np.sort(first)
    write_predictions(
        root / "predictions" / game / PREDICTION_FILE, url_local=game, half=1, frame=frame[keep],
        class_index=class_index[keep], confidence=np.round(confidence[keep], 4), framerate=25,
        classes=CLASSES_BALL, team=team[keep],
    )


# ------------------------------------------------------------------------------------------------
# The two sides
# ------------------------------------------------------------------------------------------------

def official_action(root: pathlib.Path, metric: str) -> dict:
    from SoccerNet.Evaluation import ActionSpotting
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

    with contextlib.redirect_stderr(io.StringIO()):  # tqdm bars
        return ActionSpotting.evaluate(
            str(root / "labels"), str(root / "predictions"), dataset=None, metric=metric,
            framerate=2, EVENT_DICTIONARY=EVENT_DICTIONARY_V2,
        )


def official_ball(root: pathlib.Path) -> dict:
    from SoccerNet.Evaluation import ActionSpotting

    with contextlib.redirect_stderr(io.StringIO()):
        return ActionSpotting.evaluate(
            str(root / "labels"), str(root / "predictions"), dataset=None, metric="at1",
            framerate=25, label_files=BALL_LABEL_FILE,
            EVENT_DICTIONARY={c: i for i, c in enumerate(CLASSES_BALL)},
        )


def official_team(root: pathlib.Path, games: list[str]) -> dict:
    from tests.test_metrics_ball_spotting import official_team_map

    labels = [json.loads((root / "labels" / g / BALL_LABEL_FILE).read_text()) for g in games]
    predictions = [json.loads((root / "predictions" / g / PREDICTION_FILE).read_text()) for g in games]
    return official_team_map(labels, predictions)


def max_difference(reference: dict, result: dict) -> float:
    assert list(reference) == list(result), (list(reference), list(result))
    worst = 0.0
    for key, expected in reference.items():
        a, b = np.asarray(expected, float), np.asarray(result[key], float)
        assert (np.isnan(a) == np.isnan(b)).all(), key
        finite = ~np.isnan(a)
        worst = max(worst, float(np.max(np.abs(a[finite] - b[finite]), initial=0.0)))
    return worst


def race(official, zoo, rounds: int, zoo_repeats: int = 3) -> tuple[float, float, float, dict]:
    """Fastest official and zoo seconds over alternating rounds, their largest difference, and
    the official result."""
    official_s = zoo_s = math.inf
    difference = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        reference = official()
        official_s = min(official_s, time.perf_counter() - start)
        for _ in range(zoo_repeats):
            start = time.perf_counter()
            result = zoo()
            zoo_s = min(zoo_s, time.perf_counter() - start)
        difference = max(difference, max_difference(reference, result))
    assert difference <= 1e-9, f"zoo differs from the official by {difference}"
    return official_s, zoo_s, difference, reference


def benchmark(quick: bool = False) -> list[dict]:
    """Times every case; rows of metric, size, official_s, zoo_s and a note."""
    action_games, ball_games, rounds = (20, 2, 2) if quick else (100, 7, 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "action"
        rng = np.random.default_rng(0)
        leagues = ["england_epl", "spain_laliga", "italy_serie-a"]
        for g in range(action_games):
            write_action_game(root, f"{leagues[g % 3]}/2016-2017/2016-0{g % 9 + 1}-01 - 20-00 Game {g}", rng)
        for metric in ("loose", "tight"):
            official_s, zoo_s, difference, reference = race(
                lambda metric=metric: official_action(root, metric),
                lambda metric=metric: spotting.evaluate(root / "labels", root / "predictions",
                                                        metric=metric),
                rounds,
            )
            rows.append({
                "metric": f"action spotting Average-mAP ({metric})",
                "size": f"{action_games} games, 2 fps", "official_s": official_s, "zoo_s": zoo_s,
                "note": f"SoccerNet evaluate; a_mAP {reference['a_mAP']:.4f}, max diff {difference:.0e}",
            })

        root = pathlib.Path(tmp) / "ball"
        games = [f"england_efl/2019-2020/2019-10-01 - Game {g}" for g in range(ball_games)]
        for game in games:
            write_ball_game(root, game, rng)
        official_s, zoo_s, difference, reference = race(
            lambda: official_ball(root),
            lambda: spotting.evaluate(root / "labels", root / "predictions", metric="at1",
                                      label_file=BALL_LABEL_FILE, classes=CLASSES_BALL),
            rounds,
        )
        rows.append({
            "metric": "ball action spotting mAP@1 (2024)",
            "size": f"{ball_games} games x 97 min, 25 fps, 12 classes", "official_s": official_s,
            "zoo_s": zoo_s,
            "note": f"SoccerNet evaluate; mAP@1 {reference['a_mAP']:.4f}, max diff {difference:.0e}",
        })
        official_s, zoo_s, difference, reference = race(
            lambda: official_team(root, games),
            lambda: team_spotting.evaluate_team(root / "labels", root / "predictions"),
            rounds,
        )
        rows.append({
            "metric": "Team mAP@1 (2025)",
            "size": f"{ball_games} games x 97 min, 25 fps, 24 columns", "official_s": official_s,
            "zoo_s": zoo_s,
            "note": "official side: the tests' reference glue (dense 24-column vectors + SoccerNet "
                    f"average_mAP, twice with the no-team pass); Team mAP@1 {reference['mAP']:.4f}, "
                    f"max diff {difference:.0e}",
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 action games, 2 ball games")
    args = parser.parse_args()
    rows = benchmark(quick=args.quick)
    print(f"{os.cpu_count()} CPU cores, numpy {np.__version__}" + (" (quick)" if args.quick else ""))
    print()
    print("| metric | size | official (s) | zoo (s) | speed-up | note |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row['metric']} | {row['size']} | {row['official_s']:.2f} | {row['zoo_s']:.3f} "
              f"| {row['official_s'] / row['zoo_s']:.0f}x | {row['note']} |")


if __name__ == "__main__":
    main()
