"""Accuracy of SoccerNet jersey number recognition, equal to the official evaluator.

The official `SoccerNet.Evaluation.JerseyNumber.evaluate` is the specification: for every
tracklet of the ground truth, in file order, the prediction file must hold an entry whose value is
an int, else it fails (an AssertionError there); then

  Accuracy = sklearn.metrics.accuracy_score(truth, predicted)
           = #tracklets whose predicted number equals the true one / #tracklets

where -1 ("not visible") is a class like any number. Predictions for tracklets that are not in
the ground truth are ignored, and a predicted number outside -1 and 0..99 is simply wrong. Both are
kept so here; `zoo.formats.jersey.validate_submission` reports them before a submission.

Refusals, as the official evaluator's but with a `JerseyFormatError` naming the file and the first
failing tracklet (in ground-truth order, the one the official evaluator names): a missing tracklet,
a value that is not an integer. Stricter than the official code, on files it would score: a JSON
boolean (Python's `isinstance(True, int)` lets `true` through there, scored as 1), a duplicated
key (silently the last one there), an integer beyond 64 bits, and a ground truth that is not an
object of -1 / 0..99 numbers.

Beyond "Accuracy", the result has keys that say where the errors are:
  tracklets, correct                    counts behind Accuracy
  legible_accuracy, illegible_accuracy  accuracy over the tracklets with a visible number / with
                                        -1 (NaN when there is none)
  legibility                            counts of the legible/illegible confusion:
                                        illegible_as_illegible, illegible_as_number,
                                        legible_as_illegible, legible_right_number,
                                        legible_wrong_number
  per_class_accuracy, per_class_tracklets  per true number (-1 included): share predicted right,
                                        and how many tracklets have it
  most_confused                         the most frequent (truth, predicted) errors, most first:
                                        [{"truth", "predicted", "tracklets"}]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

import numpy as np

from zoo.cli import user_errors
from zoo.formats import jersey as formats

RESULT_KEYS = (
    "Accuracy",
    "tracklets",
    "correct",
    "legible_accuracy",
    "illegible_accuracy",
    "legibility",
    "per_class_accuracy",
    "per_class_tracklets",
    "most_confused",
)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def accuracy_scores(truth, predicted, *, top_confusions: int = 10) -> dict:
    """Scores of predicted numbers against true ones, without files.

    truth, predicted: [tracklets] integers, -1 for "not visible", same order. Returns the dict
    described in the module docstring; "Accuracy" equals the official value.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    for name, values in (("truth", truth), ("predicted", predicted)):
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise TypeError(
                f"{name} must be a 1-D integer array, got {values.dtype} of shape {values.shape}"
            )
    if truth.shape != predicted.shape:
        raise ValueError(f"{len(truth)} true numbers but {len(predicted)} predicted ones")
    if len(truth) == 0:
        raise ValueError("no tracklet to score")
    if top_confusions < 0:
        raise ValueError(f"top_confusions must be >= 0, got {top_confusions}")
    truth, predicted = truth.astype(np.int64), predicted.astype(np.int64)
    total = len(truth)
    correct = truth == predicted
    num_correct = int(np.count_nonzero(correct))

    legible_truth = truth != formats.ILLEGIBLE
    legible_prediction = predicted != formats.ILLEGIBLE
    legibility = {
        "illegible_as_illegible": int(np.count_nonzero(~legible_truth & ~legible_prediction)),
        "illegible_as_number": int(np.count_nonzero(~legible_truth & legible_prediction)),
        "legible_as_illegible": int(np.count_nonzero(legible_truth & ~legible_prediction)),
        "legible_right_number": int(np.count_nonzero(legible_truth & correct)),
        "legible_wrong_number": int(
            np.count_nonzero(legible_truth & legible_prediction & ~correct)
        ),
    }
    num_legible = int(np.count_nonzero(legible_truth))
    num_illegible = total - num_legible

    classes, class_of, class_counts = np.unique(truth, return_inverse=True, return_counts=True)
    class_correct = np.bincount(class_of, weights=correct, minlength=len(classes))

    # (truth, predicted) of the errors as one code each: class index * #predicted values + index
    # of the predicted value, so one 1-D unique counts the pairs, sorted by truth then prediction.
    wrong_predictions, wrong_prediction_of = np.unique(predicted[~correct], return_inverse=True)
    codes = class_of[~correct] * len(wrong_predictions) + wrong_prediction_of
    pair_codes, pair_counts = np.unique(codes, return_counts=True)
    pair_truth = classes[pair_codes // max(len(wrong_predictions), 1)]
    pair_predicted = wrong_predictions[pair_codes % max(len(wrong_predictions), 1)]
    order = np.argsort(-pair_counts, kind="stable")[:top_confusions]  # most frequent first

    return {
        # an exact int / int division, as sklearn's mean of the 0/1 correctness is
        "Accuracy": num_correct / total,
        "tracklets": total,
        "correct": num_correct,
        "legible_accuracy": legibility["legible_right_number"] / num_legible
        if num_legible
        else math.nan,
        "illegible_accuracy": legibility["illegible_as_illegible"] / num_illegible
        if num_illegible
        else math.nan,
        "legibility": legibility,
        "per_class_accuracy": {
            int(c): float(k) / int(n) for c, k, n in zip(classes, class_correct, class_counts)
        },
        "per_class_tracklets": {int(c): int(n) for c, n in zip(classes, class_counts)},
        "most_confused": [
            {
                "truth": int(pair_truth[i]),
                "predicted": int(pair_predicted[i]),
                "tracklets": int(pair_counts[i]),
            }
            for i in order
        ],
    }


def evaluate(
    groundtruth_file: str | os.PathLike,
    predictions_file: str | os.PathLike,
    *,
    top_confusions: int = 10,
) -> dict:
    """Score a prediction file against `<split>_gt.json`, as the official evaluator.

    Returns the `accuracy_scores` dict; "Accuracy" equals the official value. Raises
    `JerseyFormatError` naming the file (and the tracklet) for what the module docstring lists.
    """
    truth = formats.read_groundtruth(groundtruth_file)
    document = formats.load_json(predictions_file)
    if not isinstance(document, dict):
        raise formats.JerseyFormatError(
            predictions_file, "expected a JSON object mapping tracklet ids to numbers"
        )
    predicted = list(map(document.get, truth))  # None for a missing tracklet
    try:
        valid = not set(map(type, predicted)) - {int}  # a bool's type is bool
        numbers = np.array(predicted, np.int64) if valid else None
    except OverflowError:
        valid = False
    if not valid:
        _raise_first_problem(truth, document, groundtruth_file, predictions_file)
    return accuracy_scores(
        np.fromiter(truth.values(), np.int64, count=len(truth)),
        numbers,
        top_confusions=top_confusions,
    )


def _raise_first_problem(truth: dict, document: dict, groundtruth_file, predictions_file):
    """Raise for the first tracklet of the ground truth (in its order) the predictions fail."""
    for tracklet in truth:
        if tracklet not in document:
            raise formats.JerseyFormatError(
                predictions_file,
                f"no number for tracklet {tracklet!r} of {groundtruth_file}; the file needs one "
                f"entry per tracklet of the ground truth ({len(truth)}), -1 when not visible",
            )
        number = document[tracklet]
        if type(number) is not int:
            raise formats.JerseyFormatError(
                predictions_file, f"tracklet {tracklet!r}: {formats.describe_value(number)}"
            )
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise formats.JerseyFormatError(
                predictions_file, f"tracklet {tracklet!r}: {number} is no jersey number"
            )
    raise AssertionError("no problem found")  # unreachable: the caller found one


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.2f} %"


def format_table(results: dict, *, per_class: bool = True) -> str:
    """Markdown tables of an `evaluate` result: the scores, the confusions, the classes."""
    legibility = results["legibility"]
    lines = [
        "| metric | value |",
        "|---|---:|",
        f"| Accuracy | {_percent(results['Accuracy'])} ({results['correct']} / {results['tracklets']}) |",
        f"| legible tracklets: right number | {_percent(results['legible_accuracy'])} |",
        f"| illegible tracklets: predicted -1 | {_percent(results['illegible_accuracy'])} |",
        "",
        "| truth \\ prediction | -1 | a number |",
        "|---|---:|---:|",
        f"| -1 | {legibility['illegible_as_illegible']} | {legibility['illegible_as_number']} |",
        (
            f"| a number | {legibility['legible_as_illegible']} | "
            f"{legibility['legible_right_number']} right, "
            f"{legibility['legible_wrong_number']} wrong |"
        ),
    ]
    if results["most_confused"]:
        lines += ["", "| most confused: truth | predicted | tracklets |", "|---:|---:|---:|"]
        lines += [
            f"| {c['truth']} | {c['predicted']} | {c['tracklets']} |"
            for c in results["most_confused"]
        ]
    if per_class:
        lines += ["", "| number | tracklets | accuracy |", "|---:|---:|---:|"]
        lines += [
            f"| {number} | {results['per_class_tracklets'][number]} | {_percent(accuracy)} |"
            for number, accuracy in results["per_class_accuracy"].items()
        ]
    return "\n".join(lines)


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.jersey",
        description="SoccerNet jersey number accuracy (equal to the official evaluator).",
    )
    parser.add_argument("groundtruth", help="<split>_gt.json")
    parser.add_argument("predictions", help="the prediction JSON file")
    parser.add_argument("--top", type=int, default=10, help="how many confused pairs to list")
    parser.add_argument("--no-per-class", action="store_true", help="leave out the class table")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    results = evaluate(args.groundtruth, args.predictions, top_confusions=args.top)
    print(format_table(results, per_class=not args.no_per_class))
    return 0


if __name__ == "__main__":
    sys.exit(main())
