"""SoccerNet tracking files: MOT rows read as TrackEval reads them, refusals naming file and line,
ini files, seqmaps, the submission zip and its validation."""

import pickle
import re
import zipfile

import numpy as np
import pytest

from zoo.formats import tracking as formats
from zoo.formats.errors import FileFormatError
from zoo.formats.validation import Problem

ROW = "1,3,10.5,20,30,40,0.9,-1,-1,-1\n"


def test_write_read_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    n = 50
    frame = rng.integers(1, 20, n)
    track_id = rng.permutation(1000)[:n]
    boxes = np.concatenate([rng.normal(500, 300, (n, 2)), rng.uniform(1, 90, (n, 2))], axis=1)
    confidence = rng.random(n)
    path = formats.write_mot(tmp_path / "a" / "SNMOT-001.txt", frame, track_id, boxes, confidence)
    rows = formats.read_mot(path, seq_length=20)
    order = np.argsort(frame, kind="stable")  # written frame by frame, same-frame order kept
    np.testing.assert_array_equal(rows.frame, frame[order])
    np.testing.assert_array_equal(rows.track_id, track_id[order])
    np.testing.assert_array_equal(rows.boxes, boxes[order])  # bit for bit
    np.testing.assert_array_equal(rows.confidence, confidence[order])
    np.testing.assert_array_equal(rows.class_id, -1)
    assert all(line.count(",") == 9 for line in path.read_text().splitlines())


def test_reads_the_rows_trackeval_reads():
    """Spaces after commas, a trailing comma, integral floats as frames and ids, 7-column tracker
    rows, CRLF line ends: the same rows as TrackEval's own reader, frame by frame."""
    trackeval = pytest.importorskip("trackeval")
    text = (
        "1, 4, 10, 20, 30, 40, 0.5, -1, -1, -1\r\n"
        "2.0,4.0,11.25,20,30,40,0.7,-1,-1,-1,\r\n"
        "1,9,100,20,30,40,1,-1,-1,-1\r\n"
    )
    rows = formats.parse_mot(text)
    np.testing.assert_array_equal(rows.frame, [1, 2, 1])
    np.testing.assert_array_equal(rows.track_id, [4, 4, 9])
    np.testing.assert_array_equal(rows.boxes[1], [11.25, 20, 30, 40])
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", newline="") as f:
        f.write(text)
        f.flush()
        official, _ = trackeval.datasets.MotChallenge2DBox._load_simple_text_file(f.name)
    for frame, lines in official.items():
        values = np.asarray(lines, dtype=float)
        mine = rows.frame == int(frame)
        np.testing.assert_array_equal(rows.track_id[mine], values[:, 1])
        np.testing.assert_array_equal(rows.boxes[mine], values[:, 2:6])
    seven = formats.parse_mot("1,4,10,20,30,40,0.5\n")
    assert seven.class_id.tolist() == [-1.0] and seven.confidence.tolist() == [0.5]


def test_empty_file_holds_no_box(tmp_path):
    (tmp_path / "e.txt").write_text("")
    rows = formats.read_mot(tmp_path / "e.txt", seq_length=5)
    assert rows.frame.shape == (0,) and rows.boxes.shape == (0, 4)


def test_gt_rows_with_zero_column_seven_are_not_evaluated():
    text = (
        "1,1,0,0,5,5,1,-1,-1,-1\n1,2,0,0,5,5,0,-1,-1,-1\n"
        "1,3,0,0,5,5,0.5,-1,-1,-1\n1,4,0,0,5,5,-1,-1,-1,-1\n"
    )
    rows = formats.parse_mot(text, groundtruth=True)
    # TrackEval casts column 7 to int: 0.5 becomes 0 (not evaluated), -1 stays (evaluated).
    assert rows.gt_evaluated.tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        (
            "1,3,1,1,5,5,1,-1,-1,-1\n1,3,2,2,5,5,1,-1,-1,-1\n",
            {},
            "line 2: track id 3 appears twice in frame 1 (also line 1)",
        ),
        ("0,3,1,1,5,5,1,-1,-1,-1\n", {}, "line 1: frame 0: frames are numbered from 1"),
        (
            ROW + "9,3,1,1,5,5,1,-1,-1,-1\n",
            {"seq_length": 8},
            "line 2: frame 9 is beyond seqLength 8",
        ),
        ("1.5,3,1,1,5,5,1,-1,-1,-1\n", {}, "line 1: frame 1.5 is not an integer"),
        ("1,3.5,1,1,5,5,1,-1,-1,-1\n", {}, "line 1: track id 3.5 is not an integer"),
        ("1,-2,1,1,5,5,1,-1,-1,-1\n", {}, "line 1: track id -2 is negative"),
        (ROW + "\n" + ROW.replace(",3,", ",4,"), {}, "line 2: blank line"),
        (ROW + "1,4,1,x,5,5,1,-1,-1,-1\n", {}, "line 2: column 4 'x' is not a number"),
        (ROW + "1,4,1,nan,5,5,1,-1,-1,-1\n", {}, "line 2: non-finite value"),
        (ROW + "1,4,1,1,5,5,1,-1,-1\n", {}, "line 2: 9 columns, but line 1 has 10"),
        ("1,4,1,1,5,5,1,2,-1,-1\n", {}, "line 1: class column (8) is 2; it must be <= 1"),
        ("1,4,1,1,5,5\n", {}, "line 1: 6 columns; a tracker file needs at least 7"),
        ("1,4,1,1,5,5,1\n", {"groundtruth": True}, "a ground-truth file needs at least 8"),
        ("1 4 1 1 5 5 1 -1 -1 -1\n", {}, "columns must be separated by commas"),
    ],
)
def test_bad_rows_are_refused_with_file_and_line(tmp_path, text, kwargs, message):
    path = tmp_path / "SNMOT-001.txt"
    path.write_text(text)
    with pytest.raises(formats.TrackingFormatError) as error:
        formats.read_mot(path, **kwargs)
    assert str(error.value).startswith(f"{path}:line ")
    assert message in str(error.value)
    assert isinstance(error.value, FileFormatError)
    copy = pickle.loads(pickle.dumps(error.value))
    assert str(copy) == str(error.value) and copy.line == error.value.line


def test_gt_class_column_is_not_checked():
    rows = formats.parse_mot("1,4,1,1,5,5,1,7,-1,-1\n", groundtruth=True)
    assert rows.class_id.tolist() == [7.0]


def test_writer_refuses_what_the_evaluator_would(tmp_path):
    box = [[1, 1, 5, 5]]
    with pytest.raises(ValueError, match="frames are numbered from 1"):
        formats.write_mot(tmp_path / "a.txt", [0], [1], box)
    with pytest.raises(ValueError, match="appears twice in frame 2"):
        formats.write_mot(tmp_path / "a.txt", [2, 2], [1, 1], box * 2)
    with pytest.raises(ValueError, match="width or height <= 0"):
        formats.write_mot(tmp_path / "a.txt", [1], [1], [[1, 1, 0, 5]])
    with pytest.raises(ValueError, match="integers"):
        formats.write_mot(tmp_path / "a.txt", [1.5], [1], box)
    with pytest.raises(ValueError, match=">= 0"):
        formats.write_mot(tmp_path / "a.txt", [1], [-1], box)


def test_seqinfo(tmp_path):
    info = formats.SeqInfo(
        750,
        name="SNMOT-116",
        frame_rate=25,
        im_width=1920,
        im_height=1080,
        im_dir="img1",
        im_ext=".jpg",
    )
    path = formats.write_seqinfo(tmp_path / "seqinfo.ini", info)
    assert formats.read_seqinfo(path) == info
    assert (
        formats.parse_seqinfo("[Sequence]\nSEQLENGTH = 30\n").seq_length == 30
    )  # keys ignore case
    for text, message in [
        ("[Other]\nseqLength=3\n", "no [Sequence] section"),
        ("[Sequence]\nname=x\n", "no seqLength"),
        ("[Sequence]\nseqLength=3.0\n", "seqLength '3.0' is not an integer"),
        ("[Sequence]\nseqLength=0\n", "must be >= 1"),
        ("[Sequence]\nseqLength=3\nseqlength=4\n", "given twice"),
        ("[Sequence]\nseqLength=3\nimWidth=wide\n", "imWidth 'wide' is not an integer"),
        ("seqLength=3\n", "not a valid ini file"),
    ]:
        with pytest.raises(formats.TrackingFormatError, match=re.escape(message)):
            formats.parse_seqinfo(text, path="seqinfo.ini")


def test_gameinfo(tmp_path):
    text = (
        "[Sequence]\nname=SNMOT-060\nactionClass=Corner\nnum_tracklets=4\n"
        "trackletID_1= player team left;4\ntrackletID_2= goalkeeper team right;1\n"
        "trackletID_3= referee;main\ntrackletID_10= ball\n"
    )
    info = formats.parse_gameinfo(text)
    assert info.name == "SNMOT-060" and info.num_tracklets == 4
    assert info.tracklets == {
        1: formats.Tracklet("player team left", "4"),
        2: formats.Tracklet("goalkeeper team right", "1"),
        3: formats.Tracklet("referee", "main"),
        10: formats.Tracklet("ball", None),
    }
    assert info.fields["actionClass"] == "Corner"
    path = formats.write_gameinfo(tmp_path / "gameinfo.ini", info.tracklets, name="SNMOT-060")
    again = formats.read_gameinfo(path)
    assert again.tracklets == info.tracklets and again.num_tracklets == 4
    with pytest.raises(formats.TrackingFormatError, match="not a valid ini"):
        formats.parse_gameinfo("[Sequence]\ntrackletID_1= ball;1\ntrackletID_1= referee;main\n")
    with pytest.raises(formats.TrackingFormatError, match="described twice"):
        formats.parse_gameinfo("[Sequence]\ntrackletID_1= ball;1\ntrackletid_01= referee;main\n")
    with pytest.raises(formats.TrackingFormatError, match="no role"):
        formats.parse_gameinfo("[Sequence]\ntrackletID_1= ;1\n")
    with pytest.raises(formats.TrackingFormatError, match="num_tracklets 'many'"):
        formats.parse_gameinfo("[Sequence]\nnum_tracklets=many\n")


def test_seqmap(tmp_path):
    path = formats.write_seqmap(tmp_path / "SNMOT-x.txt", ["SNMOT-116", "SNMOT-117"])
    assert formats.read_seqmap(path) == ("SNMOT-116", "SNMOT-117")
    assert formats.parse_seqmap("name\n\nSNMOT-1\n\n") == ("SNMOT-1",)
    with pytest.raises(formats.TrackingFormatError, match="header line 'name'"):
        formats.parse_seqmap("SNMOT-116\nSNMOT-117\n")
    with pytest.raises(formats.TrackingFormatError, match="listed twice"):
        formats.parse_seqmap("name\nSNMOT-1\nSNMOT-1\n")


def write_groundtruth(root, lengths):
    for name, length in lengths.items():
        (root / name / "gt").mkdir(parents=True)
        formats.write_seqinfo(root / name / "seqinfo.ini", formats.SeqInfo(length, name=name))
        (root / name / "gt" / "gt.txt").write_text(
            f"1,1,0,0,5,5,1,-1,-1,-1\n{length},1,0,0,5,5,1,-1,-1,-1\n"
        )


def test_submission_zip_and_reading_it_back(tmp_path):
    rows = formats.MotRows(
        np.array([2, 1]),
        np.array([5, 6]),
        np.array([[1.0, 2, 3, 4], [5, 6, 7, 8]]),
        np.array([0.5, 1.0]),
        np.full(2, -1.0),
    )
    path = formats.write_submission(
        tmp_path, {"SNMOT-116": rows, "SNMOT-117": ([1], [1], [[0, 0, 9, 9]])}
    )
    assert path.name == formats.SUBMISSION_FILE
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["SNMOT-116.txt", "SNMOT-117.txt"]
    results = formats.read_results(path, {"SNMOT-116": 3, "SNMOT-117": 3})
    np.testing.assert_array_equal(results["SNMOT-116"].frame, [1, 2])
    np.testing.assert_array_equal(results["SNMOT-116"].boxes, [[5, 6, 7, 8], [1, 2, 3, 4]])
    with pytest.raises(FileNotFoundError, match="no tracker file for SNMOT-118"):
        formats.read_results(path, {"SNMOT-118": 3})
    with pytest.raises(formats.TrackingFormatError, match="frame 2 is beyond seqLength 1"):
        formats.read_results(path, {"SNMOT-116": 1})
    with pytest.raises(ValueError, match="not a sequence name"):
        formats.write_submission(tmp_path / "x.zip", {"a/b": rows})

    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("results/SNMOT-116.txt", ROW)
    with pytest.raises(
        FileNotFoundError, match="found results/SNMOT-116.txt: files must be at the root"
    ):
        formats.read_results(nested, {"SNMOT-116": 3})

    write_groundtruth(tmp_path / "gt", {"SNMOT-116": 3, "SNMOT-117": 3})
    assert formats.validate_submission(path, groundtruth=tmp_path / "gt") == []
    assert formats.validate_submission(path) == []


def test_validation_collects_every_problem(tmp_path):
    gt = tmp_path / "gt"
    write_groundtruth(gt, {"SNMOT-001": 5, "SNMOT-002": 5, "SNMOT-003": 5})
    bad = (
        "1,1,0,0,5,5,1,-1,-1,-1\n"  # fine
        "1,1,9,9,5,5,1,-1,-1,-1\n"  # 2: id 1 twice in frame 1
        "0,2,0,0,5,5,1,-1,-1,-1\n"  # 3: frame 0
        "6,2,0,0,5,5,1,-1,-1,-1\n"  # 4: beyond seqLength 5
        "2,2,0,0,5,5,1,2,-1,-1\n"  # 5: class 2
        "2,3,0,0,0,5,1,-1,-1,-1\n"  # 6: width 0
        "2,4,0,0,5,5,1,-1\n"  # 7: 8 columns
        "2,5,0,zero,5,5,1,-1,-1,-1\n"  # 8: not a number
        "\n"  # 9: blank
        "2,6.5,0,0,5,5,1,-1,-1,-1\n"  # 10: non-integer id
    )
    path = tmp_path / "soccernet_mot_results.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("SNMOT-001.txt", bad)
        archive.writestr("SNMOT-004.txt", ROW)  # not in the ground truth
        archive.writestr("results/SNMOT-002.txt", ROW)  # nested
        archive.writestr("readme.md", "hello")
        archive.writestr("SNMOT-003.txt", "")  # empty: valid
    problems = formats.validate_submission(path, groundtruth=gt)
    where = f"{path}:SNMOT-001.txt:line "
    expected = {
        (where + "2", "track id 1 appears twice in frame 1 (also line 1)"),
        (where + "3", "frame 0: frames are numbered from 1"),
        (where + "4", "frame 6 is beyond seqLength 5"),
        (where + "5", "class column (8) is 2; it must be <= 1 (use -1 or 1)"),
        (where + "6", "box width 0 / height 5 must be > 0"),
        (where + "8", "column 4 'zero' is not a number"),
        (where + "9", "blank line (TrackEval cannot read it)"),
        (where + "10", "track id 6.5 is not an integer"),
        (f"{path}:SNMOT-004.txt", "SNMOT-004 is not a sequence of the ground truth"),
        (
            f"{path}:results/SNMOT-002.txt",
            "not at the root; the evaluator reads <seq>.txt files at the root",
        ),
        (f"{path}:readme.md", "not a <sequence>.txt file"),
        (f"{path}:SNMOT-002.txt", "missing: every sequence needs a file"),
    }
    found = {(p.location, p.message) for p in problems}
    assert expected <= found
    column_problems = [p for p in problems if p.location == where + "7"]
    assert [p.message for p in column_problems] == [
        "8 columns; the SoccerNet format has 10 (frame,id,x,y,w,h,score,-1,-1,-1)"
    ]
    assert len(problems) == len(expected) + 1
    assert all(isinstance(p, Problem) for p in problems)

    # The same coverage checks with the ground truth as a zip or as a seqmap.
    gt_zip = tmp_path / "gt.zip"
    with zipfile.ZipFile(gt_zip, "w") as archive:
        for seq in ("SNMOT-001", "SNMOT-002", "SNMOT-003"):
            archive.write(gt / seq / "seqinfo.ini", f"test-evalAI/{seq}/seqinfo.ini")
    assert {
        (p.location, p.message) for p in formats.validate_submission(path, groundtruth=gt_zip)
    } == found
    seqmap = formats.write_seqmap(tmp_path / "seqmap.txt", ["SNMOT-001", "SNMOT-002", "SNMOT-003"])
    with_seqmap = {
        (p.location, p.message) for p in formats.validate_submission(path, groundtruth=seqmap)
    }
    assert with_seqmap == found - {(where + "4", "frame 6 is beyond seqLength 5")}


def test_validation_of_unreadable_submissions(tmp_path):
    missing = tmp_path / "none.zip"
    assert formats.validate_submission(missing)[0].location == str(missing)
    not_zip = tmp_path / "sub.zip"
    not_zip.write_text("hello")
    assert "neither a folder nor a zip" in formats.validate_submission(not_zip)[0].message
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "SNMOT-7.txt").write_text(ROW)
    (folder / "tracker7.txt").write_text(ROW)
    problems = formats.validate_submission(folder)
    assert [(p.location, p.message) for p in problems] == [
        (str(folder / "tracker7.txt"), "'tracker7' is not a SoccerNet sequence name (SNMOT-XXX)")
    ]


def test_groundtruth_tree_reading(tmp_path):
    write_groundtruth(tmp_path, {"SNMOT-002": 4, "SNMOT-001": 2})
    assert formats.list_sequences(tmp_path) == ("SNMOT-001", "SNMOT-002")
    info, rows = formats.read_groundtruth(tmp_path / "SNMOT-002")
    assert info.seq_length == 4 and rows.frame.tolist() == [1, 4]
    (tmp_path / "SNMOT-001" / "seqinfo.ini").write_text("[Sequence]\nseqLength=1\n")
    with pytest.raises(formats.TrackingFormatError, match="frame 2 is beyond seqLength 1"):
        formats.read_groundtruth(tmp_path / "SNMOT-001")
    (tmp_path / "SNMOT-001" / "gt" / "gt.txt").unlink()
    with pytest.raises(FileNotFoundError, match="gt.txt: missing"):
        formats.read_groundtruth(tmp_path / "SNMOT-001")


def test_detection_files_have_no_identity():
    text = "1,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,50,20,30,40,0.4,-1,-1,-1\n"
    rows = formats.parse_mot(text, detections=True, seq_length=1)
    assert rows.track_id.tolist() == [-1, -1] and rows.confidence.tolist() == [0.9, 0.4]
    with pytest.raises(formats.TrackingFormatError, match="track id -1 is negative"):
        formats.parse_mot(text)
