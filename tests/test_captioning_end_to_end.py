"""Dense video captioning end to end on the tiny synthetic data, through what users run: train the
captioner with `train_and_evaluate` (its final evaluation captions the ground-truth times: oracle
spots), train the comment spotter from the captioner's encoder (`init_from` with the rename, as the
baseline), evaluate the two as a pipeline with `evaluate_checkpoint`, check the written files and
zip with the validator and the official `SoccerNet.Evaluation.DenseVideoCaptioning` evaluator, and
caption one game's features with `python -m zoo.predict captioning`."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from configs.captioning import netvlad_lstm
from configs.captioning import spotter as spotter_config
from tests.test_metrics_captioning import KEYS, official
from zoo import predict
from zoo.data import soccernet_caption as caption_data
from zoo.errors import ConfigError, UserError
from zoo.formats import captioning as captioning_format
from zoo.metrics import captioning as captioning_metric
from zoo.tasks import caption_spotting, captioning, get_task
from zoo.train import evaluation, runs
from zoo.train import mesh as mesh_lib
from zoo.train.loop import evaluate_checkpoint, train_and_evaluate
from zoo.train.task import Models

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java (PTB tokenizer, METEOR)")


def _tiny(module, steps: int):
    config = module.get_config("tiny")
    config.train.num_steps = config.train.checkpoint_every_steps = steps
    return config


@pytest.fixture(scope="module")
def runs_(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioning")
    captioner_dir, spotter_dir = str(root / "captioner"), str(root / "spotter")
    captioning_metric._MeteorServer.instance()  # start METEOR's Java while the models compile
    config = _tiny(netvlad_lstm, 2)
    oracle = train_and_evaluate(config, captioner_dir, captioning.TASK, get_task)
    spotter = _tiny(spotter_config, 1)
    spotter.init_from = captioner_dir
    # The games and the dataset the captioner's run wrote and built (built once for both stages).
    spotter.data.manual_dir = caption_data.synthetic_root(captioner_dir)
    spotter.data.data_dir = os.path.join(captioner_dir, "tfds")
    spotter.eval.split = ""
    train_and_evaluate(spotter, spotter_dir, caption_spotting.TASK, get_task)
    pipeline = runs.read_config(captioner_dir)
    pipeline.pipeline.spotter = spotter_dir
    scores, output = evaluate_checkpoint(pipeline, captioner_dir, captioning.TASK, "test", get_task=get_task)
    return dict(captioner=captioner_dir, spotter=spotter_dir, config=pipeline, oracle=oracle, scores=scores,
                output=output, scores_step=pipeline.train.num_steps)


def _labels(runs_) -> str:
    return caption_data.labels_root(runs_["config"], runs_["captioner"])


def test_training_evaluates_oracle_spots_and_saves_the_vocabulary(runs_):
    saved = runs.read_config(runs_["captioner"])
    assert saved.model.num_words == len(saved.data.vocabulary) > 4  # derived from the dataset and saved
    assert tuple(saved.data.vocabulary[:4]) == ("<pad>", "<s>", "</s>", "<unk>")
    headline = runs_["oracle"].headline
    assert list(headline) == [f"oracle_{key}@30" for key in KEYS]
    # The pipeline's evaluation at the same step went beside the oracle's files, not over them.
    oracle_dir = os.path.join(runs_["captioner"], "predictions", f"test_step{runs_['scores_step']}")
    assert os.path.isdir(oracle_dir) and runs_["output"] == f"{oracle_dir}_spotter-spotter-step1"
    assert headline["oracle_Recall@30"] == headline["oracle_Precision@30"] == 1.0  # one caption per label


def test_the_spotter_starts_from_the_captioners_encoder(runs_):
    mesh = mesh_lib.local_mesh()
    variables = {}
    for name, task in (("captioner", captioning.TASK), ("spotter", caption_spotting.TASK)):
        variables[name], _ = evaluation.restore_variables(task, runs.read_config(runs_[name]), runs_[name], None,
                                                          mesh)
    encoder, spotter = variables["captioner"].params["encoder"], variables["spotter"].params
    for layer in ("projection", "vlad_before", "vlad_after"):
        for leaf, value in encoder[layer].items():  # one step of Adam moves each weight by about lr
            np.testing.assert_allclose(spotter[layer][leaf], value, atol=2e-3, err_msg=f"{layer}/{leaf}")


def test_pipeline_writes_valid_official_files(runs_):
    output = runs_["output"]
    games = caption_data.split_games(runs_["config"], runs_["captioner"], "test")
    assert captioning_format.validate_submission(output + ".zip") == []
    for game in games:
        with open(os.path.join(output, game, captioning_format.PREDICTION_FILE)) as f:
            document = json.load(f)
        assert document["UrlLocal"] == game and document["predictions"]
        for entry in document["predictions"]:
            assert entry["label"] == "comments" and entry["comment"].strip()
            assert 0 <= float(entry["confidence"]) <= 1
        # Spots are NMS peaks of the spotter (30 s window): never closer than 15 s in a half.
        for half in ("1", "2"):
            ms = np.sort([int(e["position"]) for e in document["predictions"] if e["half"] == half])
            assert (np.diff(ms) >= 15_000).all()


def test_the_official_evaluator_scores_the_zip_as_the_zoo(runs_):
    scores, output = runs_["scores"], runs_["output"]
    games = caption_data.split_games(runs_["config"], runs_["captioner"], "test")
    reference = official(_labels(runs_), output + ".zip", games, 30)
    assert list(scores.headline) == [f"{key}@30" for key in KEYS]
    for key in KEYS:
        np.testing.assert_allclose(scores.headline[f"{key}@30"], reference[key], rtol=0, atol=1e-9, err_msg=key)
    assert scores.details["spots"] == "spotter" and 0 < scores.headline["Recall@30"] <= 1


def test_predict_one_game_as_the_pipeline(runs_, tmp_path, capsys):
    config = runs_["config"]
    game = caption_data.split_games(config, runs_["captioner"], "test")[0]
    features = [os.path.join(_labels(runs_), game, f"{half}_{config.data.features}.npy") for half in (1, 2)]
    out = tmp_path / "results_dense_captioning.json"
    argv = ["captioning", "--checkpoint", runs_["captioner"], "--spotter", runs_["spotter"], "--features",
            *features, "--out", str(out)]
    assert predict.main(argv) == 0
    assert "captions over 2 half(s) written to" in capsys.readouterr().out
    assert captioning_format.validate_submission(out) == []
    with open(os.path.join(runs_["output"], game, captioning_format.PREDICTION_FILE)) as f:
        pipeline = json.load(f)["predictions"]
    predicted = captioning_format.read_predictions(out)
    assert [p.comment for p in predicted] == [e["comment"] for e in pipeline]  # the pipeline's captions
    assert json.loads(out.read_text())["UrlLocal"] == game
    with pytest.raises(SystemExit):  # one `error:` line, before any model is restored
        predict.main([*argv[:5], "--features", features[0] + ".missing", "--out", str(out)])
    assert "no such features file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        predict.main(["captioning", "--checkpoint", runs_["captioner"], "--features", *features, "--out", str(out)])
    assert "needs the spotter stage" in capsys.readouterr().err


def test_config_errors(runs_):
    config = runs_["config"].copy_and_resolve_references()
    config.eval.spots = "spotter"
    config.pipeline.spotter = ""
    with pytest.raises(ConfigError, match="config.pipeline.spotter"):
        captioning.TASK.check_config(config)
    config.eval.spots = "best"
    with pytest.raises(ConfigError, match="config.eval.spots='best'"):
        captioning.TASK.check_config(config)
    config.eval.spots = "auto"
    assert captioning.spot_mode(config) == "oracle"
    with pytest.raises(UserError, match="needs the spotter stage"):  # a spotter named but not restored
        config.eval.spots = "spotter"
        captioning.caption_half(config, Models(own=None), np.zeros((100, 512), np.float32))
    config.model.num_words = 7
    with pytest.raises(ConfigError, match="num_words=7 but the vocabulary has"):
        captioning.TASK.derive_config(config, runs_["captioner"])
