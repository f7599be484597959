"""Jersey number accuracy: the official `SoccerNet.Evaluation.JerseyNumber.evaluate` against
`zoo.metrics.jersey.evaluate`, on the same ground-truth and prediction files.

The size is the official challenge set's, 1,211 tracklets (about a third of them with -1, "not
visible"), with predictions right about 80 % of the time. Both evaluators read both files on
every call; the accuracies are checked equal. The zoo's evaluator also computes the per-class
accuracies and the confusion summary, which the official one does not.

    python benchmarks/metrics_jersey.py [--quick]     (or through benchmarks/metrics.py)
"""

from __future__ import annotations

import json
import pathlib
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from metrics import time_interleaved  # noqa: E402

from zoo.metrics import jersey  # noqa: E402


def write_files(folder: pathlib.Path, num_tracklets: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(num_tracklets) < 0.35, -1, rng.integers(1, 100, num_tracklets))
    predicted = truth.copy()
    wrong = rng.random(num_tracklets) < 0.2
    predicted[wrong] = rng.integers(-1, 100, wrong.sum())
    ids = [str(i) for i in range(num_tracklets)]
    gt, predictions = folder / "challenge_gt.json", folder / "predictions.json"
    gt.write_text(json.dumps(dict(zip(ids, truth.tolist()))))
    predictions.write_text(json.dumps(dict(zip(ids, predicted.tolist()))))
    return gt, predictions


def benchmark(quick: bool = False) -> list[dict]:
    from SoccerNet.Evaluation import JerseyNumber as official  # needs scikit-learn

    rows = []
    for num_tracklets in (1211,) if quick else (1211, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            gt, predictions = write_files(pathlib.Path(tmp), num_tracklets)
            expected = official.evaluate(str(gt), str(predictions))["Accuracy"]
            got = jersey.evaluate(gt, predictions)
            if got["Accuracy"] != expected:
                raise AssertionError(f"Accuracy: zoo {got['Accuracy']} != official {expected}")
            small = num_tracklets < 10_000
            times = time_interleaved(
                {
                    "official": lambda gt=gt, p=predictions: official.evaluate(str(gt), str(p)),
                    "zoo": lambda gt=gt, p=predictions: jersey.evaluate(gt, p),
                },
                repeats=(20 if quick else 50) if small else 5,
                warmup=3 if small else 1,
            )
        rows.append(
            {
                "metric": "Jersey accuracy (files)",
                "size": f"{num_tracklets} tracklets"
                + (" (challenge set)" if num_tracklets == 1211 else ""),
                "official_s": times["official"],
                "zoo_s": times["zoo"],
                "note": f"accuracy {100 * got['Accuracy']:.2f}, equal; zoo also computes per-class "
                "accuracy and confusions; JSON reading included",
            }
        )
    return rows


if __name__ == "__main__":
    import metrics

    sys.exit(metrics.main(["--only", "jersey", *sys.argv[1:]]))
