"""OSNet-AIN x1.0 (omni-scale blocks with instance normalisation), BNNeck, CE + triplet.

    python train.py --config configs/reid/osnet_ain.py --workdir runs/reid_osnet
    python evaluate.py --config configs/reid/osnet_ain.py --workdir runs/reid_osnet --split test

Pretrained torchreid weights (x1.0): `python -m zoo.convert --arch osnet_ain --input
osnet_ain_x1_0.pth --output weights/osnet_ain`, then train the full width with
`configs/reid/osnet_ain.py:baseline --config.init_from=weights/osnet_ain` (the synthetic and tiny
variants use the quarter width, osnet_ain_x0_25).
"""

from configs.reid import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    config = common.reid_config(arg)
    config.model.backbone = "osnet_ain"  # x1.0
    if arg in (None, "synthetic", "tiny"):
        # The same blocks at a quarter of the width, so the synthetic default trains in minutes
        # on a CPU (XLA's CPU depthwise convolutions make x1.0 take ~5 s a step on 2 cores).
        # On a GPU, or for real data, use --config.model.backbone=osnet_ain.
        config.model.backbone = "osnet_ain_x0_25"
    return config
