"""The one folder-or-zip reader: a folder and its zip read the same, hidden files are skipped by
one rule in every reader and validator, and unusable paths fail naming the path."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from zoo.formats import calibration, captioning, jersey, reid, spotting, tracking
from zoo.formats.archive import Archive, is_hidden
from zoo.formats.errors import FileFormatError
from zoo.formats.game_tree import games_to_evaluate, games_with, zip_game_files
from zoo.formats.validate import read_submission_json, validate
from zoo.geometry.camera import sample_broadcast_cameras

GAME = "england_epl/2016-2017/2017-01-02 - A 1 - 0 B"
# What macOS, editors and version control leave beside the real files.
HIDDEN = (
    ".DS_Store",
    f"{GAME}/.DS_Store",
    f"{GAME}/._Labels-v2.json",
    f"__MACOSX/{GAME}/._Labels-v2.json",
    ".git/config",
    "notes/.ipynb_checkpoints/x.json",
)
FILES = {
    f"{GAME}/Labels-v2.json": b'{"annotations": []}',
    "readme.txt": b"hello",
    "a.b/c.d.json": b"[]",  # dots inside names are not hidden
}


class OtherError(FileFormatError):
    pass


def write_folder(root, files):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def write_zip(path, files, *, folders=()):
    with zipfile.ZipFile(path, "w") as archive:
        for folder in folders:
            archive.writestr(folder, b"")  # a folder entry (name ends with '/')
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name, hidden",
    [
        (".DS_Store", True),
        ("a/._b.json", True),
        ("__MACOSX/a/b.json", True),
        ("a/.hidden/b.json", True),
        ("a.b/c.json", False),
        ("league/season/game/Labels-v2.json", False),
        ("MACOSX/a.json", False),
        ("a__MACOSX/b.json", False),
        ("a/b./c", False),
    ],
)
def test_the_hidden_rule(name, hidden):
    assert is_hidden(name) is hidden


def test_a_folder_and_its_zip_read_the_same(tmp_path):
    files = dict(FILES, **{name: b"junk" for name in HIDDEN})
    folder = write_folder(tmp_path / "folder", files)
    zipped = write_zip(tmp_path / "folder.zip", files, folders=[f"{GAME}/", "empty/"])
    expected = sorted(FILES)
    with Archive(folder) as a, Archive(zipped) as b:
        assert a.members() == expected  # sorted
        assert sorted(b.members()) == expected  # zip order: folders and hidden files left out
        assert not a.is_zip and b.is_zip
        for name, data in FILES.items():
            assert a.has(name) and b.has(name)
            assert a.read(name) == b.read(name) == data
        assert a.where("readme.txt") == str(folder / "readme.txt")
        assert b.where("readme.txt") == f"{zipped}:readme.txt"
        for name in (*HIDDEN, "absent.json", GAME, f"{GAME}/"):
            assert not a.has(name) and not b.has(name), name
        assert a.read_json(f"{GAME}/Labels-v2.json") == {"annotations": []}
        assert games_with(a, "Labels-v2.json") == games_with(b, "Labels-v2.json") == [GAME]
    assert b.zip.fp is None  # the context closed the zip


def test_zip_members_keep_archive_order_and_repeats(tmp_path):
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("b.json", b"{}")
        archive.writestr("a.json", b"{}")
        with pytest.warns(UserWarning, match="Duplicate"):
            archive.writestr("b.json", b"{}")
    with Archive(path) as archive:
        assert archive.members() == ["b.json", "a.json", "b.json"]


def test_no_common_root_is_stripped(tmp_path):
    """A zip of the folder instead of its contents keeps the folder in every name: the readers
    that care report it (the validators) rather than guess."""
    path = write_zip(tmp_path / "wrapped.zip", {f"predictions/{GAME}/Labels-v2.json": b"{}"})
    with Archive(path) as archive:
        assert games_with(archive, "Labels-v2.json") == [f"predictions/{GAME}"]


def test_unusable_paths_fail_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nowhere'}: no such folder or zip"):
        Archive(tmp_path / "nowhere")
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    with pytest.raises(OtherError, match=f"{text}: neither a folder nor a zip file"):
        Archive(text, error=OtherError)
    folder = write_folder(tmp_path / "folder", {"bad.json": b"{oops", "latin.json": b"\xff"})
    with Archive(folder, error=OtherError) as archive:
        for name in ("bad.json", "latin.json"):
            with pytest.raises(OtherError, match=f"{folder / name}: invalid JSON"):
                archive.read_json(name)


def test_games_to_evaluate(tmp_path):
    other = "england_epl/2016-2017/other"
    labels = write_zip(
        tmp_path / "labels.zip", {f"{g}/Labels-v2.json": b"{}" for g in (GAME, other)}
    )
    predictions = write_folder(tmp_path / "predictions", {f"{GAME}/results.json": b"{}"})
    with Archive(labels) as l, Archive(predictions) as p:
        files = dict(label_file="Labels-v2.json", prediction_file="results.json", split_task="ball")
        assert games_to_evaluate(l, p, [GAME], **files) == [GAME]
        with pytest.raises(FileNotFoundError, match=f"1 game\\(s\\) have no results.json under "
                                                    f"{predictions}:\n  {other}"):
            games_to_evaluate(l, p, None, **files)
        with pytest.raises(FileNotFoundError, match=f"have no Labels-v2.json under {labels}"):
            games_to_evaluate(l, p, "val", **files)  # "val" is the ball lists' "valid" split
        with pytest.raises(ValueError, match=f"no game with Labels-v2.json under {labels}"):
            games_to_evaluate(l, p, [], **files)


def test_zip_game_files_leaves_hidden_files_out(tmp_path):
    root = write_folder(tmp_path / "predictions", {
        f"{GAME}/results_spotting.json": b"{}",
        f".ipynb_checkpoints/{GAME}/results_spotting.json": b"{}",  # would be 4 folders deep
    })
    path = zip_game_files(root, tmp_path / "out.zip", "results_spotting.json")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{GAME}/results_spotting.json"]


def test_folder_listings_skip_hidden_entries(tmp_path):
    for subset, bbox in (("query", 0), ("gallery", 1)):
        write_folder(tmp_path / "challenge" / subset, {
            reid.format_filename(bbox, 7, 10, 5): b"", f"._{bbox}-7-10x5.png": b"\0",
            f".thumbnails/{bbox + 2}-7-10x5.png": b"",
        })
    assert [s.bbox_idx for s in reid.list_split(tmp_path, "challenge")] == [0, 1]
    write_folder(tmp_path / "gt", {"SNMOT-001/seqinfo.ini": b"", ".SNMOT-002/seqinfo.ini": b""})
    assert tracking.list_sequences(tmp_path / "gt") == ("SNMOT-001",)
    (tmp_path / "test" / "images" / "7").mkdir(parents=True)
    (tmp_path / "test" / "images" / ".ipynb_checkpoints").mkdir()
    assert jersey.tracklet_ids(tmp_path / "test") == ["7"]


# ------------------------------------------------------- every validator applies the same rule


def spotting_submission(root):
    spotting.write_predictions(root / GAME / spotting.PREDICTION_FILE, url_local=GAME, half=1,
                               frame=[10], class_index=[2], confidence=[0.5])
    return spotting.zip_predictions(root, root.with_suffix(".zip"))


def captioning_submission(root):
    captioning.write_predictions(root / GAME / captioning.PREDICTION_FILE, url_local=GAME,
                                 half=[1], position_ms=[5000], comments=["a goal"], confidence=[1])
    return captioning.zip_predictions(root, root.with_suffix(".zip"))


def calibration_submission(root):
    camera = sample_broadcast_cameras(np.random.default_rng(0), 1).select(0)
    return calibration.write_cameras(root.with_suffix(".zip"), {"00001": camera}, split="valid")


def tracking_submission(root):
    rows = (np.array([1, 2]), np.array([0, 0]), np.array([[1.0, 2, 3, 4], [2, 3, 4, 5]]))
    return tracking.write_submission(root.with_suffix(".zip"), {"SNMOT-001": rows})


def single_json_submission(write):
    def submit(root):
        file = write(root)
        path = root.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(file, file.name)
        return path

    return submit


SUBMISSIONS = {
    "action_spotting": spotting_submission,
    "captioning": captioning_submission,
    "calibration": calibration_submission,
    "tracking": tracking_submission,
    "jersey": single_json_submission(
        lambda root: jersey.write_predictions(root / "predictions.json", {"1": 7, "2": -1})
    ),
    "reid": single_json_submission(
        lambda root: reid.write_ranking(root / reid.RANKING_FILE, {0: [1, 0], 1: [0, 1]})
    ),
}


@pytest.mark.parametrize("task", list(SUBMISSIONS))
def test_every_validator_skips_hidden_files(tmp_path, task):
    path = SUBMISSIONS[task](tmp_path / "submission")
    assert validate(task, path) == []
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
    junk = {
        ".DS_Store": b"\0\0\0\1Bud1",
        f"__MACOSX/._{members[0]}": b"\0\5\26\7",
        f"__MACOSX/{members[0].rsplit('/', 1)[0]}/._x.json": b"\0\5\26\7",
        "results/.hidden.json": b"{",
    }
    with zipfile.ZipFile(path, "a") as archive:
        for name, data in junk.items():
            archive.writestr(name, data)
    assert validate(task, path) == []


def test_the_one_json_file_of_a_folder_or_zip(tmp_path):
    folder = write_folder(tmp_path / "folder", {
        "sub/ranking_results.json": b'{"0": [1]}',
        "sub/.ipynb_checkpoints/ranking_results.json": b"{}",
        "._ranking_results.json": b"\0\5",
        ".x.json": b"{",
    })
    expected = (str(folder / "sub/ranking_results.json"), {"0": [1]}, [])
    assert read_submission_json(folder, expected_name="ranking_results.json") == expected
    assert read_submission_json(folder) == expected
    text = tmp_path / "text.zip"
    text.write_text("not a zip")
    location, document, problems = read_submission_json(text)  # not a zip: read as the file
    assert document is None and "not valid JSON" in problems[0].message
