"""The ReID metric equals the official evaluator: its scores and the rankings it refuses."""

import contextlib
import io
import json
import re

import numpy as np
import pytest

from zoo.formats import reid_fast
from zoo.metrics import reid

official = pytest.importorskip("SoccerNet.Evaluation.ReIdentification")


def official_evaluate(gt_path, ranking_path):
    with contextlib.redirect_stdout(io.StringIO()):  # the official evaluator prints its results
        return official.evaluate(str(gt_path), str(ranking_path))


def make_case(rng, *, num_actions=None, max_gallery=40, tie_levels=None):
    """A random query/gallery split in the bbox_info layout, with distances per action.

    Returns (groundtruth document, per-action list of (query ids, gallery ids, distances)).
    Several gallery samples may share a query's identity; identities absent from the queries act
    as distractors; distances drawn from `tie_levels` values produce ties.
    """
    num_actions = num_actions or int(rng.integers(1, 7))
    query, gallery, actions = {}, {}, []
    next_query, next_gallery, next_pid = 0, 0, 0
    action_ids = rng.choice(10**6, num_actions, replace=False)
    for action in action_ids:
        num_ids = int(rng.integers(1, 8))
        pids = list(range(next_pid, next_pid + num_ids))
        next_pid += num_ids
        num_gallery = int(rng.integers(num_ids, max(num_ids, max_gallery) + 1))
        gallery_pids = pids + list(rng.choice(pids, num_gallery - num_ids))
        rng.shuffle(gallery_pids)
        queried = [p for p in pids if rng.random() < 0.7] or pids[:1]
        q_ids = list(range(next_query, next_query + len(queried)))
        g_ids = list(range(next_gallery, next_gallery + num_gallery))
        next_query += len(queried)
        next_gallery += num_gallery
        for q, pid in zip(q_ids, queried):
            query[q] = {"bbox_idx": q, "action_idx": int(action), "person_uid": int(pid)}
        for g, pid in zip(g_ids, gallery_pids):
            gallery[g] = {"bbox_idx": g, "action_idx": int(action), "person_uid": int(pid)}
        shape = (len(q_ids), num_gallery)
        if tie_levels:
            distances = rng.integers(0, tie_levels, shape).astype(float)
        else:
            distances = rng.random(shape)
        actions.append((q_ids, g_ids, distances))
    # The official evaluator walks the files in their key order: shuffle it.
    q_order = rng.permutation(list(query))
    g_order = rng.permutation(list(gallery))
    document = {
        "query": {str(q): query[q] for q in q_order},
        "gallery": {str(g): gallery[g] for g in g_order},
    }
    return document, actions


def rankings_of(actions):
    """Stable-sorted rankings (gallery bbox ids), keyed like ranking_results.json."""
    rankings = {}
    for q_ids, g_ids, distances in actions:
        order = np.argsort(distances, axis=1, kind="stable")
        for q, row in zip(q_ids, order):
            rankings[str(q)] = [g_ids[i] for i in row]
    return rankings


def write(tmp_path, document, rankings):
    gt, ranking = tmp_path / "test_bbox_info.json", tmp_path / "ranking_results.json"
    gt.write_text(json.dumps(document))
    ranking.write_text(json.dumps(rankings))
    return gt, ranking


@pytest.mark.parametrize("seed", range(12))
def test_scores_equal_official(tmp_path, seed):
    rng = np.random.default_rng(seed)
    document, actions = make_case(rng, tie_levels=3 if seed % 3 == 0 else None)
    gt, ranking = write(tmp_path, document, rankings_of(actions))
    expected = official_evaluate(gt, ranking)
    got = reid.evaluate(gt, ranking)
    assert set(got) == {"mAP", "rank-1", "cmc"}
    assert abs(got["mAP"] - expected["mAP"]) <= 1e-9
    assert abs(got["rank-1"] - expected["rank-1"]) <= 1e-9
    assert got["cmc"] == [got["rank-1"]]


def test_scores_equal_official_on_a_large_case(tmp_path):
    # Many queries, so that float32 rounding of the official rank-1 shows if not reproduced.
    rng = np.random.default_rng(100)
    document, actions = make_case(rng, num_actions=300, max_gallery=30)
    gt, ranking = write(tmp_path, document, rankings_of(actions))
    expected = official_evaluate(gt, ranking)
    got = reid.evaluate(gt, ranking)
    assert len(document["query"]) > 500
    assert got["rank-1"] == float(expected["rank-1"])
    assert abs(got["mAP"] - expected["mAP"]) <= 1e-9


def test_known_values(tmp_path):
    # One action; query 0 (pid 7) hits at ranks 2 and 3, query 1 (pid 8) at rank 1.
    gallery = {g: 7 if g in (11, 12) else 8 if g == 13 else 9 for g in (10, 11, 12, 13)}
    document = {
        "query": {
            "0": {"bbox_idx": 0, "action_idx": 5, "person_uid": 7},
            "1": {"bbox_idx": 1, "action_idx": 5, "person_uid": 8},
        },
        "gallery": {
            str(g): {"bbox_idx": g, "action_idx": 5, "person_uid": p} for g, p in gallery.items()
        },
    }
    gt, ranking = write(tmp_path, document, {"0": [10, 11, 12, 13], "1": [13, 12, 11, 10]})
    got = reid.evaluate(gt, ranking, max_rank=3)
    ap0 = (1 / 2 + 2 / 3) / 2
    assert got["mAP"] == pytest.approx((ap0 + 1.0) / 2, abs=1e-12)
    assert got["cmc"] == [0.5, 1.0, 1.0]
    assert got["rank-1"] == 0.5


def test_max_rank_beyond_a_short_gallery_counts_as_hit():
    got = reid.ranking_scores([1], [0], [2, 1], [0, 0], [np.array([0, 1])], max_rank=4)
    assert got["cmc"] == [0.0, 1.0, 1.0, 1.0]


# --- refusals: both evaluators refuse the same rankings and blame the same query ---------------

MUTATIONS = ("drop_query", "float", "string", "duplicate", "cross_action", "drop_item", "unknown")


def mutate(rng, document, rankings, kind, query):
    """Break the ranking of `query` (a bbox id string) in the way `kind` names."""
    ranked = rankings[query]
    position = int(rng.integers(len(ranked)))
    action = document["query"][query]["action_idx"]
    if kind == "drop_query":
        del rankings[query]
    elif kind == "float":
        ranked[position] = float(ranked[position])
    elif kind == "string":
        ranked[position] = str(ranked[position])
    elif kind == "duplicate":
        if len(ranked) < 2:
            return False
        ranked[position] = ranked[(position + 1) % len(ranked)]
    elif kind == "cross_action":
        others = [e["bbox_idx"] for e in document["gallery"].values() if e["action_idx"] != action]
        if not others:
            return False
        ranked[position] = int(rng.choice(others))
    elif kind == "drop_item":
        del ranked[position]
    elif kind == "unknown":
        ranked[position] = 10**6 + position
    return True


def raised(function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - the test compares what each one raises
        return error
    return None


def blamed_query(message):
    found = re.search(r"query '(\d+)'", str(message))
    return found and found[1]


@pytest.mark.parametrize("seed", range(40))
def test_refusals_match_official(tmp_path, seed):
    rng = np.random.default_rng(1000 + seed)
    document, actions = make_case(rng, num_actions=int(rng.integers(2, 5)), max_gallery=8)
    rankings = rankings_of(actions)
    # Break one to three queries, so that the first failing one in file order must be found.
    broken = rng.choice(list(rankings), min(len(rankings), int(rng.integers(1, 4))), replace=False)
    changed = False
    for query in broken:
        changed |= mutate(rng, document, rankings, str(rng.choice(MUTATIONS)), str(query))
    if not changed:
        pytest.skip("no mutation applies to this case")
    gt, ranking = write(tmp_path, document, rankings)
    expected = raised(official_evaluate, gt, ranking)
    got = raised(reid.evaluate, gt, ranking)
    assert expected is not None and got is not None
    if isinstance(expected, TypeError):
        assert isinstance(got, TypeError)
    else:  # the official ValueError, or KeyError for an id that is no gallery sample
        assert isinstance(got, reid.RankingError) and not isinstance(got, TypeError)
    if not isinstance(expected, KeyError):
        assert f"query '{blamed_query(expected)}'" in str(got)
        sample = re.search(r"[Gg]allery sample '(\d+)'", str(expected))
        if sample:  # duplicate, cross-action, missing: the same gallery sample is named
            assert f"gallery sample '{sample[1]}'" in str(got)


def _one_action_case():
    document = {
        "query": {
            "0": {"bbox_idx": 0, "action_idx": 1, "person_uid": 5},
            "1": {"bbox_idx": 1, "action_idx": 1, "person_uid": 6},
            "2": {"bbox_idx": 2, "action_idx": 2, "person_uid": 7},
        },
        "gallery": {
            "0": {"bbox_idx": 0, "action_idx": 1, "person_uid": 5},
            "1": {"bbox_idx": 1, "action_idx": 1, "person_uid": 6},
            "2": {"bbox_idx": 2, "action_idx": 2, "person_uid": 7},
            "3": {"bbox_idx": 3, "action_idx": 2, "person_uid": 8},
        },
    }
    return document, {"0": [0, 1], "1": [1, 0], "2": [3, 2]}


@pytest.mark.parametrize(
    "change, official_error, error, words",
    [
        (lambda d, r: r.pop("1"), ValueError, reid.RankingError, "no entry"),
        (lambda d, r: r["1"].__setitem__(0, 1.0), TypeError, TypeError, "integer"),
        (lambda d, r: r["1"].__setitem__(1, 1), ValueError, reid.RankingError, "more than once"),
        (lambda d, r: r["1"].__setitem__(1, 2), ValueError, reid.RankingError, "action 2"),
        (lambda d, r: r["1"].pop(), ValueError, reid.RankingError, "is not ranked"),
        (lambda d, r: r["1"].__setitem__(1, 99), KeyError, reid.RankingError, "not a gallery"),
        (lambda d, r: r.__setitem__("1", 4), TypeError, TypeError, "integer"),
        (
            lambda d, r: d["gallery"]["1"].__setitem__("person_uid", 9),
            ValueError,
            reid.RankingError,
            "person_uid",
        ),
        (
            lambda d, r: (
                d["query"]["1"].__setitem__("action_idx", 3),
                r.__setitem__("1", []),
            ),
            KeyError,
            reid.RankingError,
            "no gallery sample",
        ),
    ],
    ids=[
        "missing-query",
        "non-int",
        "duplicate",
        "cross-action",
        "missing-gallery",
        "unknown-id",
        "not-a-list",
        "identity-absent",
        "action-without-gallery",
    ],
)
def test_each_refusal(tmp_path, change, official_error, error, words):
    document, rankings = _one_action_case()
    change(document, rankings)
    gt, ranking = write(tmp_path, document, rankings)
    with pytest.raises(official_error):
        official_evaluate(gt, ranking)
    with pytest.raises(error, match=words) as caught:
        reid.evaluate(gt, ranking)
    assert "'1'" in str(caught.value)  # the broken query is named


def test_extra_queries_in_the_ranking_are_ignored(tmp_path):
    document, rankings = _one_action_case()
    rankings["77"] = [1, 2, 3]
    gt, ranking = write(tmp_path, document, rankings)
    assert reid.evaluate(gt, ranking)["mAP"] == official_evaluate(gt, ranking)["mAP"]


# --- the array API equals the file API --------------------------------------------------------


def arrays_of(document, rankings):
    queries, gallery = document["query"], document["gallery"]
    row_of = {int(g): row for row, g in enumerate(gallery)}
    return dict(
        query_pids=[e["person_uid"] for e in queries.values()],
        query_actions=[e["action_idx"] for e in queries.values()],
        gallery_pids=[e["person_uid"] for e in gallery.values()],
        gallery_actions=[e["action_idx"] for e in gallery.values()],
        rankings=[np.array([row_of[g] for g in rankings[q]]) for q in queries],
    )


@pytest.mark.parametrize("seed", range(5))
def test_array_api_equals_file_api(tmp_path, seed):
    rng = np.random.default_rng(2000 + seed)
    document, actions = make_case(rng, tie_levels=4 if seed % 2 else None)
    rankings = rankings_of(actions)
    gt, ranking = write(tmp_path, document, rankings)
    from_files = reid.evaluate(gt, ranking, max_rank=5)
    assert reid.ranking_scores(**arrays_of(document, rankings), max_rank=5) == from_files

    per_action = [
        (
            distances,
            [document["query"][str(q)]["person_uid"] for q in q_ids],
            [document["gallery"][str(g)]["person_uid"] for g in g_ids],
        )
        for q_ids, g_ids, distances in actions
    ]
    from_distances = reid.scores_from_distances(*zip(*per_action), max_rank=5)
    assert from_distances["cmc"] == from_files["cmc"]
    assert from_distances["mAP"] == pytest.approx(from_files["mAP"], abs=1e-12)


def test_ties_rank_in_gallery_order():
    # All distances equal: the gallery order decides, so the match at row 2 is at rank 3.
    got = reid.scores_from_distances([np.zeros((1, 3))], [[4]], [[1, 2, 4]], max_rank=3)
    assert got["cmc"] == [0.0, 0.0, 1.0]
    assert got["mAP"] == pytest.approx(1 / 3)
    assert reid.rank_gallery(np.zeros((2, 3))).tolist() == [[0, 1, 2], [0, 1, 2]]


def test_array_api_refusals():
    pids, actions = [5, 6], [0, 0]
    with pytest.raises(reid.RankingError, match="row 1.*more than once"):
        reid.ranking_scores([5, 6], [0, 0], pids, actions, [np.array([0, 1]), np.array([1, 1])])
    with pytest.raises(TypeError, match="row 0"):
        reid.ranking_scores([5], [0], pids, actions, [np.array([0.0, 1.0])])
    with pytest.raises(reid.RankingError, match="not a gallery"):
        reid.ranking_scores([5], [0], pids, actions, [np.array([0, 2])])
    with pytest.raises(reid.RankingError, match="person_uid"):
        reid.scores_from_distances([np.zeros((1, 2))], [[7]], [[5, 6]])
    with pytest.raises(ValueError, match="NaN"):
        reid.rank_gallery(np.array([[0.0, np.nan]]))


def test_cli_prints_map_and_rank1(tmp_path, capsys):
    document, rankings = _one_action_case()
    gt, ranking = write(tmp_path, document, rankings)
    assert reid.main(["--groundtruth", str(gt), "--ranking", str(ranking)]) == 0
    out = capsys.readouterr().out
    expected = official_evaluate(gt, ranking)
    assert f"mAP    : {100 * expected['mAP']:.2f}" in out
    assert f"rank-1 : {100 * expected['rank-1']:.2f}" in out


# --- from embeddings: the per-action ranking and its scores ------------------------------------


def embedding_case(rng, *, num_actions, dim=8, levels=None):
    """Ground truth plus query/gallery embeddings; `levels` quantises them so distances tie."""
    document, _ = make_case(rng, num_actions=num_actions, max_gallery=20)
    query_ids = [int(q) for q in document["query"]]
    gallery_ids = [int(g) for g in document["gallery"]]
    identity = {}  # person -> a centre, so that rankings are not random

    def embed(entry):
        centre = identity.setdefault(entry["person_uid"], rng.normal(size=dim))
        vector = centre + rng.normal(scale=1.0, size=dim)
        return np.round(vector * levels) / levels if levels else vector

    arrays = {}
    for subset, ids in (("query", query_ids), ("gallery", gallery_ids)):
        entries = [document[subset][str(i)] for i in ids]
        arrays[subset] = (
            np.stack([embed(e) for e in entries]),
            np.array([e["person_uid"] for e in entries]),
            np.array([e["action_idx"] for e in entries]),
            np.array(ids),
        )
    return document, arrays


@pytest.mark.parametrize(
    "seed, distance", [(0, "euclidean"), (1, "cosine"), (2, "euclidean"), (3, "cosine")]
)
def test_scores_from_embeddings_equal_official(tmp_path, seed, distance):
    rng = np.random.default_rng(3000 + seed)
    document, arrays = embedding_case(rng, num_actions=40, levels=1 if seed >= 2 else None)
    q_emb, q_pids, q_actions, q_ids = arrays["query"]
    g_emb, g_pids, g_actions, g_ids = arrays["gallery"]
    rankings = reid.rank_by_action(q_emb, q_actions, g_emb, g_actions, distance=distance)
    for q, ranked in zip(q_ids, rankings):  # each ranking: exactly its action's gallery
        action = document["query"][str(q)]["action_idx"]
        assert sorted(ranked.tolist()) == np.flatnonzero(g_actions == action).tolist()
    gt, ranking = write(
        tmp_path, document, {str(q): g_ids[r].tolist() for q, r in zip(q_ids, rankings)}
    )
    expected = official_evaluate(gt, ranking)
    got = reid.scores_from_embeddings(
        q_emb, q_pids, q_actions, g_emb, g_pids, g_actions, distance=distance, max_rank=3
    )
    assert abs(got["mAP"] - expected["mAP"]) <= 1e-9
    assert got["rank-1"] == float(expected["rank-1"])
    assert got == reid.evaluate(gt, ranking, max_rank=3)


def test_rank_by_action_orders_by_distance_with_ties_in_row_order():
    gallery = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    gallery_actions = np.array([4, 4, 4, 4, 9])
    queries = np.array([[1.1, 0.0], [5.0, 5.0], [2.9, 0.0]])
    rankings = reid.rank_by_action(queries, [4, 9, 4], gallery, gallery_actions)
    assert [r.tolist() for r in rankings] == [[2, 3, 0, 1], [4], [1, 2, 3, 0]]
    cosine = reid.rank_by_action(
        [[1.0, 1.0]], [4], [[2.0, 2.0], [1.0, 0.0], [0.0, 3.0]], [4, 4, 4], distance="cosine"
    )
    assert cosine[0].tolist() == [0, 1, 2]  # same direction first; the two others tie at 45°


def test_embedding_api_refusals():
    q, g = np.zeros((1, 2)), np.zeros((2, 2))
    with pytest.raises(reid.RankingError, match="row 0.*no gallery sample is from"):
        reid.scores_from_embeddings(q, [1], [7], g, [1, 2], [3, 3])
    with pytest.raises(reid.RankingError, match="person_uid"):
        reid.scores_from_embeddings(q, [5], [3], g, [1, 2], [3, 3])
    with pytest.raises(ValueError, match="NaN"):
        reid.rank_by_action(np.full((1, 2), np.nan), [3], g, [3, 3])
    with pytest.raises(ValueError, match="one dim"):
        reid.rank_by_action(np.zeros((1, 3)), [3], g, [3, 3])
    with pytest.raises(ValueError, match="one action per embedding"):
        reid.rank_by_action(q, [3, 3], g, [3, 3])
    with pytest.raises(ValueError, match="unknown distance"):
        reid.rank_by_action(q, [3], g, [3, 3], distance="manhattan")


# --- the submission validator reports what the official evaluator refuses ---------------------


@pytest.mark.parametrize("seed", range(12))
def test_validator_flags_what_official_refuses(tmp_path, seed):
    from zoo.formats.reid_submission import validate_submission

    rng = np.random.default_rng(4000 + seed)
    document, actions = make_case(rng, num_actions=int(rng.integers(2, 5)), max_gallery=8)
    rankings = rankings_of(actions)
    gt, ranking = write(tmp_path, document, rankings)
    assert validate_submission(ranking, groundtruth=gt) == []
    query = str(rng.choice(list(rankings)))
    kind = MUTATIONS[seed % len(MUTATIONS)]
    if not mutate(rng, document, rankings, kind, query):
        pytest.skip("this mutation does not apply to this case")
    gt, ranking = write(tmp_path, document, rankings)
    assert raised(official_evaluate, gt, ranking) is not None
    problems = validate_submission(ranking, groundtruth=gt)
    assert problems, kind
    # every problem is located at the broken query, or one of its items
    assert all(p.location.startswith(f'{ranking}["{query}"]') for p in problems), problems


def test_validator_problems_and_locations(tmp_path):
    from zoo.formats.reid_submission import validate_submission

    document, rankings = _one_action_case()  # queries 0, 1 (action 1) and 2 (action 2)
    gt, _ = write(tmp_path, document, rankings)
    bad = {"0": [0, 0, 1.0], "1": [1, 2, True], "2": [3, 2], "007": [1], "9": [0, 1], "3": "x"}
    ranking = tmp_path / "bad.json"
    ranking.write_text(json.dumps(bad))
    where = {}
    for p in validate_submission(ranking, groundtruth=gt):
        where.setdefault(p.location.removeprefix(str(ranking)), []).append(p.message)
    assert "ranked again (first at [0])" in where['["0"][1]'][0]
    assert "float; write the integer 1" in where['["0"][2]'][0]
    assert "1 gallery sample of action 1 not ranked (1)" in where['["0"]'][0]
    assert "from action 2, not from the query's action 1" in where['["1"][1]'][0]
    assert "boolean" in where['["1"][2]'][0]
    assert "not a query bbox_idx" in where['["007"]'][0]
    assert "not a query of" in where['["9"]'][0]
    assert "found a str" in where['["3"]'][-1]
    assert "1 gallery sample of action 1 not ranked (0)" in where['["1"]'][0]
    assert '["2"]' not in where
    assert sum(map(len, where.values())) == 10

    # Without the ground truth only the form is checked; a missing query needs it.
    assert len(validate_submission(ranking)) == 5
    ranking.write_text(json.dumps({"0": [0, 1]}))
    problems = validate_submission(ranking, groundtruth=gt)
    assert [p.location for p in problems] == [f'{ranking}["1"]', f'{ranking}["2"]']
    assert "query 2 (action 2) has no ranking" in problems[1].message


# --- the fast readers (msgspec) and the exact path agree ---------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_fast_and_exact_paths_give_the_same_scores(tmp_path, monkeypatch, seed):
    from zoo.formats import reid_fast as formats

    pytest.importorskip("msgspec")
    rng = np.random.default_rng(5000 + seed)
    document, actions = make_case(rng, num_actions=30, tie_levels=3 if seed % 2 else None)
    if seed == 3:  # string person ids are compared as the official compares them (==)
        for subset in ("query", "gallery"):
            for entry in document[subset].values():
                entry["person_uid"] = f"p{entry['person_uid']}"
    gt, ranking = write(tmp_path, document, rankings_of(actions))
    assert formats.read_bbox_fields_fast(gt) is not None
    assert formats.read_ranking_fast(ranking) is not None
    fast = reid.evaluate(gt, ranking, max_rank=4)
    monkeypatch.setattr(formats, "msgspec", None)
    assert formats.read_bbox_fields_fast(gt) is None
    assert reid.evaluate(gt, ranking, max_rank=4) == fast


@pytest.mark.parametrize(
    "text",
    [
        '{"0": [0, 1], "1": [1, 0], "0": [1, 0]}',  # a query given twice
        '{"0": [0, 1.0], "1": [1, 0]}',  # a float
        '{"0": [0, true], "1": [1, 0]}',  # a boolean
        '{"0": [0, 1], "1": [1, 0], "a,b": [1]}',  # a comma in a key: the count cannot tell
        "[[0, 1], [1, 0]]",  # no object
    ],
)
def test_fast_ranking_reader_leaves_anything_unusual_to_the_exact_reader(tmp_path, text):
    from zoo.formats import reid_fast as formats

    pytest.importorskip("msgspec")
    path = tmp_path / "ranking_results.json"
    path.write_text(text)
    assert formats.read_ranking_fast(path) is None
    path.write_text('{"0": [0, 1], "1": [], "2": [1, 0]}')
    assert formats.read_ranking_fast(path) == {"0": [0, 1], "1": [], "2": [1, 0]}


def test_fast_bbox_reader_leaves_anything_unusual_to_the_exact_reader(tmp_path):
    from zoo.formats import reid_fast as formats

    pytest.importorskip("msgspec")
    document, _ = _one_action_case()
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(document))
    fields = formats.read_bbox_fields_fast(gt)
    assert fields["query"] == ([0, 1, 2], [1, 1, 2], [5, 6, 7])
    assert fields["gallery"] == ([0, 1, 2, 3], [1, 1, 2, 2], [5, 6, 7, 8])
    text = json.dumps(document)
    for broken in (
        text.replace(
            '"gallery": {"0"',
            '"gallery": {"1": {"bbox_idx": 1, "action_idx": 1, "person_uid": 6}, "0"',
        ),  # an entry given twice
        text.replace('"1": {"bbox_idx": 1', '"01": {"bbox_idx": 1', 1),  # key is not the bbox_idx
        text.replace('"action_idx": 2', '"action_idx": 2.0', 1),
        text.replace('"person_uid": 7', '"person_uid": true', 1),
        text.replace('"gallery"', '"galleries"'),
    ):
        gt.write_text(broken)
        assert formats.read_bbox_fields_fast(gt) is None, broken
        with pytest.raises(reid.formats.ReidFormatError):
            reid.evaluate(gt, tmp_path / "unused.json")


def test_a_query_given_twice_is_refused(tmp_path):
    document, rankings = _one_action_case()
    gt, ranking = write(tmp_path, document, rankings)
    ranking.write_text(ranking.read_text()[:-1] + ', "0": [1, 0]}')
    assert official_evaluate(gt, ranking)["mAP"] > 0  # the official reader keeps the last one
    with pytest.raises(reid.formats.ReidFormatError, match="twice"):
        reid.evaluate(gt, ranking)


# --- the typed readers: used on ordinary files, never a different answer from the exact path ---


def full_entries(document, *, sort=False):
    """`document` with every bbox_info field, as the real files have them (dashes included)."""
    out = {}
    for subset in ("query", "gallery"):
        entries = document[subset].items()
        if sort:
            entries = sorted(entries, key=lambda item: int(item[0]))
        out[subset] = {
            key: {
                **entry,
                "frame_idx": 3,
                "clazz": "Player_team_left",
                "id": "10",
                "UAI": f"000{key}r001",
                "relative_path": f"england_epl/2016-2017/2017-01-02 - 18-00 A 1 - 0 B/{key}",
                "height": 120,
                "width": 40,
            }
            for key, entry in entries
        }
    return out


def outcome(function, *args):
    """What `function(*args)` gives: its result, or the type and message of what it raises."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - compared between the two paths
        return type(error).__name__, str(error)


def exact_outcome(monkeypatch, gt, ranking):
    with monkeypatch.context() as patch:
        patch.setattr(reid_fast, "msgspec", None)
        return outcome(reid.evaluate, gt, ranking)


@pytest.mark.parametrize("sort", [False, True])
@pytest.mark.parametrize("ranking_order", ["file", "reversed"])
def test_typed_readers_take_ordinary_files(tmp_path, monkeypatch, sort, ranking_order):
    pytest.importorskip("msgspec")
    rng = np.random.default_rng(6000 + sort)
    document, actions = make_case(rng, num_actions=25)
    rankings = rankings_of(actions)
    if ranking_order == "reversed":
        rankings = dict(reversed(rankings.items()))
    document = full_entries(document, sort=sort)
    gt, ranking = write(tmp_path, document, rankings)
    columns = reid_fast.read_bbox_columns_fast(gt)
    assert columns is not None and reid_fast.read_ranking_by_index_fast(ranking) is not None
    for subset in ("query", "gallery"):  # in file order
        entries = document[subset].values()
        assert columns[subset].bbox_idx.tolist() == [e["bbox_idx"] for e in entries]
        assert columns[subset].action_idx.tolist() == [e["action_idx"] for e in entries]
        assert columns[subset].person_uid.tolist() == [e["person_uid"] for e in entries]
    assert reid._evaluate_fast(gt, ranking, 1) is not None  # no detour through the exact path
    got = reid.evaluate(gt, ranking)
    assert got == exact_outcome(monkeypatch, gt, ranking)
    assert abs(got["mAP"] - official_evaluate(gt, ranking)["mAP"]) <= 1e-9


def _sorted_case(tmp_path, *, gallery_first=False):
    rng = np.random.default_rng(6100)
    document, actions = make_case(rng, num_actions=6)
    document = full_entries(document, sort=True)
    if gallery_first:
        document = {"gallery": document["gallery"], "query": document["query"]}
    return document, rankings_of(actions)


@pytest.mark.parametrize("gallery_first", [False, True])
@pytest.mark.parametrize("subset", ["query", "gallery"])
@pytest.mark.parametrize("first", [True, False])
def test_a_minus_zero_key_is_refused_as_by_the_exact_reader(
    tmp_path, monkeypatch, gallery_first, subset, first
):
    # msgspec reads the key "-0" as the int 0; the exact reader refuses it (not its bbox_idx).
    pytest.importorskip("msgspec")
    document, rankings = _sorted_case(tmp_path, gallery_first=gallery_first)
    entries = document[subset]
    if not first:  # key 0 later in its subset: found by the search of the whole file
        entries = dict(reversed(entries.items()))
    document[subset] = {("-0" if key == "0" else key): entry for key, entry in entries.items()}
    gt, ranking = write(tmp_path, document, rankings)
    assert reid_fast.read_bbox_columns_fast(gt) is None
    with pytest.raises(reid.formats.ReidFormatError, match="'-0'"):
        reid.evaluate(gt, ranking)
    # the same file with "0" is read, whichever subset comes first and wherever key 0 is
    document[subset] = entries
    gt, ranking = write(tmp_path, document, rankings)
    assert reid_fast.read_bbox_columns_fast(gt) is not None
    assert reid.evaluate(gt, ranking) == exact_outcome(monkeypatch, gt, ranking)


def test_a_subset_name_as_a_string_does_not_mislead_the_zero_key_check(tmp_path):
    pytest.importorskip("msgspec")
    document, rankings = _sorted_case(tmp_path)
    for entry in document["query"].values():
        entry["clazz"] = "gallery"  # a '"gallery"' before the top-level key
    document["gallery"] = {("-0" if k == "0" else k): e for k, e in document["gallery"].items()}
    gt, ranking = write(tmp_path, document, rankings)
    assert reid_fast.read_bbox_columns_fast(gt) is None
    document["gallery"] = {("0" if k == "-0" else k): e for k, e in document["gallery"].items()}
    gt, ranking = write(tmp_path, document, rankings)
    assert reid_fast.read_bbox_columns_fast(gt) is not None
    assert reid._evaluate_fast(gt, ranking, 1) is not None


def _replace_once(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


HUGE = 10**22
GROUND_TRUTH_EDITS = {
    "gt indented": lambda t: json.dumps(json.loads(t), indent=1),
    "gt escaped key": lambda t: _replace_once(t, '"1": {', '"\\u0031": {'),
    "gt escaped key twice": lambda t: _replace_once(
        t, '"gallery": {', '"gallery": {"\\u0031": {"bbox_idx": 1, "action_idx": 0, '
        '"person_uid": 0}, '
    ),
    "gt escaped text": lambda t: t.replace('"Player_team_left"', '"Pl\\u00e4yer"'),
    "gt non-ascii text": lambda t: t.replace('"Player_team_left"', '"Spieler_\u00e4"'),
    "gt leading zero key": lambda t: _replace_once(t, '"1": {', '"01": {'),
    "gt minus zero key": lambda t: t.replace('"0": {', '"-0": {'),
    "gt minus zero gallery key": lambda t: _replace_once(
        t.replace('"0": {', '"-0": {'), '"-0": {', '"0": {'
    ),
    "gt minus zero bbox": lambda t: t.replace('"bbox_idx": 0,', '"bbox_idx": -0,'),
    "gt negative key": lambda t: t.replace('"0": {"bbox_idx": 0,', '"-5": {"bbox_idx": -5,'),
    "gt nested object": lambda t: _replace_once(t, '"height": 120', '"height": {"a": 1}'),
    "gt brace in a string": lambda t: t.replace('"000', '"{00', 1),
    "gt entry twice": lambda t: _replace_once(
        t, '"gallery": {', '"gallery": {"2": {"bbox_idx": 2, "action_idx": 0, "person_uid": 1}, '
    ),
    # a number beyond 64 bits (the field's own value moved to an unused field "x")
    "gt huge uid": lambda t: _replace_once(t, '"person_uid": ', f'"person_uid": {HUGE}, "x": '),
    "gt huge action": lambda t: _replace_once(t, '"action_idx": ', f'"action_idx": {HUGE}, "x": '),
    "gt huge uids": lambda t: t.replace('"person_uid": ', f'"person_uid": {HUGE}'),
    "gt huge key": lambda t: t.replace('"0": {"bbox_idx": 0,', f'"{HUGE}": {{"bbox_idx": {HUGE},'),
    "gt string uid": lambda t: t.replace('"person_uid": 1,', '"person_uid": "1",'),
    "gt float uid": lambda t: _replace_once(t, '"person_uid": 1,', '"person_uid": 1.0,'),
    "gt gallery first": lambda t: json.dumps(dict(reversed(json.loads(t).items()))),
    "gt extra top-level key": lambda t: _replace_once(t, "{", '{"version": "query", '),
}

RANKING_EDITS = {
    "ranking indented": lambda t: json.dumps(json.loads(t), indent=2),
    "ranking reversed": lambda t: json.dumps(dict(reversed(json.loads(t).items()))),
    "ranking extra query": lambda t: t[:-1] + ', "99999": [1, 2]}',
    "ranking leading zero extra": lambda t: t[:-1] + ', "007": [1]}',
    "ranking leading zero key": lambda t: _replace_once(t, '"1": [', '"01": ['),
    "ranking minus zero key": lambda t: _replace_once(t, '"0": [', '"-0": ['),
    "ranking escaped key": lambda t: _replace_once(t, '"1": [', '"\\u0031": ['),
    "ranking query twice": lambda t: f'{t[:-1]}, "0": {json.dumps(json.loads(t)["0"][::-1])}}}',
    "ranking negative item": lambda t: _replace_once(t, "[", "[-1, "),
    "ranking empty list": lambda t: _replace_once(t, '"1": [', '"1": [], "unused": ['),
    "ranking huge item": lambda t: _replace_once(t, "[", "[" + "1" * 25 + ", "),
    "ranking float item": lambda t: _replace_once(t, "]", ".0]"),
}


def _field_twice(text):
    return _replace_once(text, '"action_idx":', '"action_idx": 99, "action_idx":')


def test_a_field_given_twice_in_an_entry_reads_as_officially(tmp_path):
    # Documented: the fast path takes a repeated field at its last value, as json.load does.
    pytest.importorskip("msgspec")
    rng = np.random.default_rng(6200)
    document, actions = make_case(rng, num_actions=5, max_gallery=6)
    gt, ranking = write(tmp_path, full_entries(document, sort=True), rankings_of(actions))
    gt.write_text(_field_twice(gt.read_text()))
    assert reid_fast.read_bbox_columns_fast(gt) is not None
    assert abs(reid.evaluate(gt, ranking)["mAP"] - official_evaluate(gt, ranking)["mAP"]) <= 1e-9


@pytest.mark.parametrize("edit", list(GROUND_TRUTH_EDITS) + list(RANKING_EDITS))
def test_fast_path_declines_or_agrees_with_the_exact_path(tmp_path, monkeypatch, edit):
    # Whatever the fast readers accept, they read as the exact path does: same scores, same error.
    pytest.importorskip("msgspec")
    rng = np.random.default_rng(6200)
    document, actions = make_case(rng, num_actions=5, max_gallery=6)
    gt, ranking = write(tmp_path, full_entries(document, sort=True), rankings_of(actions))
    for path, edits in ((gt, GROUND_TRUTH_EDITS), (ranking, RANKING_EDITS)):
        if edit in edits:
            path.write_text(edits[edit](path.read_text()), encoding="utf-8")
    assert outcome(reid.evaluate, gt, ranking) == exact_outcome(monkeypatch, gt, ranking)


def test_fast_readers_keep_reading_what_is_plainly_valid(tmp_path):
    # The edits the fast path must still take (else it would be fast on no real file).
    pytest.importorskip("msgspec")
    rng = np.random.default_rng(6200)
    document, actions = make_case(rng, num_actions=5, max_gallery=6)
    gt, ranking = write(tmp_path, full_entries(document, sort=True), rankings_of(actions))
    text, ranking_text = gt.read_text(), ranking.read_text()
    for edit in ("indented", "escaped key", "escaped text", "non-ascii text", "gallery first",
                 "extra top-level key", "string uid", "huge uid", "huge uids", "minus zero bbox"):
        gt.write_text(GROUND_TRUTH_EDITS[f"gt {edit}"](text), encoding="utf-8")
        assert reid_fast.read_bbox_columns_fast(gt) is not None, edit
        if edit != "huge uid":  # (no gallery sample has that uid: the exact path says so)
            assert reid._evaluate_fast(gt, ranking, 1) is not None, edit
    gt.write_text(text)
    for edit in ("indented", "reversed", "extra query"):
        ranking.write_text(RANKING_EDITS[f"ranking {edit}"](ranking_text))
        assert reid._evaluate_fast(gt, ranking, 1) is not None, edit


def test_action_ids_beyond_64_bits_are_compared_as_officially(tmp_path):
    document, rankings = _one_action_case()
    for subset in ("query", "gallery"):
        for entry in document[subset].values():
            if entry["action_idx"] == 2:
                entry["action_idx"] = HUGE
    gt, ranking = write(tmp_path, document, rankings)
    assert reid.evaluate(gt, ranking)["mAP"] == official_evaluate(gt, ranking)["mAP"]
    rankings["2"] = [3, 0]  # a sample of another action: the huge id is named
    gt, ranking = write(tmp_path, document, rankings)
    with pytest.raises(reid.RankingError, match=f"query '2'.*action 1, not from .* action {HUGE}"):
        reid.evaluate(gt, ranking)
