"""Dense video captioning metrics: parity with the official SoccerNet evaluator on every key.

Java starts are what cost time here (METEOR loads a 60 MB paraphrase table), so the official
evaluator and `zoo.metrics.captioning` share one METEOR process (the official gets a proxy whose
`compute_score` is pycocoevalcap's own, on that process), and the official's tokenizer is
memoised: it tokenizes the very same captions four times per call (once per scorer), and the
Stanford tokenizer is a deterministic function of its input file. Neither changes what the
official code computes.
"""

import contextlib
import io
import json
import pathlib
import random
import typing
import zipfile

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge, my_lcs
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from SoccerNet.Evaluation import DenseVideoCaptioning

from zoo.formats.captioning import CaptioningFormatError
from zoo.metrics import captioning

KEYS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr", "Recall", "Precision")

# Words and pieces that stress the tokenizer and the scorers: punctuation the tokenizer drops,
# brackets it rewrites (-lrb-), contractions it splits, "|||" (METEOR's field separator),
# non-ASCII (spaces for the official), repeated words, abbreviations whose final period depends
# on the next line ("a.", "etc.").
PIECES = [
    "goal",
    "goal",
    "shot",
    "the",
    "the",
    "a",
    "ball",
    "[PLAYER]",
    "([TEAM])",
    "[REFEREE]",
    "[COACH]",
    "keeper",
    "saves",
    "Corner",
    "corner",
    "yellow",
    "card",
    "wide",
    "post",
    "free-kick",
    "2-1",
    "45'",
    "don't",
    "cannot",
    "U.S.",
    "etc.",
    "a.",
    "...",
    "!",
    "?",
    ",",
    ";",
    ":",
    "--",
    "(",
    ")",
    '"',
    "'",
    "|||",
    "&",
    "café",
    "Müller",
    "“quoted”",
    "⚽",
    "naïve",
    "x",
    "goal goal goal",
    "GOAL!",
    "tab\tseparated",
]
ODD_CAPTIONS = ["", "   ", "⚽⚽", "!!!", "...", "zqxjzqxj is no stand-in", "two\nlines", "a."]
SPLIT_GAMES = [  # real test-split names, as the official keys its dict
    "england_epl/2015-2016/2015-08-29 - 17-00 Manchester City 2 - 0 Watford",
    "europe_uefa-champions-league/2014-2015/2015-04-22 - 21-45 Real Madrid 1 - 0 Atl. Madrid",
    "france_ligue-1/2016-2017/2016-08-28 - 21-45 Monaco 3 - 1 Paris SG",
    "germany_bundesliga/2015-2016/2015-09-12 - 16-30 Bayern Munich 2 - 1 FC Augsburg",
    "italy_serie-a/2016-2017/2016-09-18 - 21-45 Fiorentina 1 - 0 AS Roma",
    "spain_laliga/2016-2017/2017-01-21 - 18-30 Real Madrid 2 - 1 Malaga",
]


def caption(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return rng.choice(ODD_CAPTIONS)
    words = [rng.choice(PIECES) for _ in range(rng.randint(1, 14))]
    if rng.random() < 0.2:
        words.append(rng.choice(["a.", "etc.", "U.S."]))
    return " ".join(words)


def game_time(half: int, seconds: int) -> str:
    return f"{half} - {seconds // 60:02d}:{seconds % 60:02d}"


def write_dataset(root: pathlib.Path, seed: int = 0):
    """Six games; halves crowded in their first minutes (overlaps), predictions far from any GT,
    halves without predictions (never the one the official visits first: it crashes there),
    entries the official skips (unknown labels, half 3)."""
    rng = random.Random(seed)
    games = list(SPLIT_GAMES)
    order = captioning.official_order([(g, h) for g in games for h in (1, 2)])
    candidates = [(games[1], 2), (games[4], 1), (games[5], 2)]
    empty = [key for key in candidates if key != order[0]][:2]
    for game in games:
        annotations, predictions = [], []
        for half in (1, 2):
            for _ in range(rng.randint(3, 12)):
                label = rng.choice(["comments", "corner", "whistle", "", "y-card"])
                annotations.append(
                    {
                        "gameTime": game_time(half, rng.randint(0, 400)),
                        "label": label,
                        "description": "unused",
                        "anonymized": caption(rng),
                    }
                )
            count = rng.randint(1, 14)
            if (game, half) in empty:
                continue
            for i in range(count):
                # At least one prediction far from every GT: a half whose pairs all have empty
                # references makes pycocoevalcap's CIDEr fail (see test_cider_without_references).
                near = i and rng.random() < 0.8
                seconds = rng.randint(0, 400) if near else rng.randint(600, 2800)
                predictions.append(
                    {
                        "gameTime": game_time(half, seconds),
                        "label": rng.choice(["comments", "corner"]),
                        "position": str(seconds * 1000),
                        "half": str(half),
                        "confidence": str(rng.random()),
                        "comment": caption(rng),
                    }
                )
        annotations.append({"gameTime": "3 - 01:00", "label": "comments", "anonymized": "x"})
        annotations.append({"gameTime": "1 - 01:00", "label": "goal-kick", "anonymized": "y"})
        predictions.append({"gameTime": "1 - 0:30", "label": "not-a-caption", "comment": "z"})
        rng.shuffle(annotations)
        for folder, name, document in (
            ("labels", "Labels-caption.json", {"annotations": annotations}),
            (
                "predictions",
                "results_dense_captioning.json",
                {"UrlLocal": game, "predictions": predictions},
            ),
        ):
            path = root / folder / game / name
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(document))
    return games


class _SharedMeteor:
    """What the official needs of its METEOR scorer, on the shared process (no __del__ that
    would kill it when the official's evaluator is collected)."""

    def compute_score(self, gts, res):
        return captioning._MeteorServer.instance().compute_score(gts, res)


class _MemoTokenizer:
    cache: typing.ClassVar[dict] = {}

    def tokenize(self, captions_for_image):
        key = json.dumps(list(captions_for_image.items()))
        if key not in self.cache:
            self.cache[key] = PTBTokenizer().tokenize(captions_for_image)
        return self.cache[key]


def official(labels, predictions, games, window_size):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DenseVideoCaptioning, "getListGames", lambda *a, **k: list(games))
        patch.setattr(DenseVideoCaptioning, "Meteor", _SharedMeteor)
        patch.setattr(DenseVideoCaptioning, "PTBTokenizer", _MemoTokenizer)
        # Unmatched predictions are scored against random.choice strings: seed for determinism.
        # Our stand-ins give the same numbers because neither kind matches any word.
        random.seed(1234)
        with contextlib.redirect_stdout(io.StringIO()):
            return DenseVideoCaptioning.evaluate(
                str(labels),
                str(predictions),
                prediction_file="results_dense_captioning.json",
                include_SODA=False,
                window_size=window_size,
            )


def assert_same(reference: dict, result: dict):
    assert tuple(result) == KEYS == tuple(reference)
    for key in KEYS:
        assert isinstance(result[key], float), key
        np.testing.assert_allclose(result[key], reference[key], rtol=0, atol=1e-9, err_msg=key)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    captioning._MeteorServer.instance()  # start METEOR's Java while the files are written
    root = tmp_path_factory.mktemp("captions")
    games = write_dataset(root)
    return root, games


@pytest.fixture(scope="module")
def references(dataset):
    root, games = dataset
    return {ws: official(root / "labels", root / "predictions", games, ws) for ws in (30, 5)}


@pytest.mark.parametrize("window_size", [30, 5])
def test_equals_official_on_every_key(dataset, references, window_size):
    root, _ = dataset
    result = captioning.evaluate(
        root / "labels", root / "predictions", window_size=window_size, on_unscored="ignore"
    )
    assert_same(references[window_size], result)
    # Not a degenerate case: some pairs match, some halves are empty, some captions unmatched.
    assert 0 < result["Recall"] < 1 and 0 < result["Precision"] < 1
    assert 0 < result["METEOR"] < 1 and 0 < result["CIDEr"]


def test_zips_arrays_and_command_line_equal_official(dataset, references, tmp_path, capsys):
    root, games = dataset
    zips = {}
    for folder in ("labels", "predictions"):
        zips[folder] = tmp_path / f"{folder}.zip"
        with zipfile.ZipFile(zips[folder], "w") as archive:
            for file in sorted((root / folder).rglob("*.json")):
                archive.write(file, file.relative_to(root / folder).as_posix())
    assert (
        captioning.main(
            [
                str(zips["labels"]),
                str(zips["predictions"]),
                "--on-unscored",
                "ignore",
                "--json",
            ]
        )
        == 0
    )
    assert_same(references[30], json.loads(capsys.readouterr().out))

    from zoo.formats import captioning as formats

    ground_truth, predictions, keys = [], [], []
    for game in games:
        labels = formats.read_labels(
            root / "labels" / game / "Labels-caption.json", on_unscored="ignore"
        )
        preds = formats.read_predictions(
            root / "predictions" / game / "results_dense_captioning.json", on_unscored="ignore"
        )
        for half in (1, 2):
            keys.append((game, half))
            ground_truth.append(
                captioning.VideoCaptions(
                    [a.seconds for a in labels if a.half == half],
                    [a.anonymized for a in labels if a.half == half],
                )
            )
            predictions.append(
                captioning.VideoCaptions(
                    [p.seconds for p in preds if p.half == half],
                    [p.comment for p in preds if p.half == half],
                )
            )
    assert_same(
        references[30], captioning.evaluate_videos(ground_truth, predictions, video_keys=keys)
    )

    out = captioning.format_table(references[30])  # what the command line prints without --json
    assert f"{100 * references[30]['METEOR']:8.2f}" in out and "Precision" in out


def test_tokenizer_batches_match_pycocoevalcap():
    rng = random.Random(3)
    batches = [[caption(rng) for _ in range(300)] for _ in range(2)]
    batches[1][-1] = ""  # an empty last line
    expected = [
        PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(b)}) for b in batches
    ]
    ours = captioning.ptb_tokenize(batches)
    for batch, reference, result in zip(batches, expected, ours):
        assert result == [reference[i][0] for i in range(len(batch))]
    # The tokenizer looks at the next line: the same caption tokenizes in two ways.
    again = captioning.ptb_tokenize(
        [["kick off a.", "What a goal"], ["kick off a.", "what a goal"]]
    )
    assert again == [["kick off a", "what a goal"], ["kick off a.", "what a goal"]]


def test_bleu_rouge_cider_equal_pycocoevalcap_per_video():
    """The vectorised scorers against pycocoevalcap's own on random tokenized pairs (no Java)."""
    rng = random.Random(5)
    vocabulary = ["goal", "the", "a", "ball", "shot", "wide", "-lrb-", "player", "keeper", "saves"]
    pairs, video = [], []
    for v in range(7):
        for _ in range(rng.randint(1, 30)):
            hypothesis = " ".join(
                rng.choice(vocabulary) for _ in range(rng.choice([0, 1, 2, 5, 12, 30]))
            )
            reference = " ".join(
                rng.choice(vocabulary) for _ in range(rng.choice([0, 1, 3, 9, 20]))
            )
            pairs.append((hypothesis, reference))
            video.append(v)
        if v == 3:
            pairs.append(("zqxjaq", "zqxjaq goal"))  # repeated stand-in-like words
            video.append(v)
    scores = captioning._text_scores(
        [h for h, _ in pairs], [r for _, r in pairs], np.array(video), num_videos=8
    )
    assert scores["Bleu"][7] is None and scores["CIDEr"][7] is None  # video 7 has no pair
    for v in range(7):
        chosen = [i for i, w in enumerate(video) if w == v]
        gts = {i: [pairs[i][1]] for i in chosen}
        res = {i: [pairs[i][0]] for i in chosen}
        with contextlib.redirect_stdout(io.StringIO()):  # pycocoevalcap's Bleu prints
            bleu = Bleu(4).compute_score(gts, res)[0]
        assert scores["Bleu"][v] == bleu
        assert scores["ROUGE_L"][v] == Rouge().compute_score(gts, res)[0]
        np.testing.assert_allclose(
            scores["CIDEr"][v], Cider().compute_score(gts, res)[0], rtol=1e-12
        )


def test_cider_without_references():
    """A half whose references all tokenize to nothing: pycocoevalcap's CIDEr (so the official)
    fails; here it is 0, the other scorers are as pycocoevalcap's."""
    pairs = [("goal", ""), ("a goal", "")]
    gts, res = (
        {i: [r] for i, (_, r) in enumerate(pairs)},
        {i: [h] for i, (h, _) in enumerate(pairs)},
    )
    with pytest.raises(ValueError):
        Cider().compute_score(gts, res)
    scores = captioning._text_scores(
        [h for h, _ in pairs], [r for _, r in pairs], np.zeros(2, int), 1
    )
    assert scores["CIDEr"] == [0.0]
    assert scores["ROUGE_L"] == [Rouge().compute_score(gts, res)[0]]


def test_lcs_length():
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        assert captioning._lcs_length(a, b) == my_lcs(a, b)


def test_errors_name_the_problem(dataset, tmp_path):
    root, games = dataset
    with pytest.raises(CaptioningFormatError, match="goal-kick"):  # skipped silently officially
        captioning.evaluate(root / "labels", root / "predictions")
    with pytest.raises(FileNotFoundError, match="1 game"):
        captioning.evaluate(root / "labels", root / "predictions", games=[*games, "x/y/z"])
    with pytest.raises(TypeError, match="window_size"):
        captioning.evaluate_videos([([1], ["a"])], [([], [])], window_size=2.5)
    with pytest.raises(ValueError, match="no ground-truth caption"):
        captioning.evaluate_videos([([], [])], [([1], ["a"])])
    half_labelled = tmp_path / "labels" / games[0] / "Labels-caption.json"
    half_labelled.parent.mkdir(parents=True)
    half_labelled.write_text(
        json.dumps(
            {"annotations": [{"gameTime": "1 - 00:10", "label": "comments", "anonymized": "goal"}]}
        )
    )
    with pytest.raises(ValueError, match="half 2"):
        captioning.evaluate(tmp_path / "labels", root / "predictions", on_unscored="ignore")


def test_line_breaks_read_as_spaces():
    gt = [captioning.VideoCaptions([10, 40], ["a goal\rby [PLAYER]", "the keeper saves"])]
    with pytest.warns(UserWarning, match="line ends"):
        broken = captioning.evaluate_videos(gt, [([12, 41], ["goal\x0cby the keeper", "saves"])])
    gt = [captioning.VideoCaptions([10, 40], ["a goal by [PLAYER]", "the keeper saves"])]
    assert broken == captioning.evaluate_videos(gt, [([12, 41], ["goal by the keeper", "saves"])])
