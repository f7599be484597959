"""Jersey stage 1, pose: SimpleBaseline (ResNet + 3 deconvolutions) heatmaps of the 17 COCO keypoints.

    python train.py --config configs/jersey/pose.py --workdir runs/jersey_pose

On the real data (which has no keypoints) the pose stage is a converted published checkpoint:
    python -m zoo.convert --arch simplebaseline_resnet50 --input pose_resnet_50_256x192.pth.tar \
        --output weights/simplebaseline_r50
    python train.py --config configs/jersey/pose.py:baseline --workdir runs/jersey_pose \
        --config.init_from=weights/simplebaseline_r50 --config.train.num_steps=0
(ViTPose-B: `--arch vitpose_base` and `--config.model.backbone=vit_base --config.model.deconv_filters=256,256`.)
"""

from configs.jersey import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    variant = common.variant_of(arg)
    config = common.jersey_config("jersey_pose", variant)
    config.data.image_size = (256, 192)  # (height, width) the thumbnails are letterboxed to

    config.model = common.ml_collections.ConfigDict()
    config.model.name = "heatmap_pose"
    config.model.backbone = "resnet50"  # resnet18/34/50/101 (SimpleBaseline) | vit_small/base/large/huge (ViTPose)
    config.model.width = 64  # ResNet stem width (64 for published weights)
    config.model.deconv_filters = (256, 256, 256)  # 3 for ResNets, 2 for ViTs
    config.model.num_keypoints = 17
    config.model.remat = False  # recompute each backbone block in the backward pass (memory for compute)

    config.loss = common.ml_collections.ConfigDict()
    config.loss.sigma = 2.0  # heatmap Gaussian, in heatmap cells (SimpleBaseline: 2 at 64x48)

    config.augment = common.ml_collections.ConfigDict()
    config.augment.zoom = 0.25  # random scale in [1 - zoom, 1 + zoom]
    config.augment.shift = 0.08  # random shift, share of the input size
    config.augment.flip = 0.5  # horizontal flip probability (left/right keypoints swapped)
    config.augment.brightness = 0.3
    config.augment.contrast = 0.3

    config.eval.keypoint_threshold = 0.4  # torso keypoints must score this (Koshkina & Elder)

    config.optimizer.name = "adam"  # SimpleBaseline: Adam, lr 1e-3
    config.optimizer.learning_rate = 1e-3
    config.optimizer.schedule = "cosine"
    config.optimizer.warmup_steps = 200
    config.train.batch_size = 32
    config.train.num_steps = 20_000
    if variant == "synthetic":
        # Rendered players are simple: a narrow ResNet-18 at 128x64 learns them in minutes.
        config.data.image_size = (128, 64)
        config.model.backbone = "resnet18"
        config.model.width = 8
        config.model.deconv_filters = (32, 32, 32)
        config.train.num_steps = 800
        config.optimizer.warmup_steps = 50
    elif variant == "tiny":
        config.data.image_size = (64, 32)
        config.model.backbone = "resnet18"
        config.model.width = 8
        config.model.deconv_filters = (8, 8, 8)
        common.shrink_to_tiny(config)
    return config
