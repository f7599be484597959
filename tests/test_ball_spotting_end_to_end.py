"""Ball action spotting end to end on the synthetic videos: train.py's path, evaluation files that
the official metric and the validator accept, fine-tuning from pretraining, and zoo.predict."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from configs.ball_spotting import e2e_spot, tdeed, tdeed_team_joint
from zoo.formats import spotting as spotting_format
from zoo.formats import spotting_submission
from zoo.metrics import spotting as spotting_metric
from zoo.metrics import team_spotting
from zoo.tasks import ball_spotting
from zoo.train import train_and_evaluate

pytestmark = pytest.mark.filterwarnings("ignore:Team mAP")


def _tiny(module, **overrides):
    config = module.get_config("tiny")
    config.model.backbone = "regnety_micro"
    for key, value in overrides.items():
        node = config
        *path, last = key.split(".")
        for name in path:
            node = node[name]
        node[last] = value
    return config


@pytest.fixture(scope="module")
def team_run(tmp_path_factory):
    """T-DEED with a team head on the 2025 layout, trained a few steps (half the clips around
    class-balanced events), evaluated on test."""
    workdir = str(tmp_path_factory.mktemp("tdeed"))
    config = _tiny(tdeed, **{"data.event_clip_fraction": 0.5})
    results = train_and_evaluate(config, workdir, ball_spotting.TASK).headline
    return config, workdir, results


def _prediction_dir(workdir, split="test"):
    root = os.path.join(workdir, "predictions")
    found = sorted(d for d in os.listdir(root) if d.startswith(split) and os.path.isdir(os.path.join(root, d)))
    assert found, os.listdir(root)
    return os.path.join(root, found[-1])


def test_team_model_writes_files_the_official_team_metric_scores_as_reported(team_run):
    config, workdir, results = team_run
    assert set(results) == {"mAP", "mAP_no_team"}
    out = _prediction_dir(workdir)
    labels_root = os.path.join(workdir, "synthetic_ball_2025")
    with zipfile.ZipFile(out + ".zip") as archive:
        games = [n.rsplit("/", 1)[0] for n in archive.namelist() if n.endswith("results_spotting.json")]
    scores = team_spotting.evaluate_team(labels_root, out + ".zip", classes=spotting_format.CLASSES_BALL,
                                         games=games)
    np.testing.assert_allclose(scores["mAP"], results["mAP"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(scores["mAP_no_team"], results["mAP_no_team"], rtol=1e-12, equal_nan=True)
    assert spotting_submission.validate_submission(out + ".zip", task="team_ball_spotting") == []
    with zipfile.ZipFile(out + ".zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith("results_spotting.json"))
        predictions = json.loads(archive.read(name))["predictions"]
    assert predictions and {p["team"] for p in predictions} <= {"left", "right"}
    assert {p["half"] for p in predictions} == {"1"}


def test_e2e_spot_on_2023_halves_writes_files_scored_as_reported(tmp_path):
    """E2E-Spot's evaluation on the 2023 layout (two halves, PASS / DRIVE, no team). Its training
    step is checked against PyTorch in test_ball_models.py; a fresh model is enough here."""
    from zoo.train import mesh as mesh_lib
    from zoo.train.evaluation import evaluate_variables
    from zoo.train.optimizer import make_optimizer
    from zoo.train.step import init_train_state

    config = _tiny(e2e_spot, **{"data.dataset": "2023", "model.team_mode": "none"})
    workdir = str(tmp_path / "e2e")
    model = ball_spotting.make_model(config)
    state, _ = init_train_state(model, make_optimizer(config, 1), ball_spotting.example_inputs(config), 0,
                                mesh_lib.make_mesh())
    out = str(tmp_path / "predictions" / "test")
    results = evaluate_variables(ball_spotting.TASK, config, workdir, state, "test", out).headline
    with zipfile.ZipFile(out + ".zip") as archive:
        names = [n for n in archive.namelist() if n.endswith("results_spotting.json")]
        halves = {p["half"] for n in names for p in json.loads(archive.read(n))["predictions"]}
    assert halves == {"1", "2"}
    # zoo.metrics.spotting.evaluate equals the SoccerNet package's ball evaluator (its parity tests).
    scores = spotting_metric.evaluate(
        os.path.join(workdir, "synthetic_ball_2023"), out + ".zip", metric="at1",
        label_file="Labels-ball.json", games=[n.rsplit("/", 1)[0] for n in names])
    np.testing.assert_allclose(results["mAP"], scores["a_mAP"], rtol=1e-12)
    assert spotting_submission.validate_submission(out + ".zip", task="ball_spotting_2023") == []


def test_team_joint_model_has_class_by_team_outputs_and_no_team_head():
    import jax

    config = _tiny(tdeed_team_joint)
    model = ball_spotting.make_model(config)
    inputs = ball_spotting.example_inputs(config)
    shapes = jax.eval_shape(lambda: model.init_with_output(jax.random.key(0), inputs, train=False)[0])
    assert set(shapes) == {"class_logits", "displacement"}
    assert shapes["class_logits"].shape == (1, config.data.clip_len, 2 * 12 + 1)


def test_fine_tuning_from_a_17_class_pretraining_through_init_from(tmp_path):
    """Weights pretrained on SoccerNet-v2 video (17 classes) initialise the ball model with the class
    head left out (init_from_exclude); without the exclusion the head does not fit."""
    import jax
    import orbax.checkpoint as ocp

    from zoo.train import checkpoint as ckpt
    from zoo.train import mesh as mesh_lib
    from zoo.train.optimizer import make_optimizer
    from zoo.train.step import init_train_state

    pretrain = _tiny(tdeed, **{"data.dataset": "v2_video", "model.team_mode": "none"})
    shapes = jax.eval_shape(lambda: ball_spotting.make_model(pretrain).init(
        jax.random.key(1), ball_spotting.example_inputs(pretrain), train=False))
    assert shapes["params"]["class_head"]["fc"]["kernel"].shape[-1] == 18
    rng = np.random.default_rng(0)
    pretrained = jax.tree.map(lambda x: rng.normal(size=x.shape).astype(x.dtype), shapes)
    with ocp.PyTreeCheckpointer() as checkpointer:
        checkpointer.save(tmp_path / "pretrained" / "state", {
            "params": pretrained["params"], "model_state": {"batch_stats": pretrained["batch_stats"]}})

    finetune = _tiny(tdeed)
    model = ball_spotting.make_model(finetune)
    fresh, shardings = init_train_state(model, make_optimizer(finetune, 1),
                                        ball_spotting.example_inputs(finetune), 0, mesh_lib.make_mesh())
    loaded = ckpt.load_params(str(tmp_path / "pretrained"), fresh, shardings, exclude=finetune.init_from_exclude)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["backbone"]),
                 pretrained["params"]["backbone"])
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(loaded.params["class_head"]),
                 jax.device_get(fresh.params["class_head"]))
    with pytest.raises(ValueError, match="class_head"):
        ckpt.load_params(str(tmp_path / "pretrained"), fresh, shardings)


def test_predict_spots_actions_in_a_video_file_given_only_its_path(team_run, tmp_path):
    config, workdir, _ = team_run
    videos = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(os.path.join(workdir, "synthetic_ball_2025")) for name in names
        if name.endswith(".mp4"))
    out, plot = tmp_path / "spots.json", tmp_path / "timeline.png"
    result = subprocess.run(
        [sys.executable, "-m", "zoo.predict", "ball_spotting", "--checkpoint", workdir, "--video", videos[0],
         "--out", str(out), "--plot", str(plot), "--plot-min-confidence", "0", "--quiet"],
        capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = spotting_format.read_predictions(out, classes=spotting_format.CLASSES_BALL, team=True)
    assert len(predictions.position_ms) > 0 and set(predictions.team.tolist()) <= {0, 1}
    assert plot.stat().st_size > 5000 and plot.read_bytes()[:4] == b"\x89PNG"
    missing = subprocess.run(
        [sys.executable, "-m", "zoo.predict", "ball_spotting", "--checkpoint", workdir,
         "--video", str(tmp_path / "nope.mp4")], capture_output=True, text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)))
    assert missing.returncode == 1 and "nope.mp4: no such video file" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0  # one line, no traceback


def test_team_recipes_need_team_labels():
    with pytest.raises(ValueError, match="needs team labels"):
        ball_spotting.check_config(_tiny(tdeed, **{"data.dataset": "2024"}))
    with pytest.raises(ValueError, match="no team head"):
        ball_spotting.check_config(_tiny(e2e_spot, **{"model.team_mode": "head"}))
