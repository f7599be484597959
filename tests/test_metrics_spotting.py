"""Average-mAP of action spotting: parity with the official SoccerNet evaluator on every key."""

import contextlib
import io
import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from SoccerNet.Evaluation import ActionSpotting
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from zoo.formats import spotting as formats
from zoo.formats.spotting import CLASSES_V2
from zoo.metrics import spotting

ALL_METRICS = ("loose", "tight", "at1", "at2", "at3", "at4", "at5")


def official(labels, predictions, metric, classes=CLASSES_V2, framerate=2):
    """The official evaluator, with the game list inferred from the label folder (or zip)."""
    with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars
        return ActionSpotting.evaluate(
            str(labels), str(predictions), dataset=None, metric=metric, framerate=framerate,
            EVENT_DICTIONARY={name: i for i, name in enumerate(classes)},
        )


def assert_same(reference, result):
    assert list(result) == list(reference)
    for key, expected in reference.items():
        if np.ndim(expected):
            assert isinstance(result[key], list) and len(result[key]) == len(expected), key
            assert all(isinstance(v, float) for v in result[key])
        else:
            assert isinstance(result[key], float), key
        np.testing.assert_allclose(result[key], expected, rtol=0, atol=1e-9, err_msg=key)


def write_game(root, game, annotations, predictions):
    labels = root / "labels" / game / "Labels-v2.json"
    labels.parent.mkdir(parents=True)
    labels.write_text(json.dumps({"UrlLocal": game, "annotations": annotations}))
    path = root / "predictions" / game / "results_spotting.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"UrlLocal": game, "predictions": predictions}))


def gt(half, ms, label, visibility="visible", position=True):
    seconds = min(ms // 1000, 99 * 60 + 59)  # gameTime has two minute digits
    entry = {"gameTime": f"{half} - {seconds // 60:02d}:{seconds % 60:02d}", "label": label,
             "team": "home", "visibility": visibility}
    if position:
        entry["position"] = str(ms)
    return entry


def pred(half, ms, label, confidence):
    return {"gameTime": "", "label": label, "position": str(ms), "half": str(half),
            "confidence": str(confidence)}


def random_events(rng, classes, num_gt, num_pred, half_ms=150_000, halves=(1, 2)):
    """GTs and predictions crowded into the first minutes of each half, so windows overlap."""
    annotations = []
    for _ in range(num_gt):
        annotations.append(gt(
            int(rng.choice(halves)), int(rng.integers(0, half_ms)), classes[rng.integers(len(classes))],
            "not shown" if rng.random() < 0.3 else "visible", position=rng.random() > 0.1,
        ))
    predictions = []
    for _ in range(num_pred):
        # Rounded scores make ties; 0, 1 and > 1 are all legal.
        confidence = rng.choice([0.0, 1.0, 1.7, round(float(rng.random()), 1), float(rng.random())])
        predictions.append(pred(int(rng.integers(1, 3)), int(rng.integers(0, half_ms)),
                                classes[rng.integers(len(classes))], confidence))
    return annotations, predictions


def write_edge_cases(root):
    """Two games holding every corner of the official semantics, plus random filler."""
    rng = np.random.default_rng(7)
    annotations, predictions = random_events(rng, CLASSES_V2[5:13], 40, 150, halves=(1,))
    annotations += [
        gt(1, 0, "Kick-off"),
        gt(1, 60_000, "Corner"),
        gt(1, 75_000, "Corner", "not shown"),
        # Two GTs in one frame: the later one (not shown) overwrites the first.
        gt(1, 40_000, "Foul"),
        gt(1, 40_400, "Foul", "not shown"),
        gt(1, 130_000, "Throw-in", position=False),  # frame from gameTime
        gt(1, 7_300_000, "Clearance"),  # beyond the vector: clipped to its last frame
        gt(1, 90_000, "Yellow card", "hidden?"),  # only "not shown" is unshown
        gt(1, 91_000, "Yellow card", "not shown"),
        gt(1, 100_000, "Offside"),  # frames 200 and 204: see the tied predictions below
        gt(1, 102_000, "Offside"),
        gt(1, 150_000, "Substitution"),  # frames 300 and 305: the nearest-GT boundary is 302
        gt(1, 152_500, "Substitution", "not shown"),
        gt(1, 170_000, "Red card"),
    ]  # half 2 of this game has no GT at all
    predictions += [
        pred(1, 59_500, "Corner", 0.9),
        pred(1, 60_500, "Corner", 0.9),  # tie with the previous one: the earlier frame wins
        pred(1, 75_000, "Corner", 0.4),
        pred(1, 75_500, "Corner", 1.5),  # above 1: counts at every threshold
        pred(1, 40_000, "Foul", 0.7),
        pred(1, 40_200, "Foul", 0.2),  # same frame: overwrites 0.7
        pred(1, 0, "Kick-off", 0.0),  # exactly 0 counts, at the first threshold only
        pred(1, 7_250_000, "Clearance", 0.8),  # beyond the vector
        pred(1, 7_199_500, "Clearance", 0.3),  # last frame of the vector, overwritten by 0.8
        pred(1, 129_000, "Throw-in", 0.6),
        pred(1, 130_000, "Throw-in", 0.3),
        pred(1, 131_000, "Throw-in", 0.6),
        pred(1, 90_500, "Yellow card", 0.5),
        pred(1, 20_000, "Penalty", 0.5),
        pred(1, 20_000, "Penalty", -1),  # a negative score removes the prediction
        pred(1, 170_000, "Red card", 0.9),
        pred(1, 170_200, "Red card", -0.5),  # ... even a true positive
        # Tied at 2 frames from the GT at 200: the earlier frame goes to it, leaving 202 to the GT
        # at 204 (from at2 on); the other way round, the GT at 204 would find nothing.
        pred(1, 99_000, "Offside", 0.5),
        pred(1, 101_000, "Offside", 0.5),
        pred(1, 151_000, "Substitution", 0.7),  # frame 302: nearest GT is the unshown one at 305
        pred(2, 60_000, "Corner", 0.8),  # a half without GT: these pool as unshown
        pred(2, 3_000, "Goal", 0.1),
    ]
    write_game(root, "england_epl/2015-2016/game A", annotations, predictions)
    annotations, predictions = random_events(rng, CLASSES_V2, 80, 300)
    annotations.append(gt(2, 7_199_999, "Red card", "not shown"))
    predictions.append(pred(2, 7_199_999, "Red card", 0.33))
    write_game(root, "spain_laliga/2016-2017/game B", annotations, predictions)  # no Goal preds
    return root


@pytest.fixture(scope="module")
def edge_cases(tmp_path_factory):
    return write_edge_cases(tmp_path_factory.mktemp("edge_cases"))


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_equals_official_on_edge_cases(edge_cases, metric):
    result = spotting.evaluate(edge_cases / "labels", edge_cases / "predictions", metric=metric)
    assert_same(official(edge_cases / "labels", edge_cases / "predictions", metric), result)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_official_on_random_games(tmp_path, seed):
    """Random games over a random subset of classes in a random order (labels outside the subset
    are skipped, as the official evaluator does); a third of the seeds at 1 fps."""
    rng = np.random.default_rng(seed)
    classes = [CLASSES_V2[i] for i in rng.permutation(17)[:5]]
    framerate = 1 if seed == 2 else 2
    for g in range(3):
        write_game(tmp_path, f"league/season/game {g}",
                   *random_events(rng, classes + ["Goal"], rng.integers(0, 40), rng.integers(0, 120)))
    for metric in ALL_METRICS:
        result = spotting.evaluate(
            tmp_path / "labels", tmp_path / "predictions", metric=metric, classes=classes,
            framerate=framerate, on_unknown_label="ignore",
        )
        reference = official(tmp_path / "labels", tmp_path / "predictions", metric, classes, framerate)
        assert_same(reference, result)


def test_equals_official_on_zip_files(edge_cases, tmp_path):
    zips = {}
    for name in ("labels", "predictions"):
        zips[name] = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(zips[name], "w") as archive:
            for file in (edge_cases / name).rglob("*.json"):
                archive.write(file, file.relative_to(edge_cases / name).as_posix())
    result = spotting.evaluate(zips["labels"], zips["predictions"], metric="at2")
    assert_same(official(zips["labels"], zips["predictions"], "at2"), result)
    mixed = spotting.evaluate(edge_cases / "labels", zips["predictions"], metric="at2")
    assert mixed == result


def official_vectors(edge_cases, game):
    labels = json.loads((edge_cases / "labels" / game / "Labels-v2.json").read_text())
    predictions = json.loads((edge_cases / "predictions" / game / "results_spotting.json").read_text())
    return (
        np.stack(ActionSpotting.label2vector(labels, EVENT_DICTIONARY=EVENT_DICTIONARY_V2)),
        np.stack(ActionSpotting.predictions2vector(predictions, EVENT_DICTIONARY=EVENT_DICTIONARY_V2)),
    )


def read_vectors(edge_cases, game, framerate=2):
    labels = spotting.label_vectors(
        formats.read_labels(edge_cases / "labels" / game / "Labels-v2.json"), framerate=framerate
    )
    arrays = formats.read_predictions(edge_cases / "predictions" / game / "results_spotting.json")
    return labels, spotting.prediction_vectors(*arrays, framerate=framerate)


GAMES = ["england_epl/2015-2016/game A", "spain_laliga/2016-2017/game B"]


@pytest.mark.parametrize("game", GAMES)
def test_vectors_equal_the_official_ones(edge_cases, game):
    labels, predictions = read_vectors(edge_cases, game)
    official_labels, official_predictions = official_vectors(edge_cases, game)
    assert labels.shape == predictions.shape == (2, 14400, 17)
    np.testing.assert_array_equal(labels, official_labels)
    np.testing.assert_array_equal(predictions, official_predictions)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_array_api_equals_evaluate(edge_cases, metric):
    vectors = [read_vectors(edge_cases, game) for game in GAMES]
    result = spotting.average_map([l for l, _ in vectors], [p for _, p in vectors], metric=metric)
    assert result == spotting.evaluate(edge_cases / "labels", edge_cases / "predictions", metric=metric)


def test_unshown_factor_17_13_applies_to_several_tolerances_only(edge_cases):
    """tight = trapezoid over at1..at5; its a_mAP_unshown carries the official 17/13 factor."""
    vectors = [read_vectors(edge_cases, game) for game in GAMES]
    labels, predictions = [l for l, _ in vectors], [p for _, p in vectors]
    single = [spotting.average_map(labels, predictions, metric=f"at{k}") for k in range(1, 6)]
    tight = spotting.average_map(labels, predictions, metric="tight")

    def trapezoid(key):
        values = np.array([s[key] for s in single])
        return ((values[:-1] + values[1:]) / 2).sum(axis=0) / 4

    np.testing.assert_allclose(tight["a_mAP"], trapezoid("a_mAP"), atol=1e-12)
    np.testing.assert_allclose(tight["a_mAP_per_class_unshown"], trapezoid("a_mAP_per_class_unshown"),
                               atol=1e-12)
    np.testing.assert_allclose(tight["a_mAP_unshown"], trapezoid("a_mAP_unshown") * 17 / 13, atol=1e-12)
    assert tight["a_mAP_unshown"] != pytest.approx(trapezoid("a_mAP_unshown"))


def test_perfect_predictions_score_one():
    rng = np.random.default_rng(0)
    labels = np.zeros((2, 14400, 17))
    frames = rng.choice(14400, size=(17, 6), replace=False)
    for c in range(17):
        labels[0, frames[c], c] = 1
    labels[0, frames[0, 0], 0] = -1
    predictions = np.where(labels != 0, 1.0, -1.0)
    result = spotting.average_map([labels], [predictions], metric="tight")
    assert result["a_mAP"] == 1.0 and result["a_mAP_visible"] == 1.0
    assert result["a_mAP_per_class_unshown"][0] == 1.0


def test_missing_prediction_file_names_the_game(edge_cases, tmp_path):
    predictions = tmp_path / "predictions"
    game = GAMES[1]
    (predictions / game).mkdir(parents=True)
    (predictions / game / "results_spotting.json").write_text(
        (edge_cases / "predictions" / game / "results_spotting.json").read_text()
    )
    with pytest.raises(FileNotFoundError, match="1 game.*no results_spotting.json") as error:
        spotting.evaluate(edge_cases / "labels", predictions)
    assert GAMES[0] in str(error.value)
    # Restricting the games to those predicted works.
    result = spotting.evaluate(edge_cases / "labels", predictions, games=[game], metric="at1")
    vectors = read_vectors(edge_cases, game)
    assert result == spotting.average_map([vectors[0]], [vectors[1]], metric="at1")


def test_bad_arguments_fail_loudly(edge_cases, tmp_path):
    with pytest.raises(ValueError, match="'tigth'.*loose.*tight.*at1.*at5"):
        spotting.evaluate(edge_cases / "labels", edge_cases / "predictions", metric="tigth")
    with pytest.raises(FileNotFoundError):
        spotting.evaluate(tmp_path / "nowhere", edge_cases / "predictions")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no game with Labels-v2.json"):
        spotting.evaluate(tmp_path / "empty", edge_cases / "predictions")
    labels = np.zeros((2, 14400, 17))
    with pytest.raises(ValueError, match="shape"):
        spotting.average_map([labels], [np.zeros((2, 100, 17))])
    with pytest.raises(ValueError, match="-1, 0 or \\+1"):
        spotting.average_map([labels + 0.5], [labels])
    with pytest.raises(ValueError, match="not in classes"):
        spotting.label_vectors([formats.Annotation(1, 0, 0, "Dribble", "visible", "")])


def test_games_may_name_an_official_split(edge_cases):
    with pytest.raises(FileNotFoundError, match="100 game.*no Labels-v2.json"):
        spotting.evaluate(edge_cases / "labels", edge_cases / "predictions", games="test")


def test_bad_prediction_file_is_named(edge_cases, tmp_path):
    predictions = tmp_path / "predictions"
    for game in GAMES:
        (predictions / game).mkdir(parents=True)
        (predictions / game / "results_spotting.json").write_text(
            json.dumps({"predictions": [pred(1, 1000, "Goal", 0.5), pred(1, "31500.5", "Goal", 0.5)]})
        )
    with pytest.raises(formats.SpottingFormatError, match="game A/results_spotting.json.*31500.5"):
        spotting.evaluate(edge_cases / "labels", predictions)


def test_cli_prints_a_table(edge_cases, capsys):
    args = ["--labels", str(edge_cases / "labels"), "--predictions", str(edge_cases / "predictions"),
            "--metric", "tight"]
    assert spotting.main(args) == 0
    out = capsys.readouterr().out
    result = spotting.evaluate(edge_cases / "labels", edge_cases / "predictions", metric="tight")
    assert "Average-mAP (tight)" in out
    assert f"{100 * result['a_mAP']:.2f}" in out and f"{100 * result['a_mAP_unshown']:.2f}" in out
    for name in CLASSES_V2:
        assert name in out


def test_cli_runs_as_a_module(edge_cases):
    out = subprocess.run(
        [sys.executable, "-m", "zoo.metrics.spotting", "--labels", str(edge_cases / "labels"),
         "--predictions", str(edge_cases / "predictions"), "--metric", "at1", "--framerate", "2"],
        check=True, capture_output=True, text=True, cwd=pathlib.Path(__file__).parents[1],
    ).stdout
    assert "Average-mAP (at1)" in out and "Yellow->red card" in out
