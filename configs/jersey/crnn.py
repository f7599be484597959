"""Jersey stage 3, recogniser: the cheaper CTC option, a CRNN (convolutions + 2 BiLSTMs).

    python train.py --config configs/jersey/crnn.py --workdir runs/jersey_crnn
"""

from configs.jersey import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    variant = common.variant_of(arg)
    config = common.recognition_config(variant)
    config.model = common.ml_collections.ConfigDict()
    config.model.name = "crnn"
    config.model.charset = "0123456789"
    config.model.widths = (64, 128, 256, 256, 512, 512, 512)  # Shi et al.
    config.model.hidden = 256

    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-3
    config.optimizer.schedule = "cosine"
    config.optimizer.warmup_steps = 500
    config.optimizer.clip_norm = 5.0
    config.train.batch_size = 64
    config.train.num_steps = 20_000
    if variant == "synthetic":
        config.data.crop_size = (32, 64)
        config.model.widths = (16, 32, 64, 64, 96, 96, 96)
        config.model.hidden = 64
        config.optimizer.warmup_steps = 100
        config.train.batch_size = 32
        config.train.num_steps = 4000
    elif variant == "tiny":
        config.data.crop_size = (32, 32)
        config.model.widths = (8, 8, 16, 16, 16, 16, 16)
        config.model.hidden = 8
        common.shrink_to_tiny(config)
    return config
