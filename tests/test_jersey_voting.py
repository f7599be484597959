"""Tracklet consolidation on hand-made evidence: one confident crop against many weak ones,
1 against 11 against 71, weak evidence -> -1, balls by size and appearance outliers."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.postprocess.tracklet_voting import appearance_inliers, combine, is_ball


def crop(reads: dict[int, float]) -> np.ndarray:
    """One crop's log P(number) [100]: the given probabilities, the rest spread evenly."""
    p = np.full(100, (1 - sum(reads.values())) / (100 - len(reads)))
    for number, probability in reads.items():
        p[number] = probability
    return np.log(p)


def test_agreeing_crops_give_their_number_with_their_confidence():
    vote = combine(np.stack([crop({23: 0.9})] * 8))
    assert vote.number == 23 and vote.read == 8 and vote.confidence == pytest.approx(0.9, abs=0.01)
    assert vote.posterior.sum() == pytest.approx(1.0)


def test_one_confident_crop_against_many_weak_ones():
    # A crop that reads 23 clearly outweighs a few that lean towards 28 (the typical crop is
    # unsure, so the confidence is middling: the answer depends on min_confidence) ...
    few = combine(np.stack([crop({23: 0.99})] + [crop({28: 0.4, 23: 0.3})] * 5), min_confidence=0.4)
    assert few.number == 23 and 0.4 < few.confidence < 0.5
    # ... but the floor keeps it from vetoing many confident crops that say otherwise.
    certain = crop({23: 1 - 1e-12})  # the others at 1e-14
    many = combine(np.stack([certain] + [crop({28: 0.9})] * 3))
    assert many.number == 28
    # without the floor, the single over-confident crop would win
    assert combine(np.stack([certain] + [crop({28: 0.9})] * 3), probability_floor=0).number == 23


def test_one_against_eleven_against_seventy_one():
    """Crops that see only the second digit of 71 read "1"; the sequence probabilities carry the
    length, so clear two-digit reads win over partial one-digit ones, and 11 vs 71 is decided by
    what the two-digit crops say about the first digit."""
    partial = crop({1: 0.7, 11: 0.1, 71: 0.1})  # the left half hidden: "1", perhaps "11" or "71"
    seventy_one = crop({71: 0.8, 11: 0.1, 1: 0.05})
    eleven = crop({11: 0.8, 71: 0.1, 1: 0.05})
    vote = lambda *crops: combine(np.stack(crops), min_confidence=0.3)
    assert vote(*[partial] * 4, *[seventy_one] * 3).number == 71
    assert vote(*[partial] * 4, *[eleven] * 3).number == 11
    assert vote(*[partial] * 4).number == 1  # nothing suggests a second digit
    # evenly split between 11 and 71: neither is confident enough, the answer is -1
    split = combine(np.stack([seventy_one, eleven] * 3), min_confidence=0.5)
    assert split.number == -1 and split.confidence < 0.5


def test_weak_or_missing_evidence_is_minus_one():
    vague = combine(np.stack([crop({5: 0.2, 8: 0.2, 3: 0.2})] * 10))
    assert vague.number == -1 and 0 < vague.confidence < 0.5
    assert combine(np.zeros((0, 100))).number == -1  # nothing legible
    assert combine(np.stack([crop({9: 0.95})]), min_legible=2).number == -1
    assert combine(np.stack([crop({9: 0.95})] * 2), min_legible=2).number == 9
    assert combine(np.stack([crop({9: 0.6})] * 3), min_confidence=0.7).number == -1


def test_balls_by_size():
    assert is_ball(np.array([20, 24, 30]), np.array([18, 20, 22]))
    assert not is_ball(np.array([20, 24, 90]), np.array([18, 20, 40]))  # a player seen from afar once
    assert not is_ball(np.array([30, 32]), np.array([40, 44]))  # both sizes must be small


def test_appearance_outliers_are_dropped():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(0, 0.05, (20, 8)) + np.eye(8)[0]
    embeddings[[3, 11]] = np.eye(8)[1]  # two crops of someone else
    keep = appearance_inliers(embeddings, threshold=2.0)
    assert keep.tolist() == [i not in (3, 11) for i in range(20)]
    assert appearance_inliers(embeddings[:2]).all()  # too few to fit
    assert appearance_inliers(rng.normal(0, 0.05, (15, 8)), threshold=3.5).sum() >= 14
