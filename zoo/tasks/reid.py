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
import zipfile

import cv2
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from jax.experimental import multihost_utils
from tqdm import tqdm

from zoo.data import samplers, tfds_sources
from zoo.data.image_transforms import Augment, evaluation_transform
from zoo.formats import reid as reid_format
from zoo.metrics import reid as reid_metric
from zoo.models.reid_head import ReidModel
from zoo.synthetic import reid as synthetic
from zoo.losses import metric_learning
from zoo.postprocess.reranking import k_reciprocal_rerank
from zoo.train.task import Task, TrainData

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


def num_identities(config: ml_collections.ConfigDict, workdir: str) -> int:
    if config.model.num_classes:
        return int(config.model.num_classes)
    metadata = _source(config, workdir, "train").dataset_info.metadata
    return int(metadata["num_train_identities"])


def make_model(config: ml_collections.ConfigDict, workdir: str) -> ReidModel:
    return ReidModel(
        backbone=config.model.backbone,
        num_classes=num_identities(config, workdir),
        pooling=config.model.pooling,
        reduction_dim=config.model.reduction_dim or None,
        last_stride=config.model.last_stride,
    )


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


def embed(predictor, source, config: ml_collections.ConfigDict, *, chunk: int = 256) -> np.ndarray:
    """L2-normalised embeddings [n, d] of every image of a split, in source order."""
    size, feature = image_size(config), config.eval.feature
    out = []
    for first in range(0, len(source), chunk):
        records = [source[i] for i in range(first, min(first + chunk, len(source)))]
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


def _groundtruth(config, workdir, split, query_index, gallery_index, output_dir) -> str | None:
    """The `<split>_bbox_info.json` to score against, or None when the split has no identities.

    The labelled splits carry the identities in their file names, so the file is written from
    the dataset; for challenge it is used only if the manual dir holds the organisers' file.
    """
    if split == "challenge":
        manual = config.data.manual_dir or synthetic_root(workdir)
        path = os.path.join(manual, reid_format.bbox_info_file(split))
        return path if os.path.isfile(path) else None
    entries = {}
    for subset, index in (("query", query_index), ("gallery", gallery_index)):
        entries[subset] = {
            str(b): {"bbox_idx": int(b), "action_idx": int(a), "person_uid": int(p)}
            for b, a, p in zip(index["bbox_idx"], index["action_idx"], index["person_uid"])
        }
    path = os.path.join(output_dir, reid_format.bbox_info_file(split))
    with open(path, "w") as f:
        json.dump(entries, f)
    return path


def evaluate(config: ml_collections.ConfigDict, workdir: str, predictor, split: str, output_dir: str) -> dict[str, float]:
    """Ranks every query of `split` within its action and scores the ranking.

    Writes `<output_dir>/ranking_results.json` (the official submission file) and a zip of it,
    and returns {"mAP", "rank-1"} from `zoo.metrics.reid` when identities are known.
    """
    predictors = list(predictor) if isinstance(predictor, (list, tuple)) else [predictor]
    weights = list(config.eval.ensemble_weights) or [1.0] * len(predictors)
    if len(weights) != len(predictors):
        raise ValueError(f"eval.ensemble_weights has {len(weights)} entries for {len(predictors)} runs.")
    rerank = (dict(k1=config.eval.rerank_k1, k2=config.eval.rerank_k2, lambda_value=config.eval.rerank_lambda)
              if config.eval.rerank else None)

    sources = {s: _source(config, workdir, f"{split}_{s}") for s in ("query", "gallery")}
    index = {s: _index(src, ("bbox_idx", "action_idx", "person_uid")) for s, src in sources.items()}
    embeddings = {s: [embed(p, src, config) for p in predictors] for s, src in sources.items()}

    rankings = {}
    actions = np.unique(index["query"]["action_idx"])
    for action in tqdm(actions, desc=f"rank {split}", unit="action", disable=jax.process_index() != 0, leave=False):
        q_rows = np.flatnonzero(index["query"]["action_idx"] == action)
        g_rows = np.flatnonzero(index["gallery"]["action_idx"] == action)
        if not len(g_rows):
            raise ValueError(f"{split}: action {action} has queries but no gallery image.")
        distances = action_distances(
            [e[q_rows] for e in embeddings["query"]], [e[g_rows] for e in embeddings["gallery"]],
            weights, config.eval.ensemble_mode, rerank)
        order = np.argsort(distances, axis=1, kind="stable")
        gallery_ids = index["gallery"]["bbox_idx"][g_rows]
        for row, ranked in zip(q_rows, order):
            rankings[int(index["query"]["bbox_idx"][row])] = gallery_ids[ranked].tolist()

    results = {}
    if jax.process_index() == 0:
        os.makedirs(output_dir, exist_ok=True)
        ranking_file = reid_format.write_ranking(os.path.join(output_dir, reid_format.RANKING_FILE), rankings)
        with zipfile.ZipFile(output_dir + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.write(ranking_file, reid_format.RANKING_FILE)
        groundtruth = _groundtruth(config, workdir, split, index["query"], index["gallery"], output_dir)
        if groundtruth is None:
            logging.info("No identities for split %s: wrote %s for the challenge server.", split, ranking_file)
        else:
            scores = reid_metric.evaluate(groundtruth, ranking_file)
            results = {"mAP": float(scores["mAP"]), "rank-1": float(scores["rank-1"])}
    if jax.process_count() > 1:  # every process returns the numbers process 0 computed
        results = dict(zip(("mAP", "rank-1"), multihost_utils.broadcast_one_to_all(
            np.array([results.get("mAP", np.nan), results.get("rank-1", np.nan)]))))
        results = {k: float(v) for k, v in results.items() if np.isfinite(v)}
    return results


TASK = Task(
    name="reid",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    evaluate=evaluate,
)
