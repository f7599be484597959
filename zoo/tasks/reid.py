"""SoccerNet player re-identification (mAP, rank-1), ranked within each action.

Composes a ReID network (ResNet-50 strong baseline or OSNet-AIN, BNNeck head), metric-learning
training on identity-balanced (P x K) or action-grouped batches with augmentation, and the
official evaluation: embed the query and gallery images of a split, rank each query against the
gallery of its own action (optionally k-reciprocal re-ranked, optionally an ensemble of runs),
write `ranking_results.json` and score it with `zoo.metrics.reid` (equal to the official
evaluator).

Data: the official tree (`train/`, `valid/`, `test/`, `challenge/` with the official file names)
given by `config.data.manual_dir`, built once into TFDS and read through `tfds.data_source`; with
no manual_dir, a synthetic tree in the same layout is written into the workdir.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile

import cv2
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

import zoo.models
from zoo import progress
from zoo.data import samplers, tfds_sources
from zoo.errors import ConfigError
from zoo.data.image_transforms import Augment, evaluation_transform
from zoo.formats import reid as reid_format
from zoo.metrics import reid as reid_metric
from zoo.synthetic import reid as synthetic
from zoo.losses import metric_learning
from zoo.postprocess.reranking import k_reciprocal_rerank
from zoo.train.task import Models, Scores, Shard, Task, TrainData

DATASET = "soccernet_reid"


# ----------------------------------------------------------------------------- data


def synthetic_root(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "synthetic_soccernet_reid")


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    return tfds_sources.prepare_once(
        DATASET,
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(os.path.abspath(workdir), "tfds"),
        synthetic_root=synthetic_root(workdir),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_reid,
            actions_per_split=config.data.synthetic.actions_per_split.to_dict(),
            seed=config.data.synthetic.seed,
        ),
        description="SoccerNet ReID",
    )


def _source(config, workdir, split):
    return tfds_sources.data_source(DATASET, split, data_dir=prepare_data(config, workdir), encoded=("image",))


def decode_png(data: bytes, where: str = "") -> np.ndarray:
    """PNG bytes -> uint8 RGB [h, w, 3]."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{where}: not a decodable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def image_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    return int(config.data.height), int(config.data.width)


def _index(source, fields) -> dict[str, np.ndarray]:
    """Columns of the split (no image decoding): {field: [n]}."""
    records = [source[i] for i in range(len(source))]
    return {f: np.array([r[f] for r in records]) for f in fields}


@dataclasses.dataclass
class LoadTrainBatch:
    """Batch number -> augmented batch, as a pure function of (seed, batch number).

    Picklable, so grain worker processes can run it.
    """

    source: object
    plan: object
    augment: Augment
    seed: int

    def __call__(self, batch: int) -> dict[str, np.ndarray]:
        indices = self.plan[batch]
        images, pids, actions = [], [], []
        for position, index in enumerate(indices):
            record = self.source[int(index)]
            rng = np.random.default_rng([self.seed, int(batch), position])
            images.append(self.augment(decode_png(record["image"], record["image_path"].decode()), rng))
            pids.append(record["pid"])
            actions.append(record["action_idx"])
        return {"inputs": np.stack(images), "pid": np.asarray(pids, np.int32),
                "action": np.asarray(actions, np.int32)}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = _source(config, workdir, "train")
    index = _index(source, ("pid", "action_idx"))
    sampler = config.data.sampler
    if sampler == "identity":
        instances = config.data.instances_per_identity
        if batch_size % instances:
            raise ValueError(f"The per-process batch {batch_size} must be a multiple of "
                             f"data.instances_per_identity={instances} (P x K batches).")
        plan = samplers.IdentityBatches(index["pid"], identities=batch_size // instances,
                                        instances=instances, seed=config.seed)
    elif sampler == "action":
        plan = samplers.ActionBatches(index["action_idx"], batch_size=batch_size, seed=config.seed)
    else:
        raise ValueError(f"Unknown sampler {sampler!r}; expected 'identity' or 'action'.")
    augment = Augment(
        size=image_size(config), flip=config.augment.flip, padding=config.augment.padding,
        brightness=config.augment.brightness, contrast=config.augment.contrast,
        saturation=config.augment.saturation, hue=config.augment.hue, erasing=config.augment.erasing,
    )
    logging.info("%d training images of %d identities; %s batches.", len(source),
                 len(np.unique(index["pid"])), sampler)
    dataset = (
        grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()]
        .map(LoadTrainBatch(source, plan, augment, config.seed))
    )
    return TrainData(dataset=dataset, num_examples=len(source), read_threads=config.data.read_threads)


# ----------------------------------------------------------------------------- model and loss


def check_config(config: ml_collections.ConfigDict) -> None:
    """The cross-field rules, once at start-up."""
    for field, value, allowed in (
        ("data.sampler", config.data.sampler, ("identity", "action")),
        ("loss.metric", config.loss.metric, ("triplet", "infonce")),
        ("eval.ensemble_mode", config.eval.ensemble_mode, ("concat", "distance")),
        ("eval.feature", config.eval.feature, ("bn", "raw")),
    ):
        if value not in allowed:
            raise ConfigError(f"{field}={value!r}; expected one of {allowed}.")
    if config.model.remat and config.model.backbone != "resnet50":
        raise ConfigError(f"model.remat is implemented for resnet50's bottlenecks, not {config.model.backbone!r}.")
    if config.data.sampler == "identity" and config.train.batch_size % config.data.instances_per_identity:
        raise ConfigError(f"train.batch_size={config.train.batch_size} must be a multiple of "
                          f"data.instances_per_identity={config.data.instances_per_identity} (P x K batches).")
    weights = list(config.eval.ensemble_weights)
    if weights and len(weights) != 1 + len(config.eval.ensemble):
        raise ConfigError(f"eval.ensemble_weights has {len(weights)} entries for {1 + len(config.eval.ensemble)} "
                          "runs (this one and eval.ensemble).")


def derive_config(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """The number of training identities (the classifier's width), read once from the dataset."""
    if config.model.num_classes:
        return {}
    metadata = _source(config, workdir, "train").dataset_info.metadata
    return {"model.num_classes": int(metadata["num_train_identities"])}


def make_model(config: ml_collections.ConfigDict):
    if not config.model.num_classes:
        raise ConfigError("model.num_classes is 0: it is read from the training data when the run starts "
                          "(this config.json comes from no trained run).")
    return zoo.models.build(config.model)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, *image_size(config), 3), np.float32)


def make_loss(config: ml_collections.ConfigDict):
    """The weighted identity + metric loss of the config, as the train step's loss function."""
    weights = config.loss

    def loss(outputs, batch):
        labels = batch["pid"]
        identity = metric_learning.smoothed_cross_entropy(outputs["logits"], labels, weights.label_smoothing)
        if weights.metric == "triplet":
            metric = metric_learning.batch_hard_triplet(outputs["embedding"], labels, weights.margin)
        elif weights.metric == "infonce":
            metric = metric_learning.supervised_infonce(outputs["embedding"], labels, weights.temperature)
        else:
            raise ValueError(f"Unknown metric loss {weights.metric!r}; expected 'triplet' or 'infonce'.")
        total = weights.identity_weight * identity + weights.metric_weight * metric
        count = jnp.asarray(labels.shape[0], jnp.float32)
        correct = (jnp.argmax(outputs["logits"], axis=-1) == labels).astype(jnp.float32)
        return total.mean(), {
            "identity_loss": (identity.sum(), count),
            f"{weights.metric}_loss": (metric.sum(), count),
            "train_accuracy": (correct.sum(), count),
        }

    return loss


# ----------------------------------------------------------------------------- evaluation


def embed(predictor, source, config: ml_collections.ConfigDict, *, rows=None, chunk: int = 256) -> np.ndarray:
    """L2-normalised embeddings [n, d] of the images of a split (`rows` of it, default all), in order."""
    size, feature = image_size(config), config.eval.feature
    rows = np.arange(len(source)) if rows is None else np.asarray(rows)
    out = []
    for first in range(0, len(rows), chunk):
        records = [source[int(i)] for i in rows[first : first + chunk]]
        images = np.stack([evaluation_transform(decode_png(r["image"], r["image_path"].decode()), size)
                           for r in records])
        outputs = predictor(images)
        embeddings = np.asarray(outputs["embedding_bn" if feature == "bn" else "embedding"], np.float64)
        if config.eval.flip:  # average with the mirrored images, a common test-time augmentation
            flipped = predictor(np.ascontiguousarray(images[:, :, ::-1]))
            embeddings = embeddings + np.asarray(
                flipped["embedding_bn" if feature == "bn" else "embedding"], np.float64)
        out.append(embeddings)
    embeddings = np.concatenate(out)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def action_distances(query: list[np.ndarray], gallery: list[np.ndarray], weights, mode: str, rerank):
    """Distances [q, g] of one action from each ensemble member's embeddings.

    mode "concat": one distance on the weighted concatenation of the members' (unit) embeddings;
    "distance": the weighted mean of the members' distances. `rerank` (None or dict of k1, k2,
    lambda_value) is applied to the combined distances.
    """
    weights = np.asarray(weights, np.float64) / np.sum(weights)

    def combined(a_list, b_list):
        if mode == "concat":
            a = np.concatenate([np.sqrt(w) * a for w, a in zip(weights, a_list)], axis=1)
            b = np.concatenate([np.sqrt(w) * b for w, b in zip(weights, b_list)], axis=1)
            return _squared_distances(a, b)
        if mode == "distance":
            return sum(w * _squared_distances(a, b) for w, a, b in zip(weights, a_list, b_list))
        raise ValueError(f"Unknown ensemble mode {mode!r}; expected 'concat' or 'distance'.")

    query_gallery = combined(query, gallery)
    if rerank is None:
        return query_gallery
    return k_reciprocal_rerank(query_gallery, combined(query, query), combined(gallery, gallery), **rerank)


def _groundtruth(config, workdir: str, split: str, into: str) -> str | None:
    """The `<split>_bbox_info.json` to score against, or None when the split has no identities.

    The labelled splits carry the identities in their file names, so the file is written (into
    the folder `into`) from the dataset; for challenge it is used only if the manual dir holds the
    organisers' file.
    """
    if split == "challenge":
        manual = config.data.manual_dir or synthetic_root(workdir)
        path = os.path.join(manual, reid_format.bbox_info_file(split))
        return path if os.path.isfile(path) else None
    entries = {}
    for subset in ("query", "gallery"):
        index = _index(_source(config, workdir, f"{split}_{subset}"), ("bbox_idx", "action_idx", "person_uid"))
        entries[subset] = {
            str(b): {"bbox_idx": int(b), "action_idx": int(a), "person_uid": int(p)}
            for b, a, p in zip(index["bbox_idx"], index["action_idx"], index["person_uid"])
        }
    path = os.path.join(into, reid_format.bbox_info_file(split))
    with open(path, "w") as f:
        json.dump(entries, f)
    return path


@dataclasses.dataclass(frozen=True)
class ActionRanking:
    """The gallery of one action ranked for each of its queries (bbox indices)."""

    action: int
    rankings: dict[int, list[int]]  # query bbox_idx -> gallery bbox_idx, nearest first


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                  shard: Shard) -> list[ActionRanking]:
    """Embeds this shard's actions (queries and gallery) and ranks each query within its action.

    Actions are independent (a query is only ranked against its own action's gallery), so each
    process embeds and ranks its own actions, re-ranking and ensembles included.
    """
    predictors = models.predictors
    weights = list(config.eval.ensemble_weights) or [1.0] * len(predictors)
    if len(weights) != len(predictors):
        raise ConfigError(f"eval.ensemble_weights has {len(weights)} entries for {len(predictors)} runs.")
    rerank = (dict(k1=config.eval.rerank_k1, k2=config.eval.rerank_k2, lambda_value=config.eval.rerank_lambda)
              if config.eval.rerank else None)
    sources = {s: _source(config, workdir, f"{split}_{s}") for s in ("query", "gallery")}
    index = {s: _index(src, ("bbox_idx", "action_idx")) for s, src in sources.items()}
    mine = shard.take(np.unique(index["query"]["action_idx"]))
    rows = {s: np.flatnonzero(np.isin(index[s]["action_idx"], mine)) for s in sources}
    embeddings = {s: [embed(p, sources[s], config, rows=rows[s]) for p in predictors] for s in sources}
    actions_of = {s: index[s]["action_idx"][rows[s]] for s in sources}

    records = []
    for action in progress.bar(mine, desc=f"rank {split}", unit="action", leave=False):
        q_rows = np.flatnonzero(actions_of["query"] == action)
        g_rows = np.flatnonzero(actions_of["gallery"] == action)
        if not len(g_rows):
            raise ValueError(f"{split}: action {action} has queries but no gallery image.")
        distances = action_distances(
            [e[q_rows] for e in embeddings["query"]], [e[g_rows] for e in embeddings["gallery"]],
            weights, config.eval.ensemble_mode, rerank)
        order = np.argsort(distances, axis=1, kind="stable")
        gallery_ids = index["gallery"]["bbox_idx"][rows["gallery"][g_rows]]
        query_ids = index["query"]["bbox_idx"][rows["query"][q_rows]]
        records.append(ActionRanking(int(action), {int(q): gallery_ids[ranked].tolist()
                                                   for q, ranked in zip(query_ids, order)}))
    return records


def write_submission(config: ml_collections.ConfigDict, records: list[ActionRanking], output_dir: str) -> None:
    """`<output_dir>/ranking_results.json`, the official submission file (zipped alone)."""
    rankings = {q: ranked for record in records for q, ranked in record.rankings.items()}
    reid_format.write_ranking(os.path.join(output_dir, reid_format.RANKING_FILE), rankings)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[ActionRanking]) -> Scores | None:
    """mAP and rank-1 of the written ranking from `zoo.metrics.reid` (the official evaluator's),
    or None when the split's identities are unknown (challenge)."""
    with tempfile.TemporaryDirectory() as folder:
        groundtruth = _groundtruth(config, workdir, split, folder)
        if groundtruth is None:
            return None
        scores = reid_metric.evaluate(groundtruth, os.path.join(output_dir, reid_format.RANKING_FILE))
    return Scores(headline={"mAP": float(scores["mAP"]), "rank-1": float(scores["rank-1"])},
                  details={k: v for k, v in scores.items()})


TASK = Task(
    name="reid",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    check_config=check_config,
    derive_config=derive_config,
)
