"""Dense video captioning end to end on the tiny synthetic data, through the task functions the core
calls: train the captioner and the comment spotter a step (the spotter from the captioner's
encoder, as the baseline), predict a split with the spotter + captioner pipeline and with oracle
spots, write the official files and the zip, validate them, score them, and check that the
official `SoccerNet.Evaluation.DenseVideoCaptioning` evaluator gives the zoo's numbers."""

from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np
import pytest

from configs.captioning import netvlad_lstm
from configs.captioning import spotter as spotter_config
from tests.captioning_runs import derive, quick_compiles, renamed_params, train
from tests.test_metrics_captioning import KEYS, official
from zoo.data import caption_vocabulary
from zoo.data import soccernet_caption as caption_data
from zoo.errors import ConfigError, UserError
from zoo.formats import captioning as captioning_format
from zoo.formats import spotting as spotting_format
from zoo.metrics import captioning as captioning_metric
from zoo.tasks import caption_spotting, captioning
from zoo.train import mesh as mesh_lib
from zoo.train.step import make_predictor
from zoo.train.task import Models, Shard, Stage

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java (PTB tokenizer, METEOR)")


@pytest.fixture(scope="module", autouse=True)
def _quick_compiles():
    with quick_compiles():
        yield


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("captioning"))
    config = netvlad_lstm.get_config("tiny")
    captioning.TASK.check_config(config)
    derive(captioning.TASK, config, workdir)
    captioning_metric._MeteorServer.instance()  # start METEOR's Java while the models compile
    mesh = mesh_lib.make_mesh()
    model, state, _, metrics, batch = train(captioning.TASK, config, workdir, mesh, 1)
    spotter = spotter_config.get_config("tiny")
    caption_spotting.TASK.check_config(spotter)
    spotter_model, spotter_state, _, spotter_metrics, _ = train(
        caption_spotting.TASK, spotter, workdir, mesh, 1, initial=renamed_params(state.params, spotter))
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    spotter_predictor = make_predictor(spotter_model, mesh, spotter.eval.batch_size)(spotter_state)
    config.pipeline.spotter = os.path.join(workdir, "spotter")
    models = Models(own=Stage("model", config, workdir, 1, (predictor,)),
                    stages={"spotter": Stage("spotter", spotter, config.pipeline.spotter, 1, (spotter_predictor,))})
    return dict(workdir=workdir, config=config, models=models, metrics=metrics, batch=batch, spotter=spotter,
                spotter_metrics=spotter_metrics, encoder=state.params["encoder"], spotter_params=spotter_state.params)


def test_training_batches_and_the_transfer(runs):
    config, batch = runs["config"], runs["batch"]
    vocabulary = caption_vocabulary.Vocabulary(config.data.vocabulary)
    assert config.model.num_words == len(vocabulary) > len(caption_vocabulary.SPECIAL_TOKENS)
    inputs = batch["inputs"]
    assert inputs["features"].shape == (8, 45 * 2, 512)  # 45 s at the 2 fps of the PCA512 features
    tokens, targets, mask = (np.asarray(x) for x in (inputs["tokens"], batch["targets"], batch["mask"]))
    assert tokens.shape == targets.shape == mask.shape == (8, config.model.max_length)
    assert (tokens[:, 0] == caption_vocabulary.START).all()
    np.testing.assert_array_equal(tokens[:, 1:], targets[:, :-1])  # teacher forcing: shifted by one
    np.testing.assert_array_equal(mask, targets != caption_vocabulary.PAD)
    assert ((targets == caption_vocabulary.END).sum(axis=1) == 1).all()
    assert all(np.isfinite(v) for v in runs["metrics"].values()) and 0 <= runs["metrics"]["token_accuracy"] <= 1
    assert np.isfinite(runs["spotter_metrics"]["bce"])
    # The spotter started from the captioner's encoder (one step of Adam moves each weight by ~lr).
    for name in ("projection", "vlad_before", "vlad_after"):
        for leaf, value in runs["encoder"][name].items():
            np.testing.assert_allclose(runs["spotter_params"][name][leaf], value, atol=2e-3)


def _labels(runs) -> str:
    return caption_data.labels_root(runs["config"], runs["workdir"])


@pytest.fixture(scope="module")
def pipeline(runs, tmp_path_factory):
    """The spotter + captioner pipeline on the test split: records, output folder, zip and scores."""
    config, workdir = runs["config"], runs["workdir"]
    assert captioning.spot_mode(config) == "spotter"
    records = captioning.TASK.predict_split(config, workdir, runs["models"], "test", Shard())
    output = str(tmp_path_factory.mktemp("pipeline") / "test")
    captioning.TASK.write_submission(config, records, output)
    captioning.TASK.zip_submission(output, output + ".zip")
    return records, output, captioning.TASK.score(config, workdir, "test", output, records)


def test_pipeline_writes_valid_official_files(runs, pipeline):
    records, output, _ = pipeline
    assert [r.game for r in records] == caption_data.split_games(runs["config"], runs["workdir"], "test")
    assert captioning_format.validate_submission(output + ".zip") == []  # (the label tree has other splits too)
    for record in records:
        with open(os.path.join(output, record.game, captioning_format.PREDICTION_FILE)) as f:
            document = json.load(f)
        assert document["UrlLocal"] == record.game and len(document["predictions"]) == len(record.comments) > 0
        for entry, half, ms, confidence, comment in zip(
                document["predictions"], record.half, record.position_ms, record.confidence, record.comments):
            assert entry == {"gameTime": captioning_format.game_time(half, ms // 1000), "label": "comments",
                             "position": str(ms), "half": str(half), "confidence": str(confidence),
                             "comment": comment}
            assert 0 <= confidence <= 1 and comment.strip()
        # Spots are NMS peaks of the spotter (30 s window at 2 fps): never closer than 15 s in a half.
        for half in (1, 2):
            ms = np.sort(record.position_ms[record.half == half])
            assert (np.diff(ms) >= 15_000).all()


def test_the_official_evaluator_scores_the_zip_as_the_zoo(runs, pipeline):
    records, output, scores = pipeline
    reference = official(_labels(runs), output + ".zip", [r.game for r in records], 30)
    assert list(scores.headline) == [f"{key}@30" for key in KEYS]
    for key in KEYS:
        np.testing.assert_allclose(scores.headline[f"{key}@30"], reference[key], rtol=0, atol=1e-9, err_msg=key)
    assert scores.details["spots"] == "spotter" and 0 < scores.headline["Recall@30"] <= 1


def test_oracle_spots_caption_each_labelled_second_once(runs, tmp_path):
    config, workdir = runs["config"].copy_and_resolve_references(), runs["workdir"]
    config.eval.spots = "oracle"
    records = captioning.TASK.predict_split(config, workdir, runs["models"], "test", Shard())
    truth = {(h.game, h.half): np.unique(h.seconds) for h in caption_data.read_halves(config, workdir, "test")}
    for record in records:
        for half in (1, 2):
            np.testing.assert_array_equal(record.position_ms[record.half == half], 1000 * truth[record.game, half])
        assert (record.confidence == 1).all()
    captioning.TASK.write_submission(config, records, str(tmp_path))
    scores = captioning.TASK.score(config, workdir, "test", str(tmp_path), records)
    assert scores.details["spots"] == "oracle"
    assert scores.headline["oracle_Recall@30"] == scores.headline["oracle_Precision@30"] == 1.0


def test_shards_cover_the_split_once(runs):
    config, workdir = runs["config"].copy_and_resolve_references(), runs["workdir"]
    config.eval.spots = "oracle"  # no spotter inference: only the split's partition matters here
    games = [[r.game for r in captioning.TASK.predict_split(config, workdir, runs["models"], "valid", Shard(i, 2))]
             for i in range(2)]
    assert sorted(games[0] + games[1]) == sorted(caption_data.split_games(config, workdir, "valid"))


def test_spotter_evaluation(runs, tmp_path):
    spotter, workdir = runs["spotter"], runs["workdir"]
    stage = runs["models"]["spotter"]
    records = caption_spotting.TASK.predict_split(spotter, workdir, Models(own=stage), "test", Shard())
    caption_spotting.TASK.write_submission(spotter, records, str(tmp_path))
    caption_spotting.TASK.zip_submission(str(tmp_path), str(tmp_path / "spots.zip"))
    for record in records:
        path = tmp_path / record.game / spotting_format.PREDICTION_FILE
        predictions = spotting_format.read_predictions(path, classes=caption_spotting.CLASSES)
        assert len(predictions.half) == len(record.frame) > 0
    scores = caption_spotting.TASK.score(spotter, workdir, "test", str(tmp_path), records)
    assert set(scores.headline) == {"a_mAP_loose", "a_mAP_tight"}
    assert all(0 <= v <= 1 for v in scores.headline.values())


def test_predict_file_captions_one_game(runs, pipeline, tmp_path):
    records, _, _ = pipeline
    config = runs["config"]
    game = records[0].game
    features = [os.path.join(_labels(runs), game, f"{half}_{config.data.features}.npy") for half in (1, 2)]
    out = tmp_path / "results_dense_captioning.json"
    parser = argparse.ArgumentParser()
    captioning.TASK.predict_file.add_arguments(parser)
    args = parser.parse_args(["--features", *features, "--out", str(out)])
    summary = captioning.TASK.predict_file.run(config, runs["models"], args)
    assert summary == f"{len(records[0].comments)} captions over 2 half(s) written to {out}"
    assert captioning_format.validate_submission(out) == []
    predictions = captioning_format.read_predictions(out)
    assert [p.comment for p in predictions] == list(records[0].comments)  # the pipeline's captions
    assert json.loads(out.read_text())["UrlLocal"] == game
    args = parser.parse_args(["--features", features[0].replace(".npy", "_missing.npy"), "--out", str(out)])
    with pytest.raises(UserError, match="no such features file"):
        captioning.TASK.predict_file.run(config, runs["models"], args)


def test_config_errors(runs):
    config = runs["config"].copy_and_resolve_references()
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
        captioning.caption_half(config, Models(own=runs["models"].own), np.zeros((100, 512), np.float32))
    config.model.num_words = 7
    with pytest.raises(ConfigError, match="num_words=7 but the vocabulary has"):
        captioning.TASK.derive_config(config, runs["workdir"])
