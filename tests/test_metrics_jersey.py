"""The jersey-number metric equals the official evaluator: its accuracy and what it refuses."""

import json
import re
from collections import Counter

import numpy as np
import pytest

from zoo.formats.jersey import JerseyFormatError
from zoo.metrics import jersey

# The official evaluator imports scikit-learn (not a dependency of the SoccerNet package itself).
official = pytest.importorskip("SoccerNet.Evaluation.JerseyNumber")


def write(tmp_path, truth, predictions, *, raw=False):
    gt, pred = tmp_path / "test_gt.json", tmp_path / "predictions.json"
    gt.write_text(json.dumps(truth))
    pred.write_text(predictions if raw else json.dumps(predictions))
    return gt, pred


def random_case(rng, num_tracklets):
    """Ground truth with ~30 % illegible tracklets; predictions right ~70 % of the time, with
    illegible/legible swaps, out-of-range numbers, extra tracklets and a shuffled key order."""
    ids = rng.choice(10 * num_tracklets, num_tracklets, replace=False)
    numbers = np.where(rng.random(num_tracklets) < 0.3, -1, rng.integers(0, 100, num_tracklets))
    truth = {str(i): int(n) for i, n in zip(ids, numbers)}
    predicted = numbers.copy()
    wrong = rng.random(num_tracklets) > 0.7
    predicted[wrong] = rng.choice([-1, *range(100), 100, 123, -7], wrong.sum())
    predictions = {str(i): int(n) for i, n in zip(ids, predicted)}
    for extra in range(int(rng.integers(0, 4))):
        predictions[f"extra{extra}"] = int(rng.integers(-1, 100))
    keys = list(predictions)
    rng.shuffle(keys)
    return truth, {k: predictions[k] for k in keys}


@pytest.mark.parametrize("seed", range(16))
def test_accuracy_equals_official(tmp_path, seed):
    rng = np.random.default_rng(seed)
    num_tracklets = int(rng.integers(1, 40)) if seed % 4 == 0 else int(rng.integers(40, 1500))
    gt, pred = write(tmp_path, *random_case(rng, num_tracklets))
    expected = official.evaluate(str(gt), str(pred))["Accuracy"]
    got = jersey.evaluate(gt, pred)
    assert abs(got["Accuracy"] - expected) <= 1e-9
    assert got["Accuracy"] == expected  # an exact count / count, both sides
    assert got["tracklets"] == num_tracklets


@pytest.mark.parametrize(
    "truth, predicted",
    [
        ([7], [7]),
        ([7], [-1]),
        ([-1, -1, -1], [-1, -1, -1]),
        ([-1, -1, 4], [4, 4, 4]),
        ([1, 2, 3, 4], [4, 3, 2, 1]),
        ([0, 99, -1], [0, 99, 100]),
        ([5, 5], [-1, -1]),
    ],
)
def test_edge_cases_equal_official(tmp_path, truth, predicted):
    names = ["a", "17", "003", "x_y"][: len(truth)] if len(truth) <= 4 else None
    names = names or [str(i) for i in range(len(truth))]
    gt, pred = write(tmp_path, dict(zip(names, truth)), dict(zip(names, predicted)))
    assert (
        jersey.evaluate(gt, pred)["Accuracy"] == official.evaluate(str(gt), str(pred))["Accuracy"]
    )


def test_breakdown_known_values(tmp_path):
    truth = {"1": 10, "2": 10, "3": 10, "4": -1, "5": -1, "6": 7, "7": 7, "8": 4}
    predicted = {"1": 10, "2": 16, "3": 16, "4": -1, "5": 3, "6": -1, "7": 1, "8": 4}
    got = jersey.evaluate(*write(tmp_path, truth, predicted))
    assert got["Accuracy"] == 3 / 8 and got["correct"] == 3 and got["tracklets"] == 8
    assert got["legibility"] == {
        "illegible_as_illegible": 1,
        "illegible_as_number": 1,
        "legible_as_illegible": 1,
        "legible_right_number": 2,
        "legible_wrong_number": 3,
    }
    assert got["legible_accuracy"] == 2 / 6 and got["illegible_accuracy"] == 1 / 2
    assert got["per_class_accuracy"] == {-1: 0.5, 4: 1.0, 7: 0.0, 10: 1 / 3}
    assert got["per_class_tracklets"] == {-1: 2, 4: 1, 7: 2, 10: 3}
    # (10 -> 16) twice comes first; single errors follow by true then predicted number.
    assert got["most_confused"] == [
        {"truth": 10, "predicted": 16, "tracklets": 2},
        {"truth": -1, "predicted": 3, "tracklets": 1},
        {"truth": 7, "predicted": -1, "tracklets": 1},
        {"truth": 7, "predicted": 1, "tracklets": 1},
    ]
    assert (
        len(jersey.evaluate(*write(tmp_path, truth, predicted), top_confusions=1)["most_confused"])
        == 1
    )


def test_array_api_equals_file_api(tmp_path):
    rng = np.random.default_rng(7)
    truth, predictions = random_case(rng, 300)
    from_files = jersey.evaluate(*write(tmp_path, truth, predictions))
    from_arrays = jersey.accuracy_scores(
        np.array(list(truth.values())), np.array([predictions[k] for k in truth])
    )
    assert from_arrays == from_files
    assert set(from_files) == set(jersey.RESULT_KEYS)


def test_array_api_refusals():
    with pytest.raises(ValueError, match="no tracklet"):
        jersey.accuracy_scores(np.zeros(0, int), np.zeros(0, int))
    with pytest.raises(ValueError, match="3 true numbers but 2"):
        jersey.accuracy_scores([1, 2, 3], [1, 2])
    with pytest.raises(TypeError, match="integer"):
        jersey.accuracy_scores([1.0, 2.0], [1, 2])


def official_error(gt, pred):
    with pytest.raises(AssertionError) as caught:
        official.evaluate(str(gt), str(pred))
    return str(caught.value)


@pytest.mark.parametrize(
    "value, words",
    [("10", "string; write the integer 10"), (10.0, "float; write the integer 10"), (None, "null")],
)
def test_non_int_refused_like_official(tmp_path, value, words):
    truth = {"1": 3, "2": 10, "3": -1}
    gt, pred = write(tmp_path, truth, {"1": 3, "2": value, "3": -1})
    assert "player 2" in official_error(gt, pred)
    with pytest.raises(JerseyFormatError, match=words) as caught:
        jersey.evaluate(gt, pred)
    assert str(pred) in str(caught.value) and "tracklet '2'" in str(caught.value)


def test_first_failing_tracklet_in_groundtruth_order_is_named(tmp_path):
    rng = np.random.default_rng(3)
    for _ in range(5):
        truth, predictions = random_case(rng, 50)
        broken = rng.choice(list(truth), 3, replace=False)
        for i, tracklet in enumerate(broken):
            if i % 2:
                del predictions[tracklet]
            else:
                predictions[tracklet] = str(predictions[tracklet])
        gt, pred = write(tmp_path, truth, predictions)
        named = re.search(r"player (\S+?)[ .]", official_error(gt, pred))[1]
        with pytest.raises(JerseyFormatError) as caught:
            jersey.evaluate(gt, pred)
        assert f"tracklet '{named}'" in str(caught.value)
        missing = named not in predictions
        assert ("no number for tracklet" in str(caught.value)) == missing


def test_missing_tracklet_refused(tmp_path):
    gt, pred = write(tmp_path, {"1": 3, "2": 10}, {"1": 3})
    assert "player 2 is missing" in official_error(gt, pred)
    with pytest.raises(JerseyFormatError, match=r"no number for tracklet '2'.*\(2\)"):
        jersey.evaluate(gt, pred)


def test_stricter_than_official_on_booleans_and_duplicate_keys(tmp_path):
    # The official evaluator scores `true` as the number 1 (isinstance(True, int)); a boolean is
    # a writer's bug, refused here.
    gt, pred = write(tmp_path, {"1": 1, "2": 0}, {"1": True, "2": False})
    assert official.evaluate(str(gt), str(pred))["Accuracy"] == 1.0
    with pytest.raises(JerseyFormatError, match="boolean"):
        jersey.evaluate(gt, pred)
    # A key given twice: the official reader keeps the last; refused here.
    gt, pred = write(tmp_path, {"1": 1}, '{"1": 5, "1": 1}', raw=True)
    assert official.evaluate(str(gt), str(pred))["Accuracy"] == 1.0
    with pytest.raises(JerseyFormatError, match="more than once"):
        jersey.evaluate(gt, pred)


def test_bad_groundtruth_and_predictions_name_the_file(tmp_path):
    gt, pred = write(tmp_path, {"1": 3}, [3])
    with pytest.raises(JerseyFormatError, match="expected a JSON object") as caught:
        jersey.evaluate(gt, pred)
    assert str(pred) in str(caught.value)
    gt, pred = write(tmp_path, {"1": "3"}, {"1": 3})
    with pytest.raises(JerseyFormatError, match="string") as caught:
        jersey.evaluate(gt, pred)
    assert str(gt) in str(caught.value)
    gt, pred = write(tmp_path, {"1": 3}, '{"1": 3', raw=True)
    with pytest.raises(JerseyFormatError, match="not valid JSON"):
        jersey.evaluate(gt, pred)


def test_cli_prints_the_table(tmp_path, capsys):
    truth = {"1": 10, "2": 10, "3": -1, "4": 8}
    gt, pred = write(tmp_path, truth, {"1": 10, "2": 16, "3": -1, "4": -1})
    assert jersey.main([str(gt), str(pred)]) == 0
    out = capsys.readouterr().out
    accuracy = official.evaluate(str(gt), str(pred))["Accuracy"]
    assert f"| Accuracy | {100 * accuracy:.2f} % (2 / 4) |" in out
    assert "| 10 | 16 | 1 |" in out  # the confused pair
    assert "| 10 | 2 | 50.00 % |" in out  # the per-class row


def test_breakdown_equals_a_plain_count():
    rng = np.random.default_rng(11)
    truth = np.where(rng.random(2000) < 0.3, -1, rng.integers(0, 30, 2000))
    predicted = np.where(rng.random(2000) < 0.6, truth, rng.choice([-1, 3, 7, 150, -9], 2000))
    got = jersey.accuracy_scores(truth, predicted, top_confusions=15)
    errors = Counter((int(t), int(p)) for t, p in zip(truth, predicted) if t != p)
    ranked = sorted(errors.items(), key=lambda item: (-item[1], item[0]))[:15]
    assert [(c["truth"], c["predicted"], c["tracklets"]) for c in got["most_confused"]] == [
        (t, p, n) for (t, p), n in ranked
    ]
    for number in np.unique(truth):
        mine = truth == number
        assert got["per_class_accuracy"][int(number)] == np.mean(predicted[mine] == number)
        assert got["per_class_tracklets"][int(number)] == mine.sum()
