"""Official SoccerNet ReID files: thumbnail names, the split tree, bbox_info and ranking JSON."""

import json
import pathlib

import cv2
import numpy as np
import pytest

from zoo.formats import reid
from zoo.formats.reid import ReidFormatError, ReidSample

REAL_NAME = "54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png"


def test_parse_real_name():
    assert reid.parse_filename(REAL_NAME) == dict(
        bbox_idx=54404,
        action_idx=1940,
        person_uid=33397,
        frame_idx=5089,
        role="Player_team_right",
        jersey="9",
        uai="014r002_00858c3b0003",
        height=775,
        width=449,
    )


def test_parse_letter_and_none_ids_and_paths():
    letter = reid.parse_filename("a/b/0-3-12-40-Goalkeeper_team_unknown-B-0a1-10x7.png")
    assert (letter["jersey"], letter["role"], letter["height"], letter["width"]) == (
        "B",
        "Goalkeeper_team_unknown",
        10,
        7,
    )
    assert reid.parse_filename("1-2-3-4-Main_referee-None-u-5x6.png")["jersey"] == "None"
    # A UAI holding '-' stays whole; the size is always the last field.
    assert reid.parse_filename("1-2-3-4-Side_referee-7-ab-cd-5x6.png")["uai"] == "ab-cd"


def test_parse_challenge_name():
    assert reid.parse_filename("text/12-3-64x32.png", challenge=True) == dict(
        bbox_idx=12,
        action_idx=3,
        person_uid=None,
        frame_idx=None,
        role=None,
        jersey=None,
        uai=None,
        height=64,
        width=32,
    )


@pytest.mark.parametrize(
    "name, challenge, words",
    [
        ("54404-1940-33397-5089-Player_team_right-9-775x449.png", False, "got 7 '-'-separated"),
        ("12-3-64x32.png", False, "challenge=True"),
        (REAL_NAME, True, "labelled name"),
        ("12-3-4-64x32.png", True, "challenge name"),
        (REAL_NAME.replace(".png", ".jpg"), False, ".png"),
        (REAL_NAME.replace("54404", "5440a"), False, "bbox_idx"),
        (REAL_NAME.replace("-1940-", "--"), False, "action_idx"),
        (REAL_NAME.replace("33397", "-1"), False, "person_uid"),
        (REAL_NAME.replace("775x449", "775by449"), False, "size"),
        (REAL_NAME.replace("775x449", "0x449"), False, "size"),
        ("1-2-3-4--9-u-5x6.png", False, "class"),
        ("1-2-3-4-Main referee-9-u-5x6.png", False, "class"),
        ("1-2-3-4-Main_referee--u-5x6.png", False, "ID"),
        ("12-x-64x32.png", True, "action_idx"),
    ],
)
def test_malformed_names_are_refused_naming_the_file(name, challenge, words):
    path = f"valid/query/league/season/game/0/{name}"
    with pytest.raises(ReidFormatError, match=words) as caught:
        reid.parse_filename(path, challenge=challenge)
    assert str(caught.value).startswith(path)
    assert isinstance(caught.value, ValueError)


def test_format_filename_round_trip():
    fields = reid.parse_filename(REAL_NAME)
    assert reid.format_filename(**fields) == REAL_NAME
    assert reid.format_filename(12, 3, 64, 32) == "12-3-64x32.png"
    with pytest.raises(ValueError):
        reid.format_filename(1, 2, 5, 6, person_uid=3, frame_idx=4, role="Main referee",
                             jersey="9", uai="u")


# --- a small tree in the official layout -------------------------------------------------------

PNG = cv2.imencode(".png", np.zeros((4, 3, 3), np.uint8))[1].tobytes()


def put(root: pathlib.Path, relative: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)


GAME = "england_epl/2014-2015/2015-02-21 - 18-00 Chelsea 1 - 1 Burnley"
TREE = {
    # train: two actions; the listing must come back in bbox_idx order, not path order.
    f"train/{GAME}/1/2-1-20-7-Player_team_left-10-uaiB-40x20.png": ("train", 2),
    f"train/{GAME}/0/0-0-10-5-Player_team_left-10-uaiA-40x20.png": ("train", 0),
    f"train/{GAME}/0/1-0-11-6-Main_referee-None-uai_c-30x15.png": ("train", 1),
    f"valid/query/{GAME}/3/1-3-30-9-Player_team_right-A-q1-50x25.png": ("query", 1),
    f"valid/query/{GAME}/3/0-3-31-9-Player_team_right-7-q0-50x25.png": ("query", 0),
    f"valid/gallery/{GAME}/3/0-3-30-10-Player_team_right-A-g0-52x26.png": ("gallery", 0),
    f"valid/gallery/{GAME}/3/1-3-31-11-Player_team_right-7-g1-48x24.png": ("gallery", 1),
    f"valid/gallery/{GAME}/3/2-3-32-11-Side_referee-None-g2-60x20.png": ("gallery", 2),
    "challenge/query/0-0-64x32.png": ("query", 0),
    "challenge/gallery/1-0-60x30.png": ("gallery", 1),
    "challenge/gallery/0-0-62x31.png": ("gallery", 0),
}


@pytest.fixture
def tree(tmp_path):
    for relative in TREE:
        put(tmp_path, relative)
    (tmp_path / "valid" / "valid_bbox_info.json").write_text("{}")  # not a sample: ignored
    return tmp_path


@pytest.mark.parametrize("split", ["train", "valid", "challenge"])
def test_list_split(tree, split):
    samples = reid.list_split(tree, split)
    expected = sorted(
        ((subset, bbox, path) for path, (subset, bbox) in TREE.items() if path.startswith(split)),
        key=lambda t: (["train", "query", "gallery"].index(t[0]), t[1]),
    )
    assert [(s.subset, s.bbox_idx, s.path) for s in samples] == expected
    assert all(s.split == split for s in samples)
    for sample in samples:
        name = sample.filename
        fields = reid.parse_filename(name, challenge=split == "challenge")
        assert {k: getattr(sample, k) for k in fields} == fields
        assert (tree / sample.path).is_file()
        if split == "challenge":
            assert (sample.league, sample.action, sample.relative_path) == (None, None, "")
        else:
            assert (sample.league, sample.season) == ("england_epl", "2014-2015")
            assert sample.game == GAME.split("/")[-1]
            assert sample.relative_path == f"{GAME}/{sample.action}"


def test_list_split_is_deterministic(tree):
    first = reid.list_split(tree, "valid")
    assert first == reid.list_split(tree, "valid")
    assert isinstance(first[0], ReidSample)


def test_list_split_missing_or_empty_folder_is_named(tree):
    with pytest.raises(FileNotFoundError, match=str(tree / "test")):
        reid.list_split(tree, "test")
    (tree / "test" / "query").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no .png"):
        reid.list_split(tree, "test")
    put(tree, f"test/query/{GAME}/0/0-0-1-1-Main_referee-None-u-5x5.png")
    with pytest.raises(FileNotFoundError, match=str(tree / "test" / "gallery")):
        reid.list_split(tree, "test")
    with pytest.raises(ValueError, match="unknown ReID split"):
        reid.list_split(tree, "training")


def test_list_split_refuses_duplicates_and_wrong_depth(tree):
    put(tree, f"train/{GAME}/1/2-1-21-8-Player_team_left-11-uaiX-40x20.png")
    with pytest.raises(ReidFormatError, match="bbox_idx 2 is also used"):
        reid.list_split(tree, "train")
    put(tree, "valid/query/england_epl/stray-0-1-1-Main_referee-None-u-5x5.png")
    with pytest.raises(ReidFormatError, match="sample not at"):
        reid.list_split(tree, "valid")
    put(tree, "challenge/query/0-0-1-1-Main_referee-None-u-5x5.png")
    with pytest.raises(ReidFormatError, match="challenge name"):
        reid.list_split(tree, "challenge")


# --- bbox_info and ranking files ---------------------------------------------------------------


def test_bbox_info_round_trip(tree, tmp_path):
    samples = reid.list_split(tree, "valid")
    query = [s for s in samples if s.subset == "query"]
    gallery = [s for s in samples if s.subset == "gallery"]
    path = reid.write_bbox_info(tmp_path / "out" / reid.bbox_info_file("valid"), query, gallery)
    assert path.name == "valid_bbox_info.json"
    document = json.loads(path.read_text())
    assert list(document) == ["query", "gallery"]
    assert list(document["gallery"]) == ["0", "1", "2"]
    entry = document["query"]["1"]
    assert list(entry) == list(reid.ENTRY_FIELDS)
    assert entry == {
        "bbox_idx": 1,
        "action_idx": 3,
        "person_uid": 30,
        "frame_idx": 9,
        "clazz": "Player_team_right",
        "id": "A",
        "UAI": "q1",
        "relative_path": f"{GAME}/3",
        "height": 50,
        "width": 25,
    }
    read = reid.read_bbox_info(path)
    assert read == {k: {int(b): e for b, e in v.items()} for k, v in document.items()}
    with pytest.raises(ValueError, match="no ground truth"):
        reid.bbox_info(reid.list_split(tree, "challenge")[:1], [])
    with pytest.raises(ValueError, match="gallery sample given as a query"):
        reid.bbox_info(gallery, [])


@pytest.mark.parametrize(
    "document, words",
    [
        ([], '"query" and "gallery"'),
        ({"query": {}}, '"query" and "gallery"'),
        ({"query": [], "gallery": {}}, "must map"),
        ({"query": {"0": {"bbox_idx": 0, "action_idx": 1}}, "gallery": {}}, "lacks person_uid"),
        ({"query": {"0": {"bbox_idx": "0", "action_idx": 1, "person_uid": 2}}, "gallery": {}},
         "bbox_idx '0' is not an int"),
        ({"query": {"1": {"bbox_idx": 0, "action_idx": 1, "person_uid": 2}}, "gallery": {}},
         "not its key"),
        ({"query": {}, "gallery": {"0": {"bbox_idx": 0, "action_idx": True, "person_uid": 2}}},
         "action_idx True"),
        ({"query": {}, "gallery": {"0": {"bbox_idx": 0, "action_idx": 1, "person_uid": 2.5}}},
         "person_uid 2.5"),
        ({"query": {}, "gallery": {"0": {"bbox_idx": 0, "action_idx": 1, "person_uid": 2,
                                         "height": "9"}}}, "height"),
    ],
)
def test_read_bbox_info_refuses_malformed(tmp_path, document, words):
    path = tmp_path / "test_bbox_info.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ReidFormatError, match=words) as caught:
        reid.read_bbox_info(path)
    assert str(path) in str(caught.value)


def test_duplicate_json_keys_are_refused(tmp_path):
    path = tmp_path / "ranking_results.json"
    path.write_text('{"0": [1, 2], "0": [2, 1]}')
    with pytest.raises(ReidFormatError, match="appears twice"):
        reid.read_ranking(path)
    path.write_text("{not json")
    with pytest.raises(ReidFormatError, match="not valid JSON"):
        reid.read_ranking(path)


def test_ranking_round_trip(tmp_path):
    rankings = {np.int64(10): np.array([3, 1, 2]), 2: [0, 4], 0: (5,)}
    path = reid.write_ranking(tmp_path / reid.RANKING_FILE, rankings)
    assert path.read_text() == '{"0": [5], "2": [0, 4], "10": [3, 1, 2]}'
    assert reid.read_ranking(path) == {0: [5], 2: [0, 4], 10: [3, 1, 2]}


@pytest.mark.parametrize(
    "rankings, words",
    [
        ({0: [1, 1]}, "twice"),
        ({0: [1.5]}, "not an integer"),
        ({0: [True]}, "not an integer"),
        ({-1: [1]}, "negative"),
        ({"0": [1]}, "not an integer"),
    ],
)
def test_write_ranking_refuses_malformed(tmp_path, rankings, words):
    with pytest.raises(ReidFormatError, match=words):
        reid.write_ranking(tmp_path / "r.json", rankings)


@pytest.mark.parametrize(
    "text, words",
    [
        ("[]", "expected an object"),
        ('{"a": [1]}', "not a decimal"),
        ('{"01": [1]}', "not a decimal"),
        ('{"0": 1}', "not a list"),
        ('{"0": [1.0]}', "not a bbox_idx"),
        ('{"0": [true]}', "not a bbox_idx"),
        ('{"0": [1, 1]}', "twice"),
    ],
)
def test_read_ranking_refuses_malformed(tmp_path, text, words):
    path = tmp_path / "ranking_results.json"
    path.write_text(text)
    with pytest.raises(ReidFormatError, match=words) as caught:
        reid.read_ranking(path)
    assert str(path) in str(caught.value)


def test_fast_and_diagnosing_parsers_agree():
    # parse_filename reads names with one regular expression and explains refusals field by
    # field; on random near-valid names both must accept the same names with the same fields.
    rng = np.random.default_rng(0)
    pieces = ["12", "0", "7", "x", "A", "None", "Main_referee", "u_1", "", " ", "4x3", "0x3", "a-b"]
    templates = [["1", "2", "3", "4", "Main_referee", "9", "u_1", "4x3"], ["1", "2", "4x3"]]
    accepted = 0
    for _ in range(3000):
        fields = list(templates[int(rng.integers(2))])
        for i in rng.choice(len(fields), int(rng.integers(0, 3))):
            fields[i] = str(rng.choice(pieces))
        if rng.random() < 0.2:
            fields.insert(int(rng.integers(len(fields) + 1)), str(rng.choice(pieces)))
        name = "-".join(fields) + (".png" if rng.random() < 0.95 else ".jpg")
        for challenge in (False, True):
            try:
                expected = reid._diagnose_name(name, challenge)
            except reid._NameError:
                expected = None
            try:
                got = reid.parse_filename(name, challenge=challenge)
            except ReidFormatError:
                got = None
            assert got == expected, name
            accepted += got is not None
    assert 300 < accepted < 4000


def test_written_files_are_read_by_the_official_evaluator(tree, tmp_path):
    official = pytest.importorskip("SoccerNet.Evaluation.ReIdentification")
    from zoo.metrics.reid import evaluate

    samples = reid.list_split(tree, "valid")
    query = [s for s in samples if s.subset == "query"]
    gallery = [s for s in samples if s.subset == "gallery"]
    gt = reid.write_bbox_info(tmp_path / "valid_bbox_info.json", query, gallery)
    # Query 1 (uid 30) finds gallery 0 first; query 0 (uid 31) finds gallery 1 second.
    ranking = reid.write_ranking(tmp_path / reid.RANKING_FILE, {1: [0, 1, 2], 0: [2, 1, 0]})
    expected = official.evaluate(str(gt), str(ranking))
    assert expected["mAP"] == pytest.approx((1 + 1 / 2) / 2)
    assert evaluate(gt, ranking)["mAP"] == expected["mAP"]
    assert evaluate(gt, ranking)["rank-1"] == expected["rank-1"] == 0.5
