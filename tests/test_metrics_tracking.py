"""The tracking metric equals TrackEval with the SoccerNet settings, on every key, per sequence and
combined, and refuses what TrackEval refuses."""

import contextlib
import io
import pathlib
import sys
import zipfile

import numpy as np
import pytest

from zoo.formats import splits
from zoo.formats import tracking as formats
from zoo.metrics import tracking

trackeval = pytest.importorskip("trackeval")

SPLIT = "test"  # the TrackEval layout of SoccerNet.Evaluation.Tracking: SNMOT-<split>


def write_trackeval_tree(root: pathlib.Path, sequences: dict) -> pathlib.Path:
    """GT_FOLDER/SNMOT-test/<seq>/{gt/gt.txt, seqinfo.ini}, TRACKERS_FOLDER/SNMOT-test/test/data/
    <seq>.txt and a seqmap, as SoccerNet's evaluator lays them out. sequences: name ->
    (gt text, tracker text, seqLength). Returns the seqmap path."""
    for name, (gt_text, tracker_text, length) in sequences.items():
        seq = root / "gt" / f"SNMOT-{SPLIT}" / name
        (seq / "gt").mkdir(parents=True)
        (seq / "gt" / "gt.txt").write_text(gt_text)
        formats.write_seqinfo(seq / "seqinfo.ini", formats.SeqInfo(length, name=name))
        data = root / "trackers" / f"SNMOT-{SPLIT}" / "test" / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / f"{name}.txt").write_text(tracker_text)
    return formats.write_seqmap(root / "seqmap.txt", sorted(sequences))


def run_trackeval(root: pathlib.Path, seqmap: pathlib.Path) -> dict:
    """TrackEval in-process with SoccerNet's settings (SoccerNet/Evaluation/Tracking.py); only
    printing and result files are switched off. Returns {seq or COMBINED_SEQ: {metric: fields}}."""
    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update(
        PRINT_RESULTS=False,
        PRINT_CONFIG=False,
        TIME_PROGRESS=False,
        OUTPUT_SUMMARY=False,
        OUTPUT_DETAILED=False,
        PLOT_CURVES=False,
        LOG_ON_ERROR=None,
    )
    dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    dataset_config.update(
        GT_FOLDER=str(root / "gt"),
        TRACKERS_FOLDER=str(root / "trackers"),
        BENCHMARK="SNMOT",
        SPLIT_TO_EVAL=SPLIT,
        DO_PREPROC=False,
        TRACKERS_TO_EVAL=["test"],
        SEQMAP_FILE=str(seqmap),
        OUTPUT_SUB_FOLDER="eval_results",
        PRINT_CONFIG=False,
    )
    metrics_config = {
        "METRICS": ["HOTA", "CLEAR", "Identity"],
        "THRESHOLD": 0.5,
        "PRINT_CONFIG": False,
    }
    metrics = [
        trackeval.metrics.HOTA(metrics_config),
        trackeval.metrics.CLEAR(metrics_config),
        trackeval.metrics.Identity(metrics_config),
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        output, _ = trackeval.Evaluator(eval_config).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics
        )
    results = output["MotChallenge2DBox"]["test"]
    return {seq: by_class["pedestrian"] for seq, by_class in results.items()}


def ours(root: pathlib.Path, seqmap: pathlib.Path) -> dict:
    return tracking.evaluate(
        root / "gt" / f"SNMOT-{SPLIT}",
        root / "trackers" / f"SNMOT-{SPLIT}" / "test" / "data",
        seqmap=seqmap,
    )


def assert_matches(reference: dict, result: dict, atol: float = 1e-9) -> None:
    assert set(reference) == set(result)
    for seq, metrics in reference.items():
        mine = result[seq]
        for metric, fields in metrics.items():
            for field, value in fields.items():
                where = f"{seq} {metric} {field}"
                if field in tracking.HOTA_ALPHA_FIELDS:
                    np.testing.assert_allclose(
                        mine["per_alpha"][field], value, rtol=0, atol=atol, err_msg=where
                    )
                    assert abs(mine[field] - np.mean(value)) <= atol, where
                else:
                    assert abs(float(mine[field]) - float(value)) <= atol, (
                        where,
                        mine[field],
                        value,
                    )


def assert_same(expected: dict, result: dict) -> None:
    """Two results of this module are identical, key by key."""
    assert expected.keys() == result.keys()
    for seq, scores in expected.items():
        assert scores.keys() == result[seq].keys(), seq
        for field, value in scores.items():
            if field == "per_alpha":
                for name, array in value.items():
                    np.testing.assert_array_equal(result[seq][field][name], array, err_msg=name)
            else:
                assert result[seq][field] == value, (seq, field)


# --------------------------------------------------------------------------- random sequences


def gt_text(frame, ids, boxes, consider) -> str:
    return "".join(
        f"{f},{i},{x!r},{y!r},{w!r},{h!r},{c},-1,-1,-1\n"
        for f, i, (x, y, w, h), c in zip(frame, ids, boxes.tolist(), consider)
    )


def random_sequence(rng: np.random.Generator, kind: str):
    """(gt text, tracker text, seqLength) of a random sequence.

    kinds: "normal"; "crowded" (small image: many overlaps, so the Hungarian decides);
    "grid" (coarse integer boxes, duplicated tracker boxes: exact ties); "gaps" (frames without GT
    or without tracker boxes); "empty_tracker"; "empty_gt"; "zero_marked" (every GT row marked 0).
    Tracks appear, disappear and come back; the tracker switches ids between tracks, fragments
    tracks into new ids (large, non-contiguous numbers), misses boxes and adds false positives;
    boxes may lie partly outside the image; some GT rows have column 7 = 0 (not evaluated), some
    GT boxes zero width.
    """
    length = int(rng.integers(5, 60))
    num_tracks = int(rng.integers(1, 10 if kind != "crowded" else 14))
    size = {"crowded": 60.0, "grid": 40.0}.get(kind, 300.0)
    gt_rows, tracker_rows = [], []
    tracker_id = (
        np.arange(num_tracks) * int(rng.integers(3, 40)) + int(rng.integers(0, 5))
    ).tolist()
    next_id = 1000 + int(rng.integers(0, 100))
    for track in range(num_tracks):
        alive = np.zeros(length, bool)
        for _ in range(int(rng.integers(1, 3))):
            a = int(rng.integers(0, length))
            alive[a : a + int(rng.integers(1, length + 1))] = True
        position = rng.uniform(-10, size, 2)
        extent = rng.uniform(5, 30, 2)
        for t in np.flatnonzero(alive):
            position = position + rng.normal(0, 2 if kind != "grid" else 0, 2)
            box = np.concatenate([position, extent])
            if kind == "grid":
                box = np.round(box / 10) * 10 + np.array([0, 0, 10, 10])
            # Column 7: 0 and 0.5 (truncated to 0) are not evaluated, 1 and -1 are.
            consider = rng.choice([1, 1, 1, 1, 1, 1, 1, 0, 0.5, -1])
            if kind == "zero_marked":
                consider = 0
            if rng.random() < 0.02:  # a degenerate GT box: IoU 0 with everything
                box = box * np.array([1, 1, 0, 1])
            gt_rows.append((t + 1, track + 1, box, consider))
            if rng.random() < 0.03:  # a fragment: the tracker starts a new id
                tracker_id[track] = next_id
                next_id += int(rng.integers(1, 50))
            if rng.random() < 0.03 and num_tracks > 1:  # an identity switch
                other = int(rng.integers(num_tracks))
                tracker_id[track], tracker_id[other] = tracker_id[other], tracker_id[track]
            if rng.random() < 0.85:
                noise = rng.normal(0, 1.5, 4) if kind != "grid" else np.zeros(4)
                noisy = box + noise
                noisy[2:] = np.maximum(noisy[2:], 1.0)
                tracker_rows.append((t + 1, tracker_id[track], noisy))
    for _ in range(int(rng.integers(0, 2 * length))):  # false positives
        t = int(rng.integers(1, length + 1))
        box = np.concatenate([rng.uniform(-10, size, 2), rng.uniform(5, 30, 2)])
        if kind == "grid":
            box = np.round(box / 10) * 10 + np.array([0, 0, 10, 10])
        tracker_rows.append((t, next_id, box))
        next_id += 1
    if kind == "grid":  # duplicated tracker boxes: ties in every matching
        tracker_rows += [(t, next_id + i, box) for i, (t, _, box) in enumerate(tracker_rows[::3])]
    if kind == "gaps":
        drop_gt, drop_tracker = rng.random(length) < 0.3, rng.random(length) < 0.3
        gt_rows = [r for r in gt_rows if not drop_gt[r[0] - 1]]
        tracker_rows = [r for r in tracker_rows if not drop_tracker[r[0] - 1]]
    if kind == "empty_tracker":
        tracker_rows = []
    if kind == "empty_gt":
        gt_rows = []
    # One box per (frame, id) on each side; shuffle the rows (order within a frame matters).
    tracker_rows = list({(t, i): (t, i, b) for t, i, b in tracker_rows}.values())
    gt_order, tracker_order = rng.permutation(len(gt_rows)), rng.permutation(len(tracker_rows))
    gt_rows = [gt_rows[i] for i in gt_order]
    tracker_rows = [tracker_rows[i] for i in tracker_order]
    gt = gt_text(
        [r[0] for r in gt_rows],
        [r[1] for r in gt_rows],
        np.array([r[2] for r in gt_rows]).reshape(-1, 4),
        [r[3] for r in gt_rows],
    )
    tracker = formats.format_mot(
        [r[0] for r in tracker_rows],
        [r[1] for r in tracker_rows],
        np.array([r[2] for r in tracker_rows]).reshape(-1, 4),
        rng.random(len(tracker_rows)),
    )
    return gt, tracker, length


KINDS = ("normal", "crowded", "grid", "gaps", "empty_tracker", "empty_gt", "zero_marked")


@pytest.mark.parametrize("seed", range(5))
def test_random_sequences_match_trackeval(tmp_path, seed):
    rng = np.random.default_rng(seed)
    kinds = list(KINDS) + list(rng.choice(["normal", "crowded", "grid", "gaps"], 9))
    sequences = {f"SNMOT-{100 + i:03d}": random_sequence(rng, kind) for i, kind in enumerate(kinds)}
    seqmap = write_trackeval_tree(tmp_path, sequences)
    reference = run_trackeval(tmp_path, seqmap)
    result = ours(tmp_path, seqmap)
    assert_matches(reference, result)
    # The Hungarian inputs are bit-identical, so are the sums: nothing differs at all.
    assert_matches(reference, result, atol=0)


def test_dense_realistic_sequence_matches_trackeval(tmp_path):
    """~20 players per frame in a crowded image region, as in SoccerNet clips."""
    rng = np.random.default_rng(7)
    length, players = 120, 20
    position = rng.normal([900, 500], [250, 120], (players, 2))
    extent = np.stack([rng.uniform(25, 50, players), rng.uniform(70, 120, players)], 1)
    tracker_ids = np.arange(players) * 5 + 3
    gt_lines, tracker_rows = [], []
    for t in range(1, length + 1):
        position += rng.normal(0, 3, position.shape)
        for p in range(players):
            x, y = np.round(position[p], 2)
            w, h = np.round(extent[p], 2)
            gt_lines.append(f"{t},{p + 1},{x},{y},{w},{h},1,-1,-1,-1\n")
        if rng.random() < 0.05:
            a, b = rng.choice(players, 2, replace=False)
            tracker_ids[[a, b]] = tracker_ids[[b, a]]
        for p in np.flatnonzero(rng.random(players) < 0.93):
            box = np.round(np.concatenate([position[p], extent[p]]) + rng.normal(0, 3, 4), 2)
            tracker_rows.append((t, tracker_ids[p], box))
    tracker = formats.format_mot(
        [r[0] for r in tracker_rows], [r[1] for r in tracker_rows], [r[2] for r in tracker_rows]
    )
    seqmap = write_trackeval_tree(tmp_path, {"SNMOT-200": ("".join(gt_lines), tracker, length)})
    assert_matches(run_trackeval(tmp_path, seqmap), ours(tmp_path, seqmap))


def test_every_trackeval_key_is_returned(tmp_path):
    rng = np.random.default_rng(3)
    seqmap = write_trackeval_tree(tmp_path, {"SNMOT-001": random_sequence(rng, "normal")})
    reference = run_trackeval(tmp_path, seqmap)
    result = ours(tmp_path, seqmap)
    for seq in ("SNMOT-001", tracking.COMBINED):
        names = {field for fields in reference[seq].values() for field in fields}
        assert names <= set(result[seq])
        assert set(result[seq]["per_alpha"]) == set(tracking.HOTA_ALPHA_FIELDS)


def test_arrays_and_zip_give_the_file_scores(tmp_path):
    rng = np.random.default_rng(11)
    sequences = {f"SNMOT-{i:03d}": random_sequence(rng, "crowded") for i in (5, 6)}
    seqmap = write_trackeval_tree(tmp_path, sequences)
    from_files = ours(tmp_path, seqmap)

    arrays, submission = {}, {}
    for name, (gt, tracker, length) in sequences.items():
        gt_rows = formats.parse_mot(gt, groundtruth=True, seq_length=length)
        tracker_rows = formats.parse_mot(tracker, seq_length=length)
        arrays[name] = (gt_rows, tracker_rows, length)
        submission[name] = tracker_rows
    assert_same(from_files, tracking.evaluate_arrays(arrays))

    zipped = formats.write_submission(tmp_path / "soccernet_mot_results.zip", submission)
    from_zip = tracking.evaluate(tmp_path / "gt" / f"SNMOT-{SPLIT}", zipped, seqmap=seqmap)
    assert_same(from_files, from_zip)

    # Per-frame lists, as an evaluation loop collects them.
    name = "SNMOT-005"
    gt_rows, tracker_rows, length = arrays[name]
    keep = gt_rows.gt_evaluated
    per_frame = [np.flatnonzero(tracker_rows.frame == t) for t in range(1, length + 1)]
    tracks = tracking.tracks_from_frames(
        [tracker_rows.track_id[i] for i in per_frame], [tracker_rows.boxes[i] for i in per_frame]
    )
    gt_tracks = tracking.Tracks(gt_rows.frame[keep], gt_rows.track_id[keep], gt_rows.boxes[keep])
    scores = tracking.sequence_scores(gt_tracks, tracks, length)
    assert abs(scores["HOTA"] - from_files[name]["HOTA"]) <= 1e-12
    assert scores["IDSW"] == from_files[name]["IDSW"]


def test_official_soccernet_entry_point_agrees(tmp_path, monkeypatch):
    """SoccerNet.Evaluation.Tracking.evaluate on our submission zip: the 49 test sequences."""
    official = pytest.importorskip("SoccerNet.Evaluation.Tracking")
    rng = np.random.default_rng(5)
    names = splits.tracking_sequences("test")
    gt_zip, submission, arrays = tmp_path / "gt.zip", {}, {}
    with zipfile.ZipFile(gt_zip, "w") as archive:
        for name in names:
            gt, tracker, length = random_sequence(rng, "normal")
            length = min(length, 12)
            gt = "".join(line for line in gt.splitlines(True) if int(line.split(",")[0]) <= length)
            tracker_rows = formats.parse_mot(tracker)
            kept = tracker_rows.frame <= length
            submission[name] = formats.MotRows(*(column[kept] for column in tracker_rows))
            archive.writestr(f"test-evalAI/{name}/gt/gt.txt", gt)
            archive.writestr(
                f"test-evalAI/{name}/seqinfo.ini",
                formats.format_seqinfo(formats.SeqInfo(length, name=name)),
            )
            arrays[name] = (formats.parse_mot(gt, groundtruth=True), submission[name], length)
    predictions = formats.write_submission(tmp_path / "soccernet_mot_results.zip", submission)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["evaluate"])
    with contextlib.redirect_stdout(io.StringIO()):
        reference = official.evaluate(str(gt_zip), str(predictions), split="test")
    combined = tracking.evaluate_arrays(arrays)[tracking.COMBINED]
    for key in ("HOTA", "DetA", "AssA"):
        assert abs(reference[key] - combined[key]) <= 1e-9, key


def trackeval_refuses(tmp_path, gt: str, tracker: str, length: int) -> None:
    seqmap = write_trackeval_tree(tmp_path, {"SNMOT-001": (gt, tracker, length)})
    with pytest.raises(Exception):  # noqa: B017 (TrackEvalException, or IndexError for 6 columns)
        run_trackeval(tmp_path, seqmap)
    with pytest.raises(formats.TrackingFormatError) as error:
        ours(tmp_path, seqmap)
    return str(error.value)


GT = "1,1,10,10,20,40,1,-1,-1,-1\n2,1,12,10,20,40,1,-1,-1,-1\n"


@pytest.mark.parametrize(
    "gt, tracker, expected",
    [
        (
            GT,
            "1,7,10,10,20,40,0.9,-1,-1,-1\n1,7,50,10,20,40,0.8,-1,-1,-1\n",
            "line 2: track id 7 appears twice in frame 1 (also line 1)",
        ),
        (GT + "2,1,60,10,20,40,0,-1,-1,-1\n", "", "line 3: track id 1 appears twice in frame 2"),
        (GT, "3,7,10,10,20,40,0.9,-1,-1,-1\n", "line 1: frame 3 is beyond seqLength 2"),
        (GT, "0,7,10,10,20,40,0.9,-1,-1,-1\n", "frames are numbered from 1"),
        (GT, "1,7,10,10,20,40,0.9,2,-1,-1\n", "class column (8) is 2"),
        ("1,1,10,10,20,40,1\n", "", "a ground-truth file needs at least 8"),
        (GT, "1,7,10,10,20,40\n", "a tracker file needs at least 7"),
        (GT, "1,7,10,ten,20,40,0.9,-1,-1,-1\n", "column 4 'ten' is not a number"),
    ],
)
def test_refuses_what_trackeval_refuses(tmp_path, gt, tracker, expected):
    assert expected in trackeval_refuses(tmp_path, gt, tracker, 2)


def test_missing_tracker_file_is_named(tmp_path):
    seqmap = write_trackeval_tree(tmp_path, {"SNMOT-001": (GT, "", 2), "SNMOT-002": (GT, "", 2)})
    (tmp_path / "trackers" / f"SNMOT-{SPLIT}" / "test" / "data" / "SNMOT-002.txt").unlink()
    with pytest.raises(FileNotFoundError, match="SNMOT-002"):
        ours(tmp_path, seqmap)


def test_early_returns_and_combination_by_hand():
    """A sequence without tracker boxes keeps TrackEval's early-return values; perfect tracking
    gives 1 everywhere it should."""
    boxes = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [0, 0, 10, 10]], float)
    gt = tracking.Tracks(np.array([1, 1, 2]), np.array([3, 4, 3]), boxes)
    empty = tracking.Tracks(np.zeros(0, int), np.zeros(0, int), np.zeros((0, 4)))
    results = tracking.evaluate_arrays({"a": (gt, gt, 2), "b": (gt, empty, 3)})
    perfect, missed, combined = results["a"], results["b"], results[tracking.COMBINED]
    assert perfect["HOTA"] == 1 and perfect["MOTA"] == 1 and perfect["IDF1"] == 1
    assert perfect["CLR_TP"] == 3 and perfect["MT"] == 2 and perfect["CLR_Frames"] == 2
    assert missed["HOTA"] == 0 and missed["LocA"] == 1 and missed["MOTA"] == 0
    assert missed["CLR_FN"] == 3 and missed["ML"] == 2 and missed["MLR"] == 1
    assert missed["CLR_Frames"] == 0  # TrackEval's early return leaves it at 0
    assert combined["CLR_Frames"] == 2 and combined["CLR_TP"] == 3 and combined["CLR_FN"] == 3
    assert combined["MOTA"] == 0.5 and combined["IDF1"] == pytest.approx(3 / 4.5)
    assert np.allclose(combined["per_alpha"]["DetA"], 0.5)


def test_array_input_is_checked():
    boxes = np.zeros((2, 4)) + 5
    with pytest.raises(ValueError, match="appears twice in frame 1"):
        tracking.sequence_scores(
            tracking.Tracks([1, 1], [2, 2], boxes), tracking.Tracks([1], [0], boxes[:1]), 3
        )
    with pytest.raises(ValueError, match="frames must lie in 1..3"):
        tracking.sequence_scores(
            tracking.Tracks([1, 4], [2, 3], boxes), tracking.Tracks([1], [0], boxes[:1]), 3
        )
    with pytest.raises(ValueError, match="track ids must be >= 0"):
        tracking.sequence_scores(
            tracking.Tracks([1, 2], [2, -3], boxes), tracking.Tracks([1], [0], boxes[:1]), 3
        )


def test_command_line_prints_sequences_and_combined(tmp_path, capsys):
    rng = np.random.default_rng(2)
    seqmap = write_trackeval_tree(
        tmp_path,
        {"SNMOT-010": random_sequence(rng, "normal"), "SNMOT-011": random_sequence(rng, "gaps")},
    )
    gt_dir = tmp_path / "gt" / f"SNMOT-{SPLIT}"
    tracker_dir = tmp_path / "trackers" / f"SNMOT-{SPLIT}" / "test" / "data"
    assert tracking.main([str(gt_dir), str(tracker_dir), "--seqmap", str(seqmap)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["sequence", "HOTA", "DetA", "AssA"]
    assert [line.split()[0] for line in out[1:]] == ["SNMOT-010", "SNMOT-011", "COMBINED"]
    combined = tracking.evaluate(gt_dir, tracker_dir)[tracking.COMBINED]
    assert float(out[-1].split()[1]) == pytest.approx(100 * combined["HOTA"], abs=1e-3)


def test_clear_continuation_spans_frames_without_matching(tmp_path):
    """TrackEval skips frames without GT or tracker boxes: the +1000 continuation of frame 3
    comes from frame 1. A-X continue (no ID switch) although A-Y and B-X overlap better."""
    gt = (
        "1,1,0,0,10,10,1,-1,-1,-1\n"
        "2,1,0,0,10,10,1,-1,-1,-1\n"
        "3,1,0,0,10,10,1,-1,-1,-1\n"
        "3,2,2,0,10,10,1,-1,-1,-1\n"
    )
    tracker = "1,5,0,0,10,10,1,-1,-1,-1\n3,5,2,0,10,10,1,-1,-1,-1\n3,6,0,0,10,10,1,-1,-1,-1\n"
    seqmap = write_trackeval_tree(tmp_path, {"SNMOT-001": (gt, tracker, 3)})
    result = ours(tmp_path, seqmap)
    assert_matches(run_trackeval(tmp_path, seqmap), result, atol=0)
    assert result["SNMOT-001"]["IDSW"] == 0 and result["SNMOT-001"]["CLR_TP"] == 3


def test_similarities_and_their_sums_are_bit_identical(tmp_path):
    """The per-frame IoU matrices (rebuilt from the non-zero pairs), their row sums (numpy's
    pairwise summation) and column sums equal TrackEval's bit for bit: the Hungarian sees the
    same matrices."""
    rng = np.random.default_rng(4)
    for kind in ("crowded", "grid", "normal"):
        gt_text_, tracker_text_, length = random_sequence(rng, kind)
        gt_rows = formats.parse_mot(gt_text_, groundtruth=True)
        keep = gt_rows.gt_evaluated
        gt = tracking._side(
            tracking.Tracks(gt_rows.frame[keep], gt_rows.track_id[keep], gt_rows.boxes[keep]),
            length,
            "gt",
        )
        tr = tracking._side(formats.parse_mot(tracker_text_), length, "tracker")
        overlaps = tracking._overlaps(gt, tr)
        row_sums = tracking._row_sums(gt, tr, overlaps)
        col_sums = np.bincount(overlaps.tracker, weights=overlaps.similarity, minlength=len(tr.ids))
        iou = trackeval.datasets.MotChallenge2DBox._calculate_box_ious
        for t in range(length):
            g = slice(gt.start[t], gt.start[t] + gt.count[t])
            k = slice(tr.start[t], tr.start[t] + tr.count[t])
            official = iou(gt.boxes[g], tr.boxes[k], box_format="xywh")
            mine = np.zeros_like(official)
            here = overlaps.frame == t
            mine[overlaps.gt[here] - gt.start[t], overlaps.tracker[here] - tr.start[t]] = (
                overlaps.similarity[here]
            )
            assert np.array_equal(mine, official)
            if official.size:
                assert np.array_equal(row_sums[g], official.sum(1))
                assert np.array_equal(col_sums[k], official.sum(0))


def test_sparse_pair_listing_matches_the_padded_one(tmp_path, monkeypatch):
    """The pair listing used when a few frames are far more crowded than the others gives the
    same scores as the padded frame blocks."""
    rng = np.random.default_rng(9)
    sequences = {f"SNMOT-{i:03d}": random_sequence(rng, kind) for i, kind in enumerate(KINDS)}
    seqmap = write_trackeval_tree(tmp_path, sequences)
    padded = ours(tmp_path, seqmap)
    monkeypatch.setattr(tracking, "_PADDING_FACTOR", -1)
    monkeypatch.setattr(tracking, "_PADDING_SLACK", -1)
    assert_same(padded, ours(tmp_path, seqmap))
