"""The dense-captioning baseline's comment spotter: NetVLAD++ with the single class `comments`.

    python train.py --config configs/captioning/spotter.py --workdir runs/spotter \
        --config.init_from=runs/captioner

Window 15 s, NMS 30 s, as the sn-caption baseline. With `init_from` naming a captioning run (the
baseline's transfer, `--pretrain`), the spotter's NetVLAD++ layers start from the captioner's
encoder: the captioner keeps them under "encoder/", which `init_from_rename` strips, and its
decoder is left out (`init_from_exclude`); the classifier starts fresh. Without init_from it
trains from scratch. The captioning pipeline names this run in `config.pipeline.spotter`.

Arguments after the colon: `synthetic` (default), `tiny`, `baseline` (see netvlad_lstm.py).
"""

import ml_collections

from configs import common
from configs.captioning import common as captioning_common

VARIANTS = captioning_common.VARIANTS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    variant = arg or "synthetic"
    config = common.base()
    config.task = "caption_spotting"

    config.data = captioning_common.data(variant)
    config.data.window_seconds = 15.0  # the model splits it at its centre

    config.model = ml_collections.ConfigDict()
    config.model.name = "netvlad_pp"
    config.model.vocab_size = 64  # must equal the captioner's to take its encoder
    config.model.projection_dim = 512
    config.model.dropout_rate = 0.4

    # The baseline's transfer from a captioning run (set init_from to its workdir).
    config.init_from_rename = ((r"^encoder/", ""),)  # captioner "encoder/vlad_before/..." -> "vlad_before/..."
    config.init_from_exclude = (r"^decoder/",)

    config.eval.nms_window_seconds = 30  # NMS window
    config.eval.nms_threshold = 0.0  # keep NMS peaks scoring at least this
    config.eval.metrics = ("loose", "tight")  # Average-mAP variants reported

    if variant == "synthetic":
        config.model.vocab_size = 32  # the captioner's synthetic encoder
        config.model.projection_dim = 128
        config.train.batch_size = 64
        config.train.num_steps = 300  # after the transfer from the captioner's encoder (the measured recipe)
        config.train.log_every_steps = 50
        config.train.checkpoint_every_steps = 300
        config.eval.split = "test"
    elif variant == "baseline":
        config.train.batch_size = 256
        config.train.num_steps = 20_000
        config.train.eval_every_steps = 5_000
        config.optimizer.schedule = "plateau"
        config.optimizer.plateau_patience = 10
        config.optimizer.plateau_accumulation = 500
    elif variant == "tiny":
        config.model.vocab_size = 8
        config.model.projection_dim = 16
        config.train.batch_size = 8
        config.train.num_steps = 12
        config.train.log_every_steps = 4
        config.train.checkpoint_every_steps = 4
        config.train.keep_checkpoints = 2
        config.eval.split = "test"
        config.eval.batch_size = 64
    return config
