"""Opt-in (ZOO_SLOW_TESTS=1; minutes on 2 CPU cores): the synthetic default learns.

* YOLOX-nano trained 150 steps on the synthetic train sequences detects far better than untrained
  (mAP@0.5 on the synthetic test frames);
* a small ReID model (the zoo's ReidModel, OSNet-AIN x0.25) trained on player crops of the train
  sequences makes tracklet linking better than linking by motion alone (HOTA).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs.tracking import bytetrack, yolox_nano
from zoo.formats import tracking as formats
from zoo.losses import metric_learning
from zoo.models.reid_head import ReidModel
from zoo.postprocess.appearance import crops
from zoo.tasks import get_task
from zoo.train.mesh import global_batch, make_mesh
from zoo.train.optimizer import make_optimizer
from zoo.train.state import TrainState
from zoo.train.step import init_train_state, jit_train_step, make_predictor
from zoo.train.task import Models, Shard, Stage

slow = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
SEQUENCES = {"train": 8, "test": 2, "challenge": 1}


@slow
def test_yolox_nano_learns_to_detect(tmp_path):
    task = get_task("tracking_detector")
    config = yolox_nano.get_config()
    config.train.num_steps = 150
    config.data.synthetic.sequences_per_split = SEQUENCES
    config.model.num_classes = 5
    workdir = str(tmp_path)
    data = task.make_train_data(config, workdir, config.train.batch_size)
    model, mesh = task.make_model(config), make_mesh()
    tx = make_optimizer(config, config.train.num_steps)
    state, shardings = init_train_state(model, tx, task.example_inputs(config), 0, mesh)
    predictor = make_predictor(model, mesh, config.eval.batch_size)

    def map50(state):
        stage = Stage("model", config, workdir, 0, (predictor(state),))
        records = task.predict_split(config, workdir, Models(own=stage), "test", Shard())
        return task.score(config, workdir, "test", str(tmp_path / "eval"), records).headline["mAP@0.5"]

    untrained = map50(state)
    step = jit_train_step(model, task.make_loss(config), tx, mesh, shardings)
    iterator = iter(data.dataset)
    for _ in range(config.train.num_steps):
        state, _ = step(state, global_batch(next(iterator), mesh))
    trained = map50(state)
    assert trained > untrained + 0.3, (untrained, trained)


def _crop_index(root: str):
    index = []
    for seq in sorted(os.listdir(root)):
        gt = formats.read_mot(os.path.join(root, seq, formats.GT_FILE), groundtruth=True)
        for frame, track, box in zip(gt.frame, gt.track_id, gt.boxes):
            if box[3] > 12 and box[3] > 1.5 * box[2]:  # people, not the ball
                index.append((seq, int(frame), int(track), box))
    return index


@slow
def test_reid_makes_tracklet_linking_better(tmp_path):
    import cv2

    task = get_task("tracking")
    workdir = str(tmp_path)

    def hota(models, **tracking):
        config = bytetrack.get_config()
        config.data.synthetic.sequences_per_split = SEQUENCES
        config.pipeline.reid = "reid" if "reid" in models.stages else ""
        for key, value in tracking.items():
            config.tracking[key] = value
        records = task.predict_split(config, workdir, models, "test", Shard())
        out = str(tmp_path / f"eval{len(tracking)}{config.pipeline.reid}")
        task.write_submission(config, records, out)
        return task.score(config, workdir, "test", out, records).headline["HOTA"]

    linking = dict(cmc="sparse_flow", kalman="xywh", link_tracklets=True, interpolate_max_gap=20)
    motion_only = hota(Models(own=None), **linking)  # also writes the synthetic tree

    root = os.path.join(workdir, "synthetic_soccernet_tracking", "train")
    index = _crop_index(root)
    labels = {key: i for i, key in enumerate(sorted({(s, t) for s, _, t, _ in index}))}
    by_label: dict[int, list[int]] = {}
    for i, (s, _, t, _) in enumerate(index):
        by_label.setdefault(labels[(s, t)], []).append(i)
    usable = [k for k, rows in by_label.items() if len(rows) >= 4]
    frames = {}
    rng = np.random.default_rng(0)
    size = (64, 32)

    def batch():
        rows = [i for c in rng.choice(usable, 8, replace=False) for i in rng.choice(by_label[c], 4, replace=False)]
        images = []
        for i in rows:
            seq, frame, _, box = index[i]
            if (seq, frame) not in frames:
                frames[(seq, frame)] = cv2.imread(os.path.join(root, seq, "img1", f"{frame:06d}.jpg"))
            images.append(crops(frames[(seq, frame)], box[None], size)[0])
        return jnp.asarray(np.stack(images)), jnp.asarray([labels[(index[i][0], index[i][2])] for i in rows])

    model = ReidModel(backbone="osnet_ain_x0_25", num_classes=len(labels))
    variables = model.init(jax.random.key(0), jnp.zeros((1, *size, 3)), train=False)
    tx = optax.adamw(optax.warmup_cosine_decay_schedule(0, 2e-3, 30, 300), weight_decay=5e-4)
    params, stats, opt = variables["params"], variables["batch_stats"], tx.init(variables["params"])

    @jax.jit
    def step(params, stats, opt, images, ids):
        def loss(p):
            out, updated = model.apply({"params": p, "batch_stats": stats}, images, train=True, mutable=["batch_stats"])
            value = (0.5 * metric_learning.smoothed_cross_entropy(out["logits"], ids, 0.1).mean()
                     + 0.5 * metric_learning.batch_hard_triplet(out["embedding"], ids, 0.3).mean())
            return value, updated["batch_stats"]

        (_, stats), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), stats, opt

    for _ in range(300):
        params, stats, opt = step(params, stats, opt, *batch())
    mesh = make_mesh()
    state = TrainState(params=params, model_state={"batch_stats": stats}, opt_state=None, step=0, rng=None)
    reid_config = ml_collections.ConfigDict({"data": {"height": size[0], "width": size[1]}, "eval": {"feature": "bn"}})
    reid = Stage("reid", reid_config, workdir, 300, (make_predictor(model, mesh, 64)(state),))
    with_reid = hota(Models(own=None, stages={"reid": reid}), use_appearance=True, **linking)
    assert with_reid > motion_only + 0.005, (motion_only, with_reid)
