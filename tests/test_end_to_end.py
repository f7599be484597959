"""End to end on synthetic SoccerNet-v2: train -> checkpoint -> evaluate -> official files and scores.

The real `train_and_evaluate` and `evaluate_checkpoint` run here with the `:tiny` config, and the
command lines run as subprocesses for the resume-after-SIGKILL test.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import zipfile

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs.action_spotting import netvlad_pp
from zoo.formats.splits import list_games
from zoo.synthetic.soccernet_v2 import write_soccernet_v2
from zoo.tasks import action_spotting
from zoo.train import checkpoint as ckpt
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train import mesh as mesh_lib
from zoo.train.optimizer import make_optimizer
from zoo.train.evaluation import evaluate_variables
from zoo.errors import ConfigError, UserError
from zoo.tasks import get_task
from zoo.train.runs import RunConflictError
from zoo.train.step import init_train_state

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_GAMES = {"train": 6, "valid": 1, "test": 1, "challenge": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny synthetic tree and a TFDS data_dir shared by the runs of this module."""
    root = tmp_path_factory.mktemp("soccernet")
    written = write_soccernet_v2(root, games_per_split=TINY_GAMES, half_seconds=300, events_per_half=24)
    return str(root), str(tmp_path_factory.mktemp("tfds")), written


def _tiny(data=None, **overrides):
    config = netvlad_pp.get_config("tiny")
    if data is not None:
        config.data.manual_dir, config.data.data_dir = data[0], data[1]
    for dotted, value in overrides.items():
        node = config
        *parents, leaf = dotted.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config


def _official_scores(labels_dir, predictions, games, metric):
    """Scores with the official SoccerNet evaluator, restricted to `games`."""
    from SoccerNet.Evaluation import ActionSpotting

    original = ActionSpotting.getListGames
    ActionSpotting.getListGames = lambda *a, **k: list(games)
    try:
        return ActionSpotting.evaluate(labels_dir, predictions, split="test", version=2, metric=metric)
    finally:
        ActionSpotting.getListGames = original


def test_default_run_trains_on_synthetic_data_checkpoints_and_writes_official_files(tmp_path, caplog):
    workdir = str(tmp_path / "run")
    config = _tiny()  # no manual_dir: the synthetic default
    with caplog.at_level(logging.INFO):
        results = train_and_evaluate(config, workdir, action_spotting.TASK).headline
    assert any("writing synthetic SoccerNet-v2" in r.getMessage() for r in caplog.records)
    assert os.path.isfile(os.path.join(workdir, "synthetic_soccernet_v2", "england_epl", "2014-2015",
                                       "2015-02-21 - 18-00 Chelsea 1 - 1 Burnley", "Labels-v2.json"))

    # Checkpoints every 4 steps, the newest 2 kept; iterator state beside the train state.
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
    assert steps == [8, 12]
    assert set(os.listdir(os.path.join(workdir, "checkpoints", "12"))) >= {"state", "dataset"}

    lines = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
    train_lines = [l for l in lines if l["split"] == "train"]
    assert [l["step"] for l in train_lines] == [4, 8, 12]
    assert all(np.isfinite(l["loss"]) and l["learning_rate"] == 1e-3 for l in train_lines)
    assert any(l["split"] == "test" and l["a_mAP_loose"] == results["a_mAP_loose"] for l in lines)
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(workdir, "tensorboard")))

    # One results_spotting.json per test game, in the official layout, and the zip to submit.
    out = os.path.join(workdir, "predictions", "test_step12")
    test_game = list_games("test")[0]
    prediction = json.load(open(os.path.join(out, test_game, "results_spotting.json")))
    assert prediction["UrlLocal"] == test_game
    assert {"gameTime", "label", "position", "half", "confidence"} <= set(prediction["predictions"][0])
    with zipfile.ZipFile(out + ".zip") as z:
        assert z.namelist() == [f"{test_game}/results_spotting.json"]

    # The official evaluator scores the written zip exactly as the run reported.
    labels = os.path.join(workdir, "synthetic_soccernet_v2")
    for metric in ("loose", "tight"):
        official = _official_scores(labels, out + ".zip", [test_game], metric)
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            assert results[f"{key}_{metric}"] == pytest.approx(official[key], abs=1e-9)

    # evaluate.py's path: the newest checkpoint gives the same numbers; challenge gives a zip only.
    again, folder = evaluate_checkpoint(config, workdir, action_spotting.TASK, "test")
    assert folder == out
    assert again.headline == pytest.approx(results, abs=1e-9)
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["headline"] == pytest.approx(results, abs=1e-9) and metrics["step"] == 12
    assert set(metrics["loose"]) >= {"a_mAP", "a_mAP_per_class", "a_mAP_visible"}
    challenge, folder = evaluate_checkpoint(config, workdir, action_spotting.TASK, "challenge")
    assert challenge is None
    with zipfile.ZipFile(folder + ".zip") as z:
        assert z.namelist() == [f"{list_games('challenge')[0]}/results_spotting.json"]


def _untrained_scores(config, workdir):
    mesh = mesh_lib.make_mesh()
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, config.train.num_steps)
    state, _ = init_train_state(model, tx, action_spotting.example_inputs(config), config.seed, mesh)
    return evaluate_variables(action_spotting.TASK, config, workdir, state, "test",
                              os.path.join(workdir, "untrained")).headline


def test_training_beats_an_untrained_model_by_far(data, tmp_path):
    config = _tiny(data, **{
        "train.num_steps": 300, "train.batch_size": 32, "train.checkpoint_every_steps": 300,
        "train.log_every_steps": 100, "model.vocab_size": 16, "model.projection_dim": 0,
        "optimizer.learning_rate": 3e-3,
    })
    workdir = str(tmp_path / "run")
    trained = train_and_evaluate(config, workdir, action_spotting.TASK).headline
    untrained = _untrained_scores(config, workdir)
    assert trained["a_mAP_loose"] > untrained["a_mAP_loose"] + 0.25, (trained, untrained)
    assert trained["a_mAP_loose"] > 0.4


def test_init_from_takes_params_only(data, tmp_path):
    source = str(tmp_path / "source")
    train_and_evaluate(_tiny(data, **{"eval.split": ""}), source, action_spotting.TASK)
    config = _tiny(data)
    mesh = mesh_lib.make_mesh()
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, config.train.num_steps)
    fresh, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 1, mesh)
    loaded = ckpt.load_params(source, fresh, shardings)
    with ocp.StandardCheckpointer() as checkpointer:
        saved = checkpointer.restore(os.path.join(source, "checkpoints", "12", "state"))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params), saved["params"])
    assert int(loaded.step) == 0
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.opt_state), jax.device_get(fresh.opt_state))

    other = _tiny(data, **{"model.vocab_size": 16})
    model = action_spotting.make_model(other)
    fresh, shardings = init_train_state(model, make_optimizer(other, 1), action_spotting.example_inputs(other), 0, mesh)
    with pytest.raises(ValueError, match="do not fit this model"):
        ckpt.load_params(source, fresh, shardings)
    with pytest.raises(FileNotFoundError, match="no orbax checkpoint"):
        ckpt.load_params(str(tmp_path), fresh, shardings)


def test_zero_steps_make_a_run_of_the_initial_or_converted_weights(data, tmp_path):
    """train.num_steps=0: no step is taken; the initial weights (or init_from's) are saved as step
    0, evaluated, and restore as a run's (the route for published weights into a pipeline)."""
    from zoo.train.evaluation import restore_stage

    untrained = str(tmp_path / "untrained")
    scores = train_and_evaluate(_tiny(data, **{"train.num_steps": 0}), untrained, action_spotting.TASK)
    assert scores is not None and "a_mAP_loose" in scores.headline
    config = _tiny(data)
    model = action_spotting.make_model(config)
    fresh, _ = init_train_state(model, make_optimizer(config, 1), action_spotting.example_inputs(config),
                                config.seed, mesh_lib.make_mesh())
    with ocp.StandardCheckpointer() as checkpointer:
        saved = checkpointer.restore(os.path.join(untrained, "checkpoints", "0", "state"))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(fresh.params), saved["params"])

    source = str(tmp_path / "source")  # stands for converted weights
    train_and_evaluate(_tiny(data, **{"eval.split": ""}), source, action_spotting.TASK)
    converted = str(tmp_path / "converted")
    train_and_evaluate(_tiny(data, **{"train.num_steps": 0, "init_from": source, "eval.split": ""}), converted,
                       action_spotting.TASK)
    stage = restore_stage("model", converted, get_task, mesh_lib.local_mesh())
    assert stage.step == 0
    with ocp.StandardCheckpointer() as checkpointer:
        trained = checkpointer.restore(os.path.join(source, "checkpoints", "12", "state"))
        kept = checkpointer.restore(os.path.join(converted, "checkpoints", "0", "state"))
    jax.tree.map(np.testing.assert_array_equal, trained["params"], kept["params"])
    with pytest.raises(ConfigError, match="num_steps=-1"):
        train_and_evaluate(_tiny(data, **{"train.num_steps": -1}), str(tmp_path / "bad"), action_spotting.TASK)


def _train_command(data, workdir, *extra):
    return [
        sys.executable, os.path.join(REPO, "train.py"),
        f"--config={os.path.join(REPO, 'configs/action_spotting/netvlad_pp.py')}:tiny",
        f"--workdir={workdir}", f"--config.data.manual_dir={data[0]}", f"--config.data.data_dir={data[1]}",
        "--config.train.num_steps=400", "--config.train.checkpoint_every_steps=20",
        "--config.train.log_every_steps=20", "--config.eval.split=", *extra,
    ]


def _env():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    return env


def _final_params(workdir, step):
    with ocp.StandardCheckpointer() as checkpointer:
        return checkpointer.restore(os.path.join(workdir, "checkpoints", str(step), "state"))["params"]


def test_sigkill_then_same_command_resumes_to_the_same_params(data, tmp_path):
    """Kill -9 mid-training, re-run the same command: it resumes and ends where an uninterrupted run ends."""
    straight = str(tmp_path / "straight")
    subprocess.run(_train_command(data, straight), check=True, env=_env(), cwd=tmp_path,
                   capture_output=True, timeout=300)

    killed = str(tmp_path / "killed")
    process = subprocess.Popen(_train_command(data, killed), env=_env(), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = os.path.join(killed, "checkpoints")
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if os.path.isdir(checkpoints) and any(s.isdigit() and int(s) >= 40 for s in os.listdir(checkpoints)):
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    reached = max(int(s) for s in os.listdir(checkpoints) if s.isdigit())
    assert 40 <= reached < 400

    resumed = subprocess.run(_train_command(data, killed), env=_env(), cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resumed from" in resumed.stderr
    expected, got = _final_params(straight, 400), _final_params(killed, 400)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), expected, got)
    # The steps redone after the kill are logged once: the rows past the restored step were dropped.
    rows = [json.loads(line) for line in open(os.path.join(killed, "metrics.jsonl"))]
    assert [r["step"] for r in rows if r["split"] == "train"] == list(range(20, 401, 20))


def test_config_typo_is_a_clear_error_listing_the_valid_fields(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "train.py"),
         f"--config={os.path.join(REPO, 'configs/action_spotting/netvlad_pp.py')}:tiny",
         f"--workdir={tmp_path}", "--config.train.batchsize=3"],
        env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "config.train has no field 'batchsize'" in result.stderr
    assert "batch_size, checkpoint_every_steps" in result.stderr


def test_init_from_a_partial_checkpoint_keeps_the_rest_fresh(tmp_path, caplog):
    """A converted backbone (no head) loads into a model with a new head, which stays fresh."""
    config = _tiny()
    mesh = mesh_lib.make_mesh()
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, 1)
    fresh, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    donor, _ = init_train_state(model, tx, action_spotting.example_inputs(config), 7, mesh)
    backbone = {"vlad_before": jax.device_get(donor.params["vlad_before"])}
    with ocp.PyTreeCheckpointer() as checkpointer:
        checkpointer.save(tmp_path / "pretrained" / "state", {"params": backbone})
    with caplog.at_level(logging.WARNING):
        loaded = ckpt.load_params(str(tmp_path / "pretrained"), fresh, shardings)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["vlad_before"]), backbone["vlad_before"])
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["classifier"]),
                 jax.device_get(fresh.params["classifier"]))
    assert any("stay freshly initialised" in r.getMessage() and "classifier/kernel" in r.getMessage()
               for r in caplog.records)


def test_init_from_exclude_leaves_a_head_of_other_classes_fresh(tmp_path):
    """A head whose shape does not fit is an error, unless init_from_exclude names it."""
    config = _tiny()
    mesh = mesh_lib.make_mesh()
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, 1)
    fresh, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    donor, _ = init_train_state(model, tx, action_spotting.example_inputs(config), 7, mesh)
    params = jax.device_get(donor.params)
    kernel = params["classifier"]["kernel"]
    params["classifier"] = {"kernel": np.zeros(kernel.shape[:-1] + (5,), kernel.dtype),
                            "bias": np.zeros((5,), kernel.dtype)}  # pretrained on 4 classes
    with ocp.PyTreeCheckpointer() as checkpointer:
        checkpointer.save(tmp_path / "pretrained" / "state", {"params": params})
    with pytest.raises(ValueError, match="classifier/kernel: checkpoint"):
        ckpt.load_params(str(tmp_path / "pretrained"), fresh, shardings)
    loaded = ckpt.load_params(str(tmp_path / "pretrained"), fresh, shardings, exclude=("^classifier/",))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["vlad_before"]),
                 params["vlad_before"])
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["classifier"]),
                 jax.device_get(fresh.params["classifier"]))


def test_a_data_dir_built_from_other_data_is_not_read_silently(data, tmp_path):
    shared = str(tmp_path / "tfds")  # two runs, one data_dir
    config = _tiny(**{"train.num_steps": 1, "eval.split": "", "data.data_dir": shared})  # synthetic
    train_and_evaluate(config, str(tmp_path / "first"), action_spotting.TASK)
    real = _tiny(**{"data.manual_dir": data[0], "train.num_steps": 2, "eval.split": "", "data.data_dir": shared})
    with pytest.raises(UserError, match="was built from .*delete"):
        train_and_evaluate(real, str(tmp_path / "second"), action_spotting.TASK)


def test_other_synthetic_settings_in_the_same_workdir_are_refused(tmp_path):
    workdir = str(tmp_path / "run")
    train_and_evaluate(_tiny(**{"train.num_steps": 1, "eval.split": ""}), workdir, action_spotting.TASK)
    bigger = _tiny(**{"train.num_steps": 1, "eval.split": "", "data.synthetic.events_per_half": 13})
    with pytest.raises(RunConflictError, match="data.synthetic.events_per_half is 12 there, 13 here.*"
                       "--config.data.synthetic.events_per_half=12"):
        train_and_evaluate(bigger, workdir, action_spotting.TASK)
