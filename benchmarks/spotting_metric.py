"""Action-spotting Average-mAP: the official SoccerNet evaluator against `zoo.metrics.spotting`.

Writes 100 synthetic games in the official layout (Labels-v2.json + results_spotting.json), times
both evaluators on the same files for the loose and tight metrics, checks that every key agrees to
1e-9, and prints a markdown table. "zoo arrays" times `average_map` on label / prediction vectors
already in memory (the training loop's path, no JSON).

    python benchmarks/spotting_metric.py [--games 100] [--seed 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import tempfile
import time

import numpy as np

from zoo.formats.spotting import CLASSES_V2, read_labels, read_predictions, write_predictions
from zoo.metrics import spotting

HALF_SECONDS = 47 * 60
FRAMERATE = 2
# Rough share of each class among SoccerNet-v2 events (Ball out of play, Throw-in, Foul dominate).
CLASS_WEIGHTS = np.array(
    [1, 12, 2, 12, 6, 17, 22, 35, 140, 96, 60, 48, 12, 23, 10, 1, 1], dtype=np.float64
)


def write_game(root: pathlib.Path, game: str, rng: np.random.Generator) -> None:
    """One game: ~100-300 GT events and NMS-like predictions (~20-60 per class and half)."""
    num_events = int(rng.integers(100, 300))
    classes = rng.choice(len(CLASSES_V2), size=num_events, p=CLASS_WEIGHTS / CLASS_WEIGHTS.sum())
    halves = rng.integers(1, 3, size=num_events)
    positions = rng.integers(0, HALF_SECONDS * 1000, size=num_events)
    annotations = []
    for c, h, ms in zip(classes.tolist(), halves.tolist(), positions.tolist()):
        seconds = ms // 1000
        annotations.append(
            {
                "gameTime": f"{h} - {seconds // 60:02d}:{seconds % 60:02d}",
                "label": CLASSES_V2[c],
                "position": str(ms),
                "team": rng.choice(["home", "away", "not applicable"]).item(),
                "visibility": "not shown" if rng.random() < 0.15 else "visible",
            }
        )
    label_dir = root / "labels" / game
    label_dir.mkdir(parents=True)
    with open(label_dir / "Labels-v2.json", "w") as f:
        json.dump({"UrlLocal": game, "annotations": annotations}, f)

    # Predictions: a noisy detection near most GTs plus background peaks at least ~10 s apart.
    half, frame, class_index, confidence = [], [], [], []
    detected = rng.random(num_events) < 0.8
    half.append(halves[detected])
    frame.append(
        np.clip(positions[detected] // 500 + rng.normal(0, 6, detected.sum()).astype(int), 0, None)
    )
    class_index.append(classes[detected])
    confidence.append(rng.beta(4, 2, detected.sum()))
    for h in (1, 2):
        for c in range(len(CLASSES_V2)):
            n = int(rng.integers(20, 60))
            peaks = np.sort(rng.choice(HALF_SECONDS * FRAMERATE // 20, n, replace=False)) * 20
            half.append(np.full(n, h))
            frame.append(peaks + rng.integers(0, 20, n))
            class_index.append(np.full(n, c))
            confidence.append(rng.beta(1, 4, n))
    write_predictions(
        root / "predictions" / game / "results_spotting.json",
        url_local=game,
        half=np.concatenate(half),
        frame=np.concatenate(frame),
        class_index=np.concatenate(class_index),
        confidence=np.round(np.concatenate(confidence), 4),
        framerate=FRAMERATE,
    )


def write_dataset(root: pathlib.Path, num_games: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    leagues = ["england_epl", "spain_laliga", "italy_serie-a"]
    for g in range(num_games):
        write_game(root, f"{leagues[g % 3]}/2016-2017/2016-0{g % 9 + 1}-01 - 20-00 Game {g}", rng)


def official_evaluate(root: pathlib.Path, metric: str) -> dict:
    from SoccerNet.Evaluation import ActionSpotting
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

    with contextlib.redirect_stderr(io.StringIO()):  # tqdm bars
        return ActionSpotting.evaluate(
            str(root / "labels"),
            str(root / "predictions"),
            dataset=None,  # infer the games from the folder
            EVENT_DICTIONARY=EVENT_DICTIONARY_V2,
            metric=metric,
            framerate=FRAMERATE,
        )


def max_difference(reference: dict, result: dict) -> float:
    assert reference.keys() == result.keys(), (reference.keys(), result.keys())
    return max(
        float(np.max(np.abs(np.asarray(reference[k], float) - np.asarray(result[k], float))))
        for k in reference
    )


def timed(fn, repeats: int) -> tuple[float, dict]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="zoo timing: best of this many")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        write_dataset(root, args.games, args.seed)
        games = sorted(p.parent for p in (root / "labels").rglob("Labels-v2.json"))
        label_vectors = [spotting.label_vectors(read_labels(g / "Labels-v2.json")) for g in games]
        prediction_vectors = [
            spotting.prediction_vectors(*read_predictions(
                root / "predictions" / g.relative_to(root / "labels") / "results_spotting.json"
            ))
            for g in games
        ]
        rows = []
        for metric in ("loose", "tight"):
            official_s, reference = timed(lambda: official_evaluate(root, metric), 1)
            zoo_s, result = timed(
                lambda: spotting.evaluate(root / "labels", root / "predictions", metric=metric),
                args.repeats,
            )
            arrays_s, from_arrays = timed(
                lambda: spotting.average_map(label_vectors, prediction_vectors, metric=metric),
                args.repeats,
            )
            difference = max(
                max_difference(reference, result), max_difference(reference, from_arrays)
            )
            assert difference <= 1e-9, f"{metric}: zoo differs from the official by {difference}"
            rows.append((metric, official_s, zoo_s, arrays_s, reference["a_mAP"], difference))

    print(f"{args.games} games, {os.cpu_count()} CPU cores, numpy {np.__version__}")
    print()
    print(
        "| metric | official evaluate (s) | zoo evaluate (s) | speed-up | zoo arrays (s) "
        "| a_mAP | max abs difference |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for metric, official_s, zoo_s, arrays_s, a_map, difference in rows:
        print(
            f"| {metric} | {official_s:.2f} | {zoo_s:.3f} | {official_s / zoo_s:.0f}x "
            f"| {arrays_s:.3f} | {a_map:.4f} | {difference:.1e} |"
        )


if __name__ == "__main__":
    main()
