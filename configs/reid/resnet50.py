"""ReID strong baseline: ResNet-50, last stride 1, BNNeck, cross-entropy (label smoothing) + batch-hard triplet.

    python train.py --config configs/reid/resnet50.py --workdir runs/reid_r50
    python train.py --config configs/reid/resnet50.py:baseline --workdir runs/reid_r50 \
        --config.data.manual_dir=/data/SoccerNet/reid --config.init_from=weights/resnet50_imagenet

ImageNet weights: convert torchvision's state dict with `python -m zoo.convert --arch resnet50`.
"""

from configs.reid import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    config = common.reid_config(arg)
    config.model.backbone = "resnet50"
    config.model.last_stride = 1
    config.model.pooling = "avg"  # "gem" for generalised-mean pooling
    return config
