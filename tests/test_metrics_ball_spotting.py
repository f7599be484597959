"""Ball action spotting mAP@1 (2023, 2024) and Team mAP@1 (2025): parity with the official code.

Ball mAP@1 is the SoccerNet package's `evaluate`, called as the E2E-Spot wrapper calls it
(`jhong93/spot:eval_soccernet_ball.py`): split, dataset "Ball", 25 fps, `Labels-ball.json`, and for
the 12 classes of 2024 an explicit `EVENT_DICTIONARY`.

The 2025 Team mAP has no package: its official code lives in `SoccerNet/sn-teamspotting`
(`util/eval.py`, `util/score.py`). `official_team_map` below is this test's own reference for it:
it builds the official dense vectors (one 120-minute vector per game, 2*C columns LABEL-left /
LABEL-right, labels of half 1 only, the predictions' half ignored), the nearest-GT arrays, calls
the package's `average_mAP` on them, and weights left and right AP by the summed label vectors,
"not shown" labels counting -1, as the official evaluator does.
"""

import contextlib
import io
import json
import math
import warnings

import numpy as np
import pytest
from SoccerNet.Evaluation import ActionSpotting

from zoo.formats import spotting as formats
from zoo.formats.splits import list_games
from zoo.formats.spotting import (
    BALL_LABEL_FILE,
    CLASSES_BALL,
    CLASSES_BALL_2023,
    PREDICTION_FILE,
    SpottingFormatError,
)
from zoo.metrics import spotting, team_spotting

FPS = 25
SIZE = 120 * 60 * FPS
TEST_GAMES = list_games("test", "ball")  # the games the official evaluate(split="test") reads
DELTAS = {"at1": [1], "at2": [2], "at3": [3], "at4": [4], "at5": [5], "tight": [1, 2, 3, 4, 5],
          "loose": list(range(5, 65, 5))}


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------

def game_time(half, ms):
    seconds = ms // 1000
    return f"{half} - {seconds // 60:02d}:{seconds % 60:02d}"


def gt(ms, label, team="left", visibility="visible", half=1, position=True):
    entry = {"gameTime": game_time(half, ms), "label": label, "team": team,
             "visibility": visibility}
    if position:
        entry["position"] = str(ms)
    return entry


def pred(ms, label, confidence, team="left", half=1):
    entry = {"gameTime": game_time(half, ms), "label": label, "position": str(ms),
             "half": str(half), "confidence": str(confidence)}
    if team is not None:
        entry["team"] = team
    return entry


def write_game(root, game, annotations, predictions):
    path = root / "labels" / game / BALL_LABEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"UrlLocal": game, "annotations": annotations}))
    path = root / "predictions" / game / PREDICTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"UrlLocal": game, "predictions": predictions}))


def random_game(rng, classes, num_gt, num_pred, *, span_ms=40_000, halves=(1,), teams=True):
    """Events crowded into `span_ms` so that 1 s windows overlap; ties, 0, 1 and > 1 scores.

    Most GTs get a detection within about +-0.6 s (a quarter of them with the other team), the
    rest of the predictions fall anywhere.
    """
    annotations, predictions = [], []
    for _ in range(num_gt):
        annotations.append(gt(
            int(rng.integers(0, span_ms)), classes[rng.integers(len(classes))],
            team=str(rng.choice(["left", "right"])),
            visibility="not shown" if rng.random() < 0.25 else "visible",
            half=int(rng.choice(halves)), position=rng.random() > 0.05,
        ))

    def score():
        return rng.choice([0.0, 1.0, 1.3, round(float(rng.random()), 1), float(rng.random())])

    def side(team):
        if not teams:
            return None
        return team if rng.random() < 0.75 else str(rng.choice(["left", "right"]))

    for a in annotations:
        if rng.random() < 0.7:
            ms = max(0, int(a.get("position", 0)) + int(rng.integers(-600, 600)))
            predictions.append(pred(ms, a["label"], score(), side(a["team"]), half=int(a["gameTime"][0])))
    for _ in range(num_pred):
        predictions.append(pred(
            int(rng.integers(0, span_ms)), classes[rng.integers(len(classes))], score(),
            team=side("left"), half=int(rng.choice(halves)),
        ))
    rng.shuffle(predictions)
    return annotations, predictions


def assert_same(reference, result, keys):
    assert list(result) == list(keys)
    for key in keys:
        expected = reference[key]
        if np.ndim(expected):
            assert isinstance(result[key], list) and len(result[key]) == len(expected), key
            assert all(isinstance(v, float) for v in result[key]), key
        else:
            assert isinstance(result[key], float), key
        np.testing.assert_allclose(result[key], expected, rtol=0, atol=1e-9, err_msg=key)


# ------------------------------------------------------------------------------------------------
# Ball mAP@1, 2023 and 2024: the SoccerNet package itself is the reference
# ------------------------------------------------------------------------------------------------

def official_ball(root, metric, classes):
    """The package's evaluate called as jhong93/spot's eval_soccernet_ball.py calls it."""
    dictionary = None if classes == CLASSES_BALL_2023 else {c: i for i, c in enumerate(classes)}
    with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars
        return ActionSpotting.evaluate(
            SoccerNet_path=str(root / "labels"), Predictions_path=str(root / "predictions"),
            split="test", version=2, metric=metric, framerate=25, label_files="Labels-ball.json",
            num_classes=2, dataset="Ball", EVENT_DICTIONARY=dictionary,
        )


@pytest.fixture(scope="module")
def ball_2024(tmp_path_factory):
    """The two official test games, 2024 style: one video each, all events in half 1, 12 classes,
    events past 100 minutes ("1 - 101:05") and past the 120-minute vector."""
    root = tmp_path_factory.mktemp("ball_2024")
    rng = np.random.default_rng(2024)
    for number, game in enumerate(TEST_GAMES):
        annotations, predictions = random_game(rng, CLASSES_BALL, 120, 300)
        late = 101 * 60_000 + 5_000  # 101:05, the longest test game runs 101.8 minutes
        annotations += [
            gt(late, "GOAL"), gt(late + 600, "PASS"),
            gt(7_300_000, "SHOT"),  # past the vector: clipped to its last frame
            gt(5_790_000, "OUT", position=False),  # "1 - 96:30", frame from gameTime
        ]
        predictions += [
            pred(late + 400, "GOAL", 0.9), pred(late + 1_200, "PASS", 0.5),
            pred(7_250_000, "SHOT", 0.8), pred(5_790_300, "OUT", 0.7),
            pred(late, "CROSS", 0.4), pred(late + 20, "CROSS", 0.6),  # same 40 ms frame: overwrite
        ]
        if number == 0:  # a class with no GT at all in one game
            annotations = [a for a in annotations if a["label"] != "FREE KICK"]
        write_game(root, game, annotations, predictions)
    return root


@pytest.mark.parametrize("metric", ["at1", "tight"])
def test_ball_2024_equals_official(ball_2024, metric):
    labels, predictions = ball_2024 / "labels", ball_2024 / "predictions"
    result = spotting.evaluate(labels, predictions, metric=metric, label_file=BALL_LABEL_FILE,
                               framerate=25, classes=CLASSES_BALL, games="test")
    assert_same(official_ball(ball_2024, metric, CLASSES_BALL), result, spotting.RESULT_KEYS)
    # The ball label file sets 25 fps by default; every labelled game is the test split here.
    assert spotting.evaluate(labels, predictions, metric=metric, label_file=BALL_LABEL_FILE,
                             classes=CLASSES_BALL) == result


def test_ball_2023_two_halves_equals_official(tmp_path):
    rng = np.random.default_rng(2023)
    for game in TEST_GAMES:
        write_game(tmp_path, game, *random_game(rng, CLASSES_BALL_2023, 80, 250, halves=(1, 2),
                                                teams=False))
    for metric in ("at1", "at2", "tight"):
        # PASS / DRIVE are the default classes of Labels-ball.json, as in the official.
        result = spotting.evaluate(tmp_path / "labels", tmp_path / "predictions", metric=metric,
                                   label_file=BALL_LABEL_FILE, games="test")
        assert_same(official_ball(tmp_path, metric, CLASSES_BALL_2023), result, spotting.RESULT_KEYS)


def test_ball_2024_labels_with_a_default_2023_class_list_fail_loudly(ball_2024):
    # The official would skip the 10 other classes silently and score PASS / DRIVE only.
    with pytest.raises(SpottingFormatError, match="unknown label.*HEADER"):
        spotting.evaluate(ball_2024 / "labels", ball_2024 / "predictions",
                          label_file=BALL_LABEL_FILE, metric="at1")


def test_ball_frame_window_is_plus_minus_half_a_second():
    """At 25 fps, frame = int(25 * ms / 1000) and at1 matches |pred - gt| <= 12 frames."""
    def one(pred_ms):
        labels = np.zeros((2, SIZE, 1))
        labels[0, int(25 * 4000 / 1000), 0] = 1
        predictions = np.full((2, SIZE, 1), -1.0)
        predictions[0, int(25 * pred_ms / 1000), 0] = 0.5
        return spotting.average_map([labels], [predictions], framerate=25, metric="at1")["a_mAP"]

    assert one(4480) == 1.0 and one(3520) == 1.0  # frames 112 and 88: 12 away
    assert one(4520) == 0.0 and one(3480) == 0.0  # frames 113 and 87: 13 away


# ------------------------------------------------------------------------------------------------
# Team mAP, 2025: this test's reference for sn-teamspotting's evaluator
# ------------------------------------------------------------------------------------------------

def nearest_gt(target):
    """Per column, the value of the nearest GT frame (ties at floor midpoints), -1 without GT."""
    closest = np.full(target.shape, -1.0)
    for column in range(target.shape[1]):
        frames = np.flatnonzero(target[:, column])
        if not len(frames):
            continue
        bounds = np.concatenate([[0], (frames[:-1] + frames[1:]) // 2, [len(target)]])
        for frame, lo, hi in zip(frames, bounds[:-1], bounds[1:]):
            closest[lo:hi, column] = target[frame, column]
    return closest


def dense_team_vectors(labels_doc, predictions_doc, classes, with_team):
    """One game as the 2025 evaluator sees it: [SIZE, columns] labels and predictions."""
    if with_team:
        column = {f"{c}-{t}": 2 * k + j for k, c in enumerate(classes)
                  for j, t in enumerate(("left", "right"))}
    else:
        column = {c: k for k, c in enumerate(classes)}
    key = (lambda e: f"{e['label']}-{e['team']}") if with_team else (lambda e: e["label"])
    target = np.zeros((SIZE, len(column)))
    for entry in labels_doc["annotations"]:
        text = entry["gameTime"]
        if int(text[0]) != 1:  # the official keeps half 1 only
            continue
        if "position" in entry:
            frame = int(FPS * (int(entry["position"]) / 1000))
        else:
            frame = FPS * (int(text[-2:]) + 60 * int(text[-5:-3]))
        value = -1 if entry.get("visibility") == "not shown" else 1
        target[min(frame, SIZE - 1), column[key(entry)]] = value
    detection = np.full((SIZE, len(column)), -1.0)
    for entry in predictions_doc["predictions"]:  # "half" is never read
        frame = int(FPS * (int(entry["position"]) / 1000))
        detection[min(frame, SIZE - 1), column[key(entry)]] = float(entry["confidence"])
    return target, detection


def official_team_map(label_docs, prediction_docs, classes=CLASSES_BALL, metric="at1"):
    """The 2025 evaluator's results, built on the SoccerNet package's `average_mAP`."""
    results = {}
    for with_team in (True, False):
        vectors = [dense_team_vectors(l, p, classes, with_team)
                   for l, p in zip(label_docs, prediction_docs)]
        targets = [t for t, _ in vectors]
        with contextlib.redirect_stderr(io.StringIO()), np.errstate(all="ignore"):
            scores = ActionSpotting.average_mAP(
                targets, [d for _, d in vectors], [nearest_gt(t) for t in targets],
                framerate=FPS, deltas=np.array(DELTAS[metric]),
            )
        m_ap, per_class, m_ap_visible, _, _, _ = scores
        if not with_team:
            results.update(mAP_no_team=m_ap, mAP_per_class_no_team=per_class,
                           mAP_visible_no_team=m_ap_visible)
            continue
        counts = np.sum([t.sum(axis=0) for t in targets], axis=0)
        for suffix, per_column in zip(("", "_visible", "_unshown"), scores[1::2]):
            weighted = np.asarray(per_column) * counts
            with np.errstate(all="ignore"):
                by_class = [(weighted[2 * k] + weighted[2 * k + 1]) / (counts[2 * k] + counts[2 * k + 1])
                            for k in range(len(classes))]
                results[f"mAP{suffix}"] = np.mean(by_class)
            results[f"mAP_per_class{suffix}"] = by_class
    return results


def load_docs(root, games):
    labels = [json.loads((root / "labels" / g / BALL_LABEL_FILE).read_text()) for g in games]
    predictions = [json.loads((root / "predictions" / g / PREDICTION_FILE).read_text()) for g in games]
    return labels, predictions


def events_of(labels_doc, predictions_doc, classes=CLASSES_BALL):
    """The array API's inputs, read from the documents."""
    index = {c: i for i, c in enumerate(classes)}
    annotations = labels_doc["annotations"]
    labels = team_spotting.TeamEvents(
        np.array([int(FPS * (int(a["position"]) / 1000)) if "position" in a else
                  FPS * formats.parse_game_time(a["gameTime"], path="x")[1] for a in annotations]),
        np.array([index[a["label"]] for a in annotations]),
        np.array([("left", "right").index(a["team"]) for a in annotations]),
        np.array([-1.0 if a["visibility"] == "not shown" else 1.0 for a in annotations]),
    )
    entries = predictions_doc["predictions"]
    predictions = team_spotting.TeamEvents(
        np.array([int(FPS * (int(p["position"]) / 1000)) for p in entries]),
        np.array([index[p["label"]] for p in entries]),
        np.array([("left", "right").index(p["team"]) for p in entries]),
        np.array([float(p["confidence"]) for p in entries]),
    )
    return labels, predictions


def team_random_games(root, seed, classes=CLASSES_BALL, num_games=2):
    rng = np.random.default_rng(seed)
    games = [f"england_efl/2019-2020/game {g}" for g in range(num_games)]
    for game in games:
        annotations, predictions = random_game(rng, classes, int(rng.integers(60, 140)),
                                               int(rng.integers(100, 300)))
        # Every class on both sides in some game, so that no weight is 0 by chance.
        for k, label in enumerate(classes):
            for team in ("left", "right"):
                annotations.append(gt(50_000 + 3_000 * k + (team == "right") * 1_000, label, team))
        write_game(root, game, annotations, predictions)
    return games


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_team_map_equals_the_official_on_random_games(tmp_path, seed):
    """Two games at 1 s (the challenge metric); one game under the five tight tolerances."""
    metric = "at1" if seed < 2 else "tight"
    games = team_random_games(tmp_path, seed, num_games=2 if metric == "at1" else 1)
    result = team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions", metric=metric)
    reference = official_team_map(*load_docs(tmp_path, games), metric=metric)
    assert_same(reference, result, team_spotting.TEAM_RESULT_KEYS)
    # The array API gives the same numbers from events in memory.
    events = [events_of(l, p) for l, p in zip(*load_docs(tmp_path, games))]
    arrays = team_spotting.team_average_map([l for l, _ in events], [p for _, p in events], metric=metric)
    assert arrays == result


def test_team_map_with_few_classes_and_nan_weights_equals_the_official(tmp_path):
    """Random games over 3 of 12 classes: the 9 others have N_left + N_right == 0, so their AP and
    the Team mAP are NaN, in the official as here (and a warning says so)."""
    rng = np.random.default_rng(5)
    games = [f"league/season/game {g}" for g in range(2)]
    for game in games:
        write_game(tmp_path, game, *random_game(rng, ["PASS", "DRIVE", "SHOT"], 40, 120))
    with pytest.warns(RuntimeWarning, match="N_left \\+ N_right == 0"):
        result = team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions")
    reference = official_team_map(*load_docs(tmp_path, games))
    assert_same(reference, result, team_spotting.TEAM_RESULT_KEYS)
    assert math.isnan(result["mAP"]) and not math.isnan(result["mAP_no_team"])
    assert math.isnan(result["mAP_per_class"][CLASSES_BALL.index("GOAL")])


def team_case(tmp_path, annotations, predictions, classes=("PASS", "DRIVE")):
    write_game(tmp_path, "league/season/game", annotations, predictions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions", classes=classes)
    reference = official_team_map(*load_docs(tmp_path, ["league/season/game"]), classes=classes)
    assert_same(reference, result, team_spotting.TEAM_RESULT_KEYS)
    return result


def test_team_ap_is_the_gt_weighted_mean_of_left_and_right(tmp_path):
    # PASS: 2 left GTs found (AP 1), 1 right GT missed (AP 0) -> (1*2 + 0*1) / 3.
    # DRIVE: 1 left GT found with the wrong team (AP 0 for left and right) -> 0.
    result = team_case(
        tmp_path,
        [gt(10_000, "PASS"), gt(20_000, "PASS"), gt(30_000, "PASS", "right"), gt(40_000, "DRIVE")],
        [pred(10_100, "PASS", 0.9), pred(20_000, "PASS", 0.8), pred(40_000, "DRIVE", 0.9, "right")],
    )
    assert result["mAP_per_class"] == pytest.approx([2 / 3, 0.0], abs=1e-12)
    assert result["mAP"] == pytest.approx(1 / 3, abs=1e-12)
    # Without the team, the DRIVE prediction is a hit, PASS finds 2 of 3:
    # 11-point AP = (7 points at precision 1) / 11.
    assert result["mAP_per_class_no_team"] == pytest.approx([7 / 11, 1.0], abs=1e-12)


def test_unshown_labels_subtract_from_the_team_weight(tmp_path):
    """The official bug: "not shown" labels are -1 in the summed label vectors."""
    # PASS left: 2 visible, found (AP 1, N = 2). PASS right: 1 visible + 2 unshown, none found
    # (AP 0, N = 1 - 2 = -1). Team AP = (1*2 + 0*(-1)) / (2 - 1) = 2: above 1.
    result = team_case(
        tmp_path,
        [gt(10_000, "PASS"), gt(20_000, "PASS"), gt(30_000, "PASS", "right"),
         gt(40_000, "PASS", "right", "not shown"), gt(50_000, "PASS", "right", "not shown"),
         gt(60_000, "DRIVE"), gt(70_000, "DRIVE", "right", "not shown")],
        [pred(10_000, "PASS", 0.9), pred(20_000, "PASS", 0.9), pred(60_000, "DRIVE", 0.9)],
    )
    assert result["mAP_per_class"][0] == pytest.approx(2.0, abs=1e-12)
    # DRIVE: N_left = 1, N_right = -1, AP_left = 1: (1*1 + 0*(-1)) / 0 -> inf, as the official.
    assert result["mAP_per_class"][1] == math.inf and result["mAP"] == math.inf


def test_team_vector_overwrites_ignores_half_and_clips(tmp_path):
    result = team_case(
        tmp_path,
        [gt(10_000, "PASS"), gt(7_300_000, "DRIVE", "right"),  # past 120 min: last frame
         gt(30_000, "DRIVE"), gt(30_010, "DRIVE", "right")],  # same 40 ms frame, other team
        [pred(10_000, "PASS", 0.9), pred(10_020, "PASS", 0.1),  # same frame: 0.1 replaces 0.9
         pred(7_200_000, "DRIVE", 0.7, "right"),
         pred(30_000, "DRIVE", 0.6, "right")],
    )
    # PASS left: one GT, one prediction scored 0.1, still a hit at thresholds <= 0.1.
    assert result["mAP_per_class"][0] == 1.0
    # Without the team, the right DRIVE label at 30 s overwrote the left one: still one GT there.
    assert result["mAP_per_class_no_team"] == [1.0, 1.0]


def test_team_labels_without_position_use_game_time(tmp_path):
    result = team_case(
        tmp_path,
        [gt(5_790_000, "PASS", position=False), gt(61_000, "DRIVE", "right", position=False)],
        [pred(5_790_400, "PASS", 0.5), pred(61_600, "DRIVE", 0.5, "right")],
    )
    assert result["mAP_per_class"][0] == 1.0 and result["mAP_per_class"][1] == 0.0  # 15 frames off


@pytest.mark.parametrize(
    "labels, predictions, where, problem",
    [
        ([gt(1000, "PASS", team="home")], [pred(1000, "PASS", 0.5)], "Labels-ball.json",
         "annotation 0: team 'home'"),
        ([{k: v for k, v in gt(1000, "PASS").items() if k != "team"}], [pred(1000, "PASS", 0.5)],
         "Labels-ball.json", "annotation 0: team None"),
        ([gt(1000, "PASS"), gt(1000, "PASS", half=2)], [pred(1000, "PASS", 0.5)],
         "Labels-ball.json", "annotation 1: gameTime half 2"),
        ([gt(1000, "Pass")], [pred(1000, "PASS", 0.5)], "Labels-ball.json", "unknown label"),
        ([gt(1000, "PASS")], [pred(1000, "PASS", 0.5, team=None)], PREDICTION_FILE,
         'prediction 0 has no "team"'),
        ([gt(1000, "PASS")], [pred(1000, "PASS", 0.5), pred(1000, "PASS", 0.5, team="Left")],
         PREDICTION_FILE, "prediction 1: team 'Left'"),
        ([gt(1000, "PASS")], [pred(1000, "PASS", 0.5, half=2)], PREDICTION_FILE,
         "prediction 0: half 2"),
        ([gt(1000, "PASS")], [pred(1000, "KICK", 0.5)], PREDICTION_FILE, "unknown label"),
    ],
)
def test_team_bad_files_are_named(tmp_path, labels, predictions, where, problem):
    """Where the official raises KeyError (or drops a half-2 label), the file and entry are named."""
    write_game(tmp_path, "league/season/game", labels, predictions)
    with pytest.raises(SpottingFormatError) as error:
        team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions")
    assert f"league/season/game/{where}" in str(error.value) and problem in str(error.value)


def test_team_predictions_may_omit_half(tmp_path):
    entry = pred(1000, "PASS", 0.5)
    del entry["half"]
    write_game(tmp_path, "league/season/game", [gt(1000, "PASS"), gt(1000, "DRIVE", "right")],
               [entry])
    result = team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions",
                                    classes=("PASS", "DRIVE"))
    assert result["mAP_per_class"] == [1.0, 0.0]


def test_team_array_api_checks_its_inputs():
    good = team_spotting.TeamEvents(np.array([5]), np.array([0]), np.array([1]), np.array([1.0]))
    with pytest.raises(ValueError, match="team must be 0"):
        team_spotting.team_average_map([good._replace(team=np.array([2]))], [good])
    with pytest.raises(ValueError, match="label values"):
        team_spotting.team_average_map([good._replace(value=np.array([0.5]))], [good])
    with pytest.raises(ValueError, match="class_index"):
        team_spotting.team_average_map([good], [good._replace(class_index=np.array([12]))])
    with pytest.raises(ValueError, match="frames must be >= 0"):
        team_spotting.team_average_map([good], [good._replace(frame=np.array([-1]))])
    with pytest.raises(ValueError, match="1 label games but 0"):
        team_spotting.team_average_map([good], [])


def test_team_split_names_use_the_ball_lists(tmp_path):
    team_random_games(tmp_path, 0, num_games=1)
    with pytest.raises(FileNotFoundError, match="2 game.*no Labels-ball.json") as error:
        team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions", games="test")
    assert "Reading - Fulham" in str(error.value)
    with pytest.raises(FileNotFoundError, match="(?s)1 game.*Middlesbrough"):
        team_spotting.evaluate_team(tmp_path / "labels", tmp_path / "predictions", games="val")


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def test_cli_ball_and_team_tasks(ball_2024, capsys):
    paths = ["--labels", str(ball_2024 / "labels"), "--predictions", str(ball_2024 / "predictions")]
    assert spotting.main([*paths, "--task", "ball"]) == 0
    out = capsys.readouterr().out
    result = spotting.evaluate(ball_2024 / "labels", ball_2024 / "predictions", metric="at1",
                               label_file=BALL_LABEL_FILE, classes=CLASSES_BALL)
    assert "mAP (at1)" in out and f"{100 * result['a_mAP']:.2f}" in out
    assert "PLAYER SUCCESSFUL TACKLE" in out

    assert spotting.main([*paths, "--task", "team_ball", "--split", "test"]) == 0
    out = capsys.readouterr().out
    team = team_spotting.evaluate_team(ball_2024 / "labels", ball_2024 / "predictions")
    assert "Team mAP (at1)" in out
    assert f"{100 * team['mAP']:.2f}" in out and f"{100 * team['mAP_no_team']:.2f}" in out

    with pytest.raises(SystemExit):  # a user error: one line, no traceback
        spotting.main([*paths, "--task", "ball2023"])
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "unknown label" in error
