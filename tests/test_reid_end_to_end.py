"""ReID end to end on synthetic players: train -> checkpoint -> rank -> official file and scores."""

from __future__ import annotations

import json
import os
import zipfile

import jax
import numpy as np
import pytest

from configs.reid import osnet_ain
from zoo.formats import reid as reid_format
from zoo.tasks import reid
from zoo.train import checkpoint as ckpt
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train import mesh as mesh_lib
from zoo.train.optimizer import make_optimizer
from zoo.train.runs import read_config, set_fields
from zoo.train.step import init_train_state, make_predictor


def _with(config, **overrides):
    config = config.copy_and_resolve_references()
    set_fields(config, overrides)
    return config


def _tiny(**overrides):
    config = osnet_ain.get_config("tiny")
    config.model.backbone = "osnet_ain_x0_25"  # the same blocks at a quarter of the width: fast on CPU
    for dotted, value in overrides.items():
        node = config
        *parents, leaf = dotted.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config


# A short run: these tests are about the mechanics (files, parity, options). That training
# clearly beats an untrained model takes minutes on a CPU: tests/test_reid_learning.py (opt-in).
LEARN = {
    "train.num_steps": 40, "train.batch_size": 16, "train.checkpoint_every_steps": 20,
    "train.log_every_steps": 20, "optimizer.learning_rate": 3e-3, "optimizer.warmup_steps": 5,
    "loss.metric_weight": 1.0,
    "data.synthetic.actions_per_split": {"train": 20, "valid": 1, "test": 6, "challenge": 2},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """An OSNet-AIN run on the synthetic default: (config, workdir, final results)."""
    workdir = str(tmp_path_factory.mktemp("reid") / "run")
    config = _tiny(**LEARN)
    results = train_and_evaluate(config, workdir, reid.TASK).headline
    return config, workdir, results


def _official(groundtruth, ranking):
    from SoccerNet.Evaluation import ReIdentification

    return ReIdentification.evaluate(groundtruth, ranking)


def test_run_writes_an_official_ranking_that_the_official_evaluator_scores_the_same(run):
    config, workdir, results = run
    assert set(results) == {"mAP", "rank-1"}
    out = os.path.join(workdir, "predictions", "test_step40")
    ranking_file = os.path.join(out, "ranking_results.json")
    rankings = json.load(open(ranking_file))
    # The synthetic generator writes the ground truth the organisers would: score against it.
    groundtruth = os.path.join(workdir, "synthetic_soccernet_reid", "test_bbox_info.json")
    truth = json.load(open(groundtruth))
    assert set(rankings) == set(truth["query"])
    official = _official(groundtruth, ranking_file)
    assert results["mAP"] == pytest.approx(official["mAP"], abs=1e-9)
    assert results["rank-1"] == pytest.approx(official["rank-1"], abs=1e-9)
    with zipfile.ZipFile(out + ".zip") as z:
        assert z.namelist() == ["ranking_results.json"]
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
    assert steps == [20, 40]


def test_reranking_and_ensembles_change_the_numbers_as_configured(run):
    config, workdir, results = run
    config = read_config(workdir)  # evaluate.py's config: the run's own, with overrides
    plain = evaluate_checkpoint(config, workdir, reid.TASK, "test")[0].headline
    assert plain == pytest.approx(results, abs=1e-12)

    reranked_config = _with(config, **{"eval.rerank": True, "eval.rerank_k1": 4, "eval.rerank_k2": 2})
    reranked, out = evaluate_checkpoint(reranked_config, workdir, reid.TASK, "test")
    reranked = reranked.headline
    assert reranked != plain
    official = _official(os.path.join(workdir, "synthetic_soccernet_reid", "test_bbox_info.json"),
                         os.path.join(out, "ranking_results.json"))
    assert reranked["mAP"] == pytest.approx(official["mAP"], abs=1e-9)

    # An ensemble with another checkpoint of the run ranks differently (that an ensemble of
    # identical members equals one member is checked on arrays in test_reid_training_parts).
    for mode in ("concat", "distance"):
        mixed, _ = evaluate_checkpoint(
            _with(config, **{"eval.ensemble": (f"{workdir}:20",), "eval.ensemble_mode": mode,
                             "eval.ensemble_weights": (1.0, 3.0)}), workdir, reid.TASK, "test")
        assert mixed.headline != plain
    with pytest.raises(ValueError, match="1 entries for 2 runs"):
        reid.check_config(_with(config, **{"eval.ensemble": (workdir,), "eval.ensemble_weights": (1.0,)}))


def test_challenge_split_gets_a_complete_ranking(run):
    config, workdir, _ = run
    found, out = evaluate_checkpoint(read_config(workdir), workdir, reid.TASK, "challenge")
    rankings = reid_format.read_ranking(os.path.join(out, "ranking_results.json"))
    truth = reid_format.read_bbox_info(os.path.join(workdir, "synthetic_soccernet_reid", "challenge_bbox_info.json"))
    assert set(rankings) == set(truth["query"])
    # The synthetic tree ships the organiser-only challenge ground truth, so it is scored too.
    assert set(found.headline) == {"mAP", "rank-1"}


def test_progressive_resizing_through_init_from(run, tmp_path):
    _, workdir, _ = run
    bigger = _tiny(**{**LEARN, "data.height": 96, "data.width": 48, "init_from": workdir, "train.num_steps": 1,
                      "train.checkpoint_every_steps": 1, "eval.split": "",
                      "data.manual_dir": os.path.join(workdir, "synthetic_soccernet_reid"),
                      "data.data_dir": os.path.join(workdir, "tfds")})
    train_and_evaluate(bigger, str(tmp_path / "fine"), reid.TASK)
    mesh = mesh_lib.make_mesh()
    model = reid.make_model(read_config(str(tmp_path / "fine")))  # num_classes derived from the data
    state, shardings = init_train_state(model, make_optimizer(bigger, 1), reid.example_inputs(bigger), 0, mesh)
    loaded = ckpt.load_params(workdir, state, shardings)
    predictor = make_predictor(model, mesh, 8)(loaded)
    out = predictor(np.zeros((2, 96, 48, 3), np.float32))
    assert out["embedding_bn"].shape == (2, 512)  # OSNet-AIN ends in a 512-d fc layer at every width
    # BatchNorm statistics came along with the params.
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b),
                 jax.device_get(loaded.model_state), ckpt_model_state(workdir))


def ckpt_model_state(workdir):
    import orbax.checkpoint as ocp

    with ocp.PyTreeCheckpointer() as checkpointer:
        return checkpointer.restore(os.path.join(workdir, "checkpoints", "40", "state"))["model_state"]


def test_a_converted_pytorch_state_dict_trains_as_init_from(run, tmp_path):
    torch = pytest.importorskip("torch")
    import importlib

    from zoo.convert import cli

    _, workdir, _ = run
    reference = importlib.import_module("tests.torch_reference")
    network = reference.OSNetAIN(channels=(16, 64, 96, 128))  # torchreid's osnet_ain_x0_25 keys
    torch.save({"state_dict": network.state_dict()}, tmp_path / "osnet.pth.tar")
    assert cli.main(["--arch", "osnet_ain_x0_25", "--input", str(tmp_path / "osnet.pth.tar"),
                     "--output", str(tmp_path / "converted")]) == 0
    config = _tiny(**{**LEARN, "init_from": str(tmp_path / "converted"), "train.num_steps": 2,
                      "train.checkpoint_every_steps": 2, "eval.split": "",
                      "data.manual_dir": os.path.join(workdir, "synthetic_soccernet_reid"),
                      "data.data_dir": os.path.join(workdir, "tfds")})
    train_and_evaluate(config, str(tmp_path / "fine"), reid.TASK)
    import orbax.checkpoint as ocp

    with ocp.PyTreeCheckpointer() as checkpointer:
        trained = checkpointer.restore(str(tmp_path / "fine" / "checkpoints" / "2" / "state"))
    first_conv = trained["params"]["backbone"]["conv1"]["conv"]["kernel"]
    torch_conv = network.state_dict()["conv1.conv.weight"].numpy().transpose(2, 3, 1, 0)
    # Two small Adam steps from the converted weights: close to them, but moved.
    assert np.abs(first_conv - torch_conv).max() < 0.05
    assert not np.array_equal(first_conv, torch_conv)
