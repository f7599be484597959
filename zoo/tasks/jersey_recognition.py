"""Jersey pipeline stage 3: read the number on a legible torso crop. PARSeq, or a CTC CRNN.

Koshkina & Elder fine-tune PARSeq (the published scene-text model, `zoo.convert --arch parseq`)
on torso crops of legible frames, at most two characters. Here the recogniser is
`zoo.models.parseq.PARSeq` (permutation language modelling, autoregressive decoding and cloze
refinement) or, as a cheaper option, `zoo.models.crnn.CRNN` (CTC), chosen by `config.model.name`;
both also score every number 0..99 exactly at inference (`number_log_probs`), which is what the
tracklet vote combines.

Training crops: the legible crops of the synthetic truth (text = the number shown, torso boxes
from the true keypoints, jittered), or those of a crop-label file (`config.data.labels`: weak
labels, e.g. the pseudo-labels of `jersey_pseudo_labels`, whose text is the tracklet's number).
Augmentations: the box jitter, a random blur (broadcast crops are often soft), and colour:
jitter, any hue, permuted channels, negatives, greyscale. The colour ones matter: the crops of a
tracklet share a kit and a number, and without them a recogniser learns to tell the kits apart
instead of reading (measured: 98 % of training crops read, 5 % of held-out ones).

Evaluation on the split's legible crops (synthetic truth): the share read exactly (greedy
decoding) and the share whose most probable number is right; reads go to `reads.json`
({image_path: text}).
"""

from __future__ import annotations

import dataclasses
import json
import os

import cv2
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from zoo import models as model_registry
from zoo.data import jersey_tracklets as data
from zoo.data import samplers
from zoo.data.image_transforms import color_jitter, normalize, recolour
from zoo.data.torso_crops import crop_resize, jitter_box
from zoo.errors import UserError
from zoo.losses.text_recognition import ctc_loss, permutation_loss
from zoo.metrics import jersey_stages
from zoo.models import crnn, parseq
from zoo.postprocess import jersey_reading
from zoo.train.task import Scores, Task, TrainData

READS_FILE = "reads.json"
RECOGNISERS = ("parseq", "crnn")


def crop_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    return int(config.data.crop_size[0]), int(config.data.crop_size[1])


def max_length(config: ml_collections.ConfigDict) -> int:
    return int(config.data.max_label_length)


def make_model(config: ml_collections.ConfigDict):
    extra = {"max_label_length": max_length(config)} if config.model.name == "parseq" else {}
    return model_registry.build(config.model, **extra)


def example_inputs(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    return {"images": np.zeros((1, *crop_size(config), 3), np.float32),
            "tokens": np.zeros((1, max_length(config) + 2), np.int32)}


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.model.name not in RECOGNISERS:
        raise UserError(f"config.model.name={config.model.name!r}: the recogniser is one of {RECOGNISERS}")
    if config.model.name == "crnn" and crop_size(config)[0] != 32:
        raise UserError(f"config.data.crop_size={crop_size(config)}: the CRNN reads 32-pixel-high crops")
    if not 1 <= max_length(config) <= 25:
        raise UserError(f"config.data.max_label_length={max_length(config)}: give 1..25 (shirt numbers: 2)")


# ----------------------------------------------------------------------------- data


def text_crops(source, labels: str = "") -> dict[str, np.ndarray]:
    """The legible crops with a text and a torso box: {"index", "text", "box"}, from the
    crop-label file `labels`, else the synthetic truth (`crop_truth`)."""
    truth = data.crop_truth(source, labels)
    keep = np.flatnonzero((truth["legible"] == 1) & truth["has_box"] & (truth["text"] != ""))
    return {"index": keep, "text": truth["text"][keep], "box": truth["box"][keep]}


@dataclasses.dataclass
class LoadTextBatch:
    """Batch number -> {"inputs": {"images", "tokens"}, "lengths"}."""

    source: object
    crops: dict
    plan: object
    size: tuple[int, int]
    charset: str
    max_length: int
    augment: dict  # config.augment
    seed: int
    normalisation: tuple  # (mean, std) of the recogniser's input (jersey_reading.RECOGNISER_NORMALISATION)

    def __call__(self, batch: int) -> dict:
        images, texts = [], []
        for position, row in enumerate(self.plan[batch]):
            record = self.source[int(self.crops["index"][row])]
            rng = np.random.default_rng([self.seed, int(batch), position])
            thumbnail = data.decode_image(record["image"], record["image_path"].decode())
            a = self.augment
            box = jitter_box(self.crops["box"][row], rng, scale=a["box_scale"], shift=a["box_shift"])
            crop = crop_resize(thumbnail, box, self.size)
            if rng.uniform() < a["blur"]:
                crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.4, 1.2))
            crop = color_jitter(crop, rng, brightness=a["brightness"], contrast=a["contrast"],
                                saturation=a["saturation"], hue=a["hue"])
            crop = recolour(crop, rng, shuffle=a["channel_shuffle"], invert=a["invert"], grey=a["grey"])
            images.append(normalize(crop, *self.normalisation))
            texts.append(self.crops["text"][row])
        tokens = parseq.encode_labels(texts, self.charset, self.max_length)
        return {"inputs": {"images": np.stack(images), "tokens": tokens},
                "lengths": np.array([len(t) for t in texts], np.int32)}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = data.crop_source(config, workdir, "train")
    crops = text_crops(source, config.data.labels)
    if not len(crops["index"]):
        raise UserError("No training crop has a text to learn: the real SoccerNet jersey data has none per "
                        "crop; write weak labels (configs/jersey/pseudo_labels.py) and set config.data.labels.")
    too_long = [t for t in crops["text"] if len(t) > max_length(config)]
    if too_long:
        raise UserError(f"{len(too_long)} training texts are longer than config.data.max_label_length="
                        f"{max_length(config)}, e.g. {too_long[0]!r}")
    plan = samplers.ActionBatches(np.arange(len(crops["index"])), batch_size=batch_size, seed=config.seed)
    loader = LoadTextBatch(source, crops, plan, crop_size(config), config.model.charset, max_length(config),
                           config.augment.to_dict(), config.seed,
                           jersey_reading.RECOGNISER_NORMALISATION[config.model.name])
    logging.info("Recogniser: %d legible training crops, %d distinct numbers.", len(crops["index"]),
                 len(set(crops["text"])))
    dataset = grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()].map(loader)
    return TrainData(dataset=dataset, num_examples=len(crops["index"]), read_threads=config.data.read_threads)


def make_loss(config: ml_collections.ConfigDict):
    """PARSeq: the permutation language-modelling loss; CRNN: CTC."""
    ids = parseq.token_ids(config.model.charset)
    length = max_length(config)

    def loss(outputs, batch):
        tokens = batch["inputs"]["tokens"]
        if config.model.name == "parseq":
            sums, targets = permutation_loss(outputs["logits"], tokens, eos=ids["eos"], pad=ids["pad"])
            return sums.sum() / targets.sum(), {"token_ce": (sums.sum(), targets.sum())}
        count = jnp.asarray(tokens.shape[0], jnp.float32)
        labels = jnp.where(jnp.arange(length)[None] < batch["lengths"][:, None], tokens[:, 1 : length + 1], 0)
        nll = ctc_loss(outputs["logits"], labels, batch["lengths"], blank=crnn.BLANK)
        return nll.mean(), {"ctc": (nll.sum(), count)}

    return loss


# ----------------------------------------------------------------------------- evaluation


def read_texts(config: ml_collections.ConfigDict, outputs: dict) -> list[str]:
    """Greedy texts of a batch of recogniser outputs."""
    if config.model.name == "crnn":
        return crnn.greedy_decode(outputs["logits"], config.model.charset)
    return parseq.decode_tokens(np.argmax(outputs["logits"], axis=-1), config.model.charset)


def predict_split(config, workdir, models, split, shard) -> list[dict]:
    """Reads of this process's share of the split's legible crops (synthetic truth):
    [{"image_path", "read", "best_number", "text"}]."""
    source = data.crop_source(config, workdir, split)
    crops = text_crops(source)
    predictor = models["model"].predictor
    rows = shard.take(range(len(crops["index"])))
    records, done = [], 0
    for found, thumbnails in data.decoded(source, crops["index"][rows], int(config.eval.batch_size)):
        part, done = rows[done : done + len(found)], done + len(found)
        images = jersey_reading.recogniser_crops(thumbnails, crops["box"][part], config)
        outputs = predictor({"images": images, "tokens": np.zeros((len(images), max_length(config) + 2), np.int32)})
        best = np.argmax(outputs["number_log_probs"], axis=1) if "number_log_probs" in outputs else [-1] * len(part)
        records += [{"image_path": f["image_path"].decode(), "read": text, "best_number": int(b),
                     "text": str(crops["text"][r])}
                    for f, text, b, r in zip(found, read_texts(config, outputs), best, part)]
    return records


def write_submission(config, records, output_dir) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, READS_FILE), "w") as f:
        json.dump({r["image_path"]: r["read"] for r in records}, f)


def score(config, workdir, split, output_dir, records) -> Scores | None:
    if not records:
        return None  # no per-crop text (real data)
    scores = jersey_stages.reading_scores([r["read"] for r in records], [r["text"] for r in records],
                                          np.array([r["best_number"] for r in records]))
    return Scores(headline=scores, details={"crops": len(records)})


TASK = Task(
    name="jersey_recognition",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    check_config=check_config,
)
