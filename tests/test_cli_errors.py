"""What a new user hits first: every mistake is one `error:` line and a non-zero exit, a workdir is
never corrupted by a rerun, and a dataset is never silently stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from configs.action_spotting import netvlad_pp
from zoo import cli
from zoo.errors import UserError
from zoo.synthetic.soccernet_v2 import write_soccernet_v2
from zoo.tasks import action_spotting
from zoo.train import train_and_evaluate
from zoo.train.runs import RunConflictError, read_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "action_spotting", "netvlad_pp.py")


def _env():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    return env


def _run(*command, cwd=REPO):
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=cwd, env=_env(),
                          timeout=300)


def _one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode != 0 and len(errors) == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return errors[0]


def _tiny(**overrides):
    config = netvlad_pp.get_config("tiny")
    config.eval.split = ""
    config.train.num_steps = 4
    for dotted, value in overrides.items():
        node = config
        *parents, leaf = dotted.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config


def test_command_line_mistakes_are_one_line(tmp_path):
    missing = _one_error_line(_run("train.py", "--config=configs/nope.py", f"--workdir={tmp_path}"))
    assert "configs/nope.py: no such config file" in missing
    variant = _one_error_line(_run("train.py", f"--config={CONFIG}:huge", f"--workdir={tmp_path}"))
    assert "Unknown variant 'huge'" in variant
    no_run = _one_error_line(_run("evaluate.py", f"--workdir={tmp_path}"))
    assert f"{tmp_path}: no config.json there" in no_run
    overrides = _one_error_line(_run("evaluate.py", f"--workdir={tmp_path / 'nope'}", "--config.pipeline.x=y"))
    assert "no such folder" in overrides and "--config FILE" in overrides


def test_help_exits_zero_and_lists_the_variants():
    result = _run("train.py", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "configs/action_spotting/netvlad_pp.py" in result.stdout and "synthetic, tiny, baseline" in result.stdout
    assert "--workdir" in result.stdout


def test_user_errors_print_one_line_and_bugs_keep_their_traceback(capsys, monkeypatch):
    monkeypatch.delenv(cli.VERBOSE_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.user_errors(lambda: (_ for _ in ()).throw(UserError("runs/x: something the user can fix")))()
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: runs/x: something the user can fix\n"
    with pytest.raises(SystemExit):
        cli.user_errors(lambda: open("/no/such/file.json"))()
    assert capsys.readouterr().err == "error: /no/such/file.json: No such file or directory\n"
    with pytest.raises(ZeroDivisionError):  # a bug: not hidden
        cli.user_errors(lambda: 1 / 0)()
    monkeypatch.setenv(cli.VERBOSE_ENV, "1")
    with pytest.raises(UserError):  # --verbose / ZOO_VERBOSE=1: the traceback
        cli.user_errors(lambda: (_ for _ in ()).throw(UserError("x")))()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("run"))
    train_and_evaluate(_tiny(**{"eval.split": "test"}), workdir, action_spotting.TASK)
    return workdir


def test_the_metric_command_scores_what_the_user_has(trained, tmp_path, capsys):
    """The built-in run: synthetic labels of every split, predictions of the test games only."""
    from zoo.metrics import spotting

    labels = os.path.join(trained, "synthetic_soccernet_v2")
    predictions = os.path.join(trained, "predictions", "test_step4.zip")
    assert spotting.main(["--labels", labels, "--predictions", predictions]) == 0
    out = capsys.readouterr().out
    assert f"Scoring the 1 games of {predictions}" in out and "a_mAP" in out.replace("Average-mAP", "a_mAP")
    assert spotting.main(["--labels", labels, "--predictions", predictions, "--split", "test"]) == 0
    assert "Scoring the 1 of the 100 official test games found in" in capsys.readouterr().out

    with pytest.raises(SystemExit):
        spotting.main(["--labels", labels, "--predictions", str(tmp_path / "missing.zip")])
    assert capsys.readouterr().err.count("error:") == 1
    broken = tmp_path / "broken"
    game = os.path.relpath(next(root for root, _, files in os.walk(os.path.join(trained, "predictions", "test_step4"))
                                if "results_spotting.json" in files), os.path.join(trained, "predictions", "test_step4"))
    document = json.load(open(os.path.join(trained, "predictions", "test_step4", game, "results_spotting.json")))
    del document["predictions"][0]["confidence"]
    os.makedirs(broken / game)
    json.dump(document, open(broken / game / "results_spotting.json", "w"))
    with pytest.raises(SystemExit):
        spotting.main(["--labels", labels, "--predictions", str(broken)])
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "confidence" in error and error.count("\n") == 1


def test_a_refused_config_change_leaves_the_run_untouched(trained):
    before = {name: os.path.getmtime(os.path.join(trained, name)) for name in ("config.json", "run.json")}
    steps = sorted(os.listdir(os.path.join(trained, "checkpoints")))
    with pytest.raises(RunConflictError, match=r"model.vocab_size is 8 there, 16 here.*--config.model.vocab_size=8"):
        train_and_evaluate(_tiny(**{"model.vocab_size": 16}), trained, action_spotting.TASK)
    assert {n: os.path.getmtime(os.path.join(trained, n)) for n in before} == before
    assert sorted(os.listdir(os.path.join(trained, "checkpoints"))) == steps
    assert read_config(trained).model.vocab_size == 8
    # The same command with more steps continues the run.
    train_and_evaluate(_tiny(**{"train.num_steps": 6}), trained, action_spotting.TASK)
    assert "6" in os.listdir(os.path.join(trained, "checkpoints"))


def test_an_edited_label_file_is_noticed(tmp_path):
    workdir = str(tmp_path / "run")
    train_and_evaluate(_tiny(), workdir, action_spotting.TASK)
    labels = next(os.path.join(root, "Labels-v2.json") for root, _, files in
                  os.walk(os.path.join(workdir, "synthetic_soccernet_v2")) if "Labels-v2.json" in files)
    document = json.load(open(labels))
    document["annotations"] = document["annotations"][:-1]
    json.dump(document, open(labels, "w"))
    with pytest.raises(UserError, match=r"was built from files that changed since: .*Labels-v2.json changed.*delete"):
        train_and_evaluate(_tiny(**{"train.num_steps": 6}), workdir, action_spotting.TASK)


@pytest.mark.parametrize("fault", ["empty", "labels", "features"])
def test_bad_data_is_one_clear_error_naming_the_file(tmp_path, fault):
    root = tmp_path / "SoccerNet"
    root.mkdir()
    if fault != "empty":
        write_soccernet_v2(root, games_per_split={"train": 1, "test": 1}, half_seconds=60, events_per_half=4)
        game = next(p.parent for p in root.rglob("Labels-v2.json"))
        if fault == "labels":
            (game / "Labels-v2.json").write_text('{"annotations": [{"gameTime": "1 - 00:10", "label": "Goal"')
        else:
            data = (game / "1_ResNET_TF2_PCA512.npy").read_bytes()
            (game / "1_ResNET_TF2_PCA512.npy").write_bytes(data[: len(data) // 2])
    config = _tiny(**{"data.manual_dir": str(root), "data.data_dir": str(tmp_path / "tfds")})
    expected = {"empty": "no SoccerNet-v2 files there", "labels": "Labels-v2.json",
                "features": "1_ResNET_TF2_PCA512.npy"}[fault]
    with pytest.raises(UserError, match=expected.replace(".", r"\.")) as error:
        train_and_evaluate(config, str(tmp_path / "run"), action_spotting.TASK)
    assert "\n" not in str(error.value)
    assert not os.path.exists(tmp_path / "run" / "config.json")  # nothing of a run that never started


def test_a_moved_workdir_with_synthetic_data_still_resumes(tmp_path):
    first, moved = str(tmp_path / "run"), str(tmp_path / "elsewhere" / "run")
    train_and_evaluate(_tiny(), first, action_spotting.TASK)
    os.makedirs(os.path.dirname(moved))
    os.rename(first, moved)
    train_and_evaluate(_tiny(**{"train.num_steps": 6}), moved, action_spotting.TASK)
    assert "6" in os.listdir(os.path.join(moved, "checkpoints"))


def test_a_stamp_with_the_absolute_source_path_matches_its_relative_form(tmp_path):
    """Datasets stamped by an older zoo recorded the absolute path of the synthetic tree."""
    from zoo.data import tfds_sources

    data_dir, root = str(tmp_path / "run" / "tfds"), str(tmp_path / "run" / "synthetic")
    relative = tfds_sources._portable(root, data_dir)
    assert relative == os.path.join("..", "synthetic")
    assert tfds_sources._same_root(os.path.abspath(root), relative, data_dir)
    assert not tfds_sources._same_root(str(tmp_path / "other"), relative, data_dir)
