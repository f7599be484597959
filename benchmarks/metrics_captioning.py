"""Dense video captioning metrics: the official SoccerNet evaluator vs `zoo.metrics.captioning`.

Writes the 98 games of the caption test split (real game names, synthetic captions: ~80 GT
captions per game as in SoccerNet-Caption's 37k over 471 games, and as many predictions, some
near a GT caption, some not) in the official layout, then times, side by side in one process,
the official `DenseVideoCaptioning.evaluate(..., include_SODA=False)` and `zoo.metrics.captioning.
evaluate` for the 30 s ("loose") and 5 s ("tight") windows, checks that every key agrees to 1e-9,
and prints a markdown table. The official starts its own METEOR Java process at every call; the
zoo starts one per Python process, so its first call ("cold", timed in fresh processes) pays that
start-up and the next ones ("warm", as in a training loop that evaluates every epoch) do not.

    python benchmarks/metrics_captioning.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time

from zoo.formats import splits
from zoo.metrics import captioning

HALF_SECONDS = 47 * 60
CAPTIONS_PER_HALF = 40  # ~37k captions over 471 games
TEMPLATES = [
    "[PLAYER] ([TEAM]) {a} the ball {b} but {c} {d}.",
    "[REFEREE] blows his whistle after a {a} {b} by [PLAYER] ([TEAM]).",
    "What a {a} from [PLAYER]! The {b} {c} just {d} the post.",
    "[COACH] decides to make a substitution: [PLAYER] replaces [PLAYER] ({a} {b}).",
    "[PLAYER] ([TEAM]) is booked after a {a} challenge. [REFEREE] had an easy decision to make.",
    "The ball goes {a} after a {b} {c} from [PLAYER] ([TEAM]).",
    "[PLAYER] ([TEAM]) takes the corner kick, but the {a} {b} {c} it away.",
    "Goal! [PLAYER] ([TEAM]) {a} the ball into the {b} {c} corner. {d}!",
]
WORDS = [
    "strikes",
    "curls",
    "heads",
    "volleys",
    "drives",
    "low",
    "high",
    "far",
    "near",
    "left",
    "right",
    "wide",
    "late",
    "poor",
    "brilliant",
    "header",
    "shot",
    "cross",
    "pass",
    "defence",
    "keeper",
    "save",
    "clearance",
    "effort",
    "attempt",
    "opponent",
    "rebound",
    "net",
    "top",
    "bottom",
    "area",
    "box",
    "penalty",
    "spot",
    "free",
    "kick",
    "midfield",
    "counter",
    "attack",
    "misses",
    "fires",
]


def caption(rng: random.Random) -> str:
    text = rng.choice(TEMPLATES)
    for slot in ("{a}", "{b}", "{c}", "{d}"):
        text = text.replace(slot, rng.choice(WORDS))
    return text


def game_time(half: int, seconds: int) -> str:
    return f"{half} - {seconds // 60:02d}:{seconds % 60:02d}"


def write_dataset(root: pathlib.Path, games: list[str], seed: int = 0) -> None:
    rng = random.Random(seed)
    for game in games:
        annotations, predictions = [], []
        for half in (1, 2):
            times = sorted(rng.sample(range(HALF_SECONDS), CAPTIONS_PER_HALF))
            for t in times:
                annotations.append(
                    {
                        "gameTime": game_time(half, t),
                        "label": rng.choice(["comments", "corner", "whistle"]),
                        "description": "",
                        "identified": "",
                        "anonymized": caption(rng),
                    }
                )
            # A spotter finds most captions within a few seconds and adds false alarms.
            found = [t + rng.randint(-8, 8) for t in times if rng.random() < 0.7]
            alarms = rng.sample(range(HALF_SECONDS), CAPTIONS_PER_HALF - len(found))
            for t in sorted(max(0, t) for t in found + alarms):
                predictions.append(
                    {
                        "gameTime": game_time(half, t),
                        "label": "comments",
                        "position": str(1000 * t),
                        "half": str(half),
                        "confidence": f"{rng.random():.4f}",
                        "comment": caption(rng),
                    }
                )
        for folder, name, document in (
            ("labels", "Labels-caption.json", {"annotations": annotations}),
            (
                "predictions",
                "results_dense_captioning.json",
                {"UrlLocal": game, "predictions": predictions},
            ),
        ):
            path = root / folder / game / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document))


def official_evaluate(root: pathlib.Path, games: list[str], window_size: int) -> dict:
    from SoccerNet.Evaluation import DenseVideoCaptioning

    original = DenseVideoCaptioning.getListGames
    DenseVideoCaptioning.getListGames = lambda *a, **k: list(games)
    try:
        random.seed(0)  # its random strings for unmatched predictions
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return DenseVideoCaptioning.evaluate(
                str(root / "labels"),
                str(root / "predictions"),
                prediction_file="results_dense_captioning.json",
                include_SODA=False,
                window_size=window_size,
            )
    finally:
        DenseVideoCaptioning.getListGames = original


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def zoo_evaluate(root: pathlib.Path, games: list[str], window_size: int) -> dict:
    return captioning.evaluate(
        root / "labels", root / "predictions", games=games, window_size=window_size
    )


def cold_run(
    which: str, root: pathlib.Path, num_games: int, window_size: int
) -> tuple[float, dict]:
    """One evaluation in a fresh Python process (Java started from scratch): (seconds, results)."""
    command = [
        sys.executable,
        __file__,
        "--cold",
        which,
        "--root",
        str(root),
        "--games",
        str(num_games),
        "--window",
        str(window_size),
    ]
    # One string-hash seed for both: the official visits halves in set order (see the module).
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    seconds, results = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, results


def _row(metric, size, official_s, zoo_s, reference, result):
    assert list(result) == list(reference), (list(result), list(reference))
    difference = max(abs(result[k] - reference[k]) for k in captioning.RESULT_KEYS)
    assert difference <= 1e-9, f"{metric}: zoo differs from the official by {difference}"
    return {
        "metric": metric,
        "size": size,
        "official_s": official_s,
        "zoo_s": zoo_s,
        "note": f"METEOR {100 * result['METEOR']:.2f} %, max abs difference {difference:.0e}",
    }


def benchmark(quick: bool = False) -> list[dict]:
    """Rows {"metric", "size", "official_s", "zoo_s", "note"}; asserts parity on every key.

    Cold: each evaluator in a fresh process (both start METEOR's Java), alternated, best of
    `repeats`. Warm: in this process, where the zoo's METEOR is already running; the official
    starts its own at every call, as it always does.
    """
    games = list(splits.list_games("test", task="caption"))
    repeats = 1 if quick else 2
    if quick:
        games = games[:12]
    per_game = 2 * CAPTIONS_PER_HALF
    size = f"{len(games)} games, {per_game} GT + {per_game} predicted captions each"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        write_dataset(root, games)
        times = {"official": [], "zoo": []}
        for _ in range(repeats):
            for which in ("official", "zoo"):
                seconds, results = cold_run(which, root, len(games), 30)
                times[which].append(seconds)
                if which == "official":
                    reference = results
                else:
                    result = results
        rows.append(
            _row(
                "window 30 s, cold (fresh process)",
                size,
                min(times["official"]),
                min(times["zoo"]),
                reference,
                result,
            )
        )
        zoo_evaluate(root, games, 30)  # starts the zoo's METEOR in this process
        for window_size in (30, 5):
            zoo_s, result = timed(lambda w=window_size: zoo_evaluate(root, games, w))
            official_s, reference = timed(lambda w=window_size: official_evaluate(root, games, w))
            rows.append(
                _row(
                    f"window {window_size} s, zoo warm", size, official_s, zoo_s, reference, result
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 games instead of 98")
    parser.add_argument("--cold", choices=("official", "zoo"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--games", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:  # one timed evaluation for `cold_run`
        games = list(splits.list_games("test", task="caption"))[: args.games]
        evaluate = official_evaluate if args.cold == "official" else zoo_evaluate
        seconds, results = timed(lambda: evaluate(pathlib.Path(args.root), games, args.window))
        print(json.dumps([seconds, {k: float(v) for k, v in results.items()}]))
        return
    rows = benchmark(quick=args.quick)
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; seconds")
    print()
    print("| metric | size | official (s) | zoo (s) | speed-up | note |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['metric']} | {row['size']} | {row['official_s']:.1f} | {row['zoo_s']:.1f} "
            f"| {row['official_s'] / row['zoo_s']:.1f}x | {row['note']} |"
        )


if __name__ == "__main__":
    main()
