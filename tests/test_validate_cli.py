"""`python -m zoo.formats.validate`: problems printed with their location, exit codes, the registry."""

import json
import subprocess
import sys
import types
import zipfile

import pytest

from zoo.formats import validate
from zoo.formats.validation import Problem


@pytest.fixture
def jersey_files(tmp_path):
    gt = tmp_path / "test" / "test_gt.json"
    gt.parent.mkdir()
    gt.write_text(json.dumps({"1": 7, "2": -1, "3": 10}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"1": 7, "2": -1, "3": 11}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"1": "7", "2": 7.5, "4": 3}))
    return gt, good, bad


@pytest.fixture
def reid_files(tmp_path):
    truth = {
        "query": {"0": {"bbox_idx": 0, "action_idx": 1, "person_uid": 5}},
        "gallery": {
            str(g): {"bbox_idx": g, "action_idx": a, "person_uid": p}
            for g, a, p in ((0, 1, 5), (1, 1, 6), (2, 2, 7))
        },
    }
    gt = tmp_path / "test_bbox_info.json"
    gt.write_text(json.dumps(truth))
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    for archive, ranking in ((good, {"0": [1, 0]}), (bad, {"0": [0, 2]})):
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("ranking_results.json", json.dumps(ranking))
    return gt, good, bad


def run(capsys, *argv):
    code = validate.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_valid_jersey_submission(capsys, jersey_files):
    gt, good, _ = jersey_files
    code, lines, _ = run(capsys, "jersey", good, "--groundtruth", gt)
    assert code == 0 and lines == [f"{good}: a valid jersey submission"]
    code, lines, _ = run(capsys, "jersey", good)
    assert code == 0 and "coverage not checked" in lines[-1]


def test_malformed_jersey_submission(capsys, jersey_files):
    gt, _, bad = jersey_files
    code, lines, _ = run(capsys, "jersey", bad, "--groundtruth", gt)
    assert code == 1
    missing = "missing: every tracklet needs a number (-1 when it is not visible)"
    assert lines == [
        f"{bad}[\"1\"]: '7' is a string; write the integer 7 without quotes",
        f'{bad}["2"]: 7.5 is a float, not a jersey number',
        f'{bad}["4"]: not a tracklet of the ground truth {gt}',
        f'{bad}["3"]: {missing}',
        f"4 problems in jersey submission {bad}",
    ]


def test_max_problems_caps_the_list_but_counts_all(capsys, jersey_files):
    gt, _, bad = jersey_files
    code, lines, _ = run(capsys, "jersey", bad, "--groundtruth", gt, "--max-problems", "2")
    assert code == 1 and len(lines) == 3
    assert lines[-1] == f"4 problems in jersey submission {bad} (2 shown)"
    code, lines, _ = run(capsys, "jersey", bad, "--max-problems", "0")
    assert code == 1 and lines == [f"2 problems in jersey submission {bad} (0 shown)"]


def test_reid_submissions(capsys, reid_files):
    gt, good, bad = reid_files
    code, lines, _ = run(capsys, "reid", good, "--groundtruth", gt)
    assert code == 0 and lines == [f"{good}: a valid reid submission"]
    code, lines, _ = run(capsys, "reid", bad, "--groundtruth", gt)
    assert code == 1
    assert lines == [
        (
            f'{bad}:ranking_results.json["0"][1]: gallery sample 2 is from action 2, not from the '
            "query's action 1; rank only same-action samples"
        ),
        (
            f'{bad}:ranking_results.json["0"]: 1 gallery sample of action 1 not ranked (1); every '
            "one must be ranked once"
        ),
        f"2 problems in reid submission {bad}",
    ]


def test_usage_errors_exit_2(capsys, tmp_path, jersey_files):
    _, good, _ = jersey_files
    code, _, err = run(capsys, "jersey", tmp_path / "absent.json")
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "jersey", good, "--groundtruth", tmp_path / "absent")
    assert code == 2 and "ground truth" in err
    code, _, err = run(capsys, "no_such_task", good)
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "jersey", good, "--max-problems", "-1")
    assert code == 2
    unreadable = tmp_path / "gt.json"
    unreadable.write_text('{"1": "seven"}')
    code, _, err = run(capsys, "jersey", good, "--groundtruth", unreadable)
    assert code == 2 and str(unreadable) in err and "string" in err


def test_module_without_a_validator_is_a_usage_error(capsys, monkeypatch, tmp_path, jersey_files):
    _, good, _ = jersey_files
    monkeypatch.setitem(validate.TASKS, "captioning", ("zoo.formats.errors", {}))
    code, _, err = run(capsys, "captioning", good)
    assert code == 2 and "zoo.formats.errors has no validate_submission" in err
    monkeypatch.setitem(validate.TASKS, "captioning", ("zoo.formats.no_such_module", {}))
    code, _, err = run(capsys, "captioning", good)
    assert code == 2 and "zoo.formats.no_such_module does not exist" in err
    # a module that exists but imports a package that is not installed
    (tmp_path / "formats_needing_a_package.py").write_text("import absent_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(validate.TASKS, "captioning", ("formats_needing_a_package", {}))
    code, _, err = run(capsys, "captioning", good)
    assert code == 2 and "needs absent_dependency_xyz, which is not installed" in err


def test_registry_passes_the_task_and_groundtruth(capsys, monkeypatch, tmp_path):
    calls = []

    def validate_submission(path, *, groundtruth=None, task=None):
        calls.append((path, groundtruth, task))
        return [Problem("somewhere", "something")] if task == "ball_spotting" else []

    module = types.ModuleType("fake_spotting_formats")
    module.validate_submission = validate_submission
    monkeypatch.setitem(sys.modules, "fake_spotting_formats", module)
    for task in ("action_spotting", "ball_spotting"):
        monkeypatch.setitem(validate.TASKS, task, ("fake_spotting_formats", {"task": task}))
    code, lines, _ = run(capsys, "ball_spotting", tmp_path, "--groundtruth", tmp_path)
    assert code == 1 and lines[0] == "somewhere: something"
    code, _, _ = run(capsys, "action_spotting", tmp_path)
    assert code == 0
    assert calls == [
        (str(tmp_path), str(tmp_path), "ball_spotting"),
        (str(tmp_path), None, "action_spotting"),
    ]


def test_every_task_is_registered():
    assert set(validate.TASKS) == {
        "action_spotting",
        "ball_spotting",
        "ball_spotting_2023",
        "team_ball_spotting",
        "captioning",
        "calibration",
        "reid",
        "tracking",
        "jersey",
    }


def test_runs_as_a_module(jersey_files, repo_root):
    gt, _, bad = jersey_files
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.formats.validate",
            "jersey",
            str(bad),
            "--groundtruth",
            str(gt),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == f"4 problems in jersey submission {bad}"


def test_reid_challenge_coverage_from_the_thumbnail_names(capsys, tmp_path):
    # The challenge split has hidden identities, but its file names give every sample's action.
    challenge = tmp_path / "reid" / "challenge"
    for subset, names in (
        ("query", ["0-5-64x32.png", "1-6-64x32.png"]),
        ("gallery", ["0-5-64x32.png", "1-5-64x32.png", "2-6-64x32.png"]),
    ):
        (challenge / subset).mkdir(parents=True)
        for name in names:
            (challenge / subset / name).write_bytes(b"")
    ranking = tmp_path / "ranking_results.json"
    ranking.write_text(json.dumps({"0": [1, 0], "1": [2]}))
    code, lines, _ = run(capsys, "reid", ranking, "--groundtruth", challenge)
    assert code == 0, lines
    ranking.write_text(json.dumps({"0": [1]}))
    code, lines, _ = run(capsys, "reid", ranking, "--groundtruth", challenge)
    assert code == 1
    assert lines[0].startswith(f'{ranking}["0"]: 1 gallery sample of action 5 not ranked (0)')
    assert lines[1].startswith(f'{ranking}["1"]: missing: query 1 (action 6)')
