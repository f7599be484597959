"""Jersey stage 2, legibility: a ResNet-34 binary classifier of torso crops, trained with SAM.

    python train.py --config configs/jersey/legibility.py --workdir runs/jersey_legibility

Real data has no per-crop legibility: write pseudo-labels first (configs/jersey/pseudo_labels.py),
then train on them, from ImageNet weights (`python -m zoo.convert --arch resnet34`):
    python train.py --config configs/jersey/legibility.py:baseline --workdir runs/jersey_legibility \
        --config.data.manual_dir=/data/SoccerNet/jersey-2023 --config.data.labels=<crop_labels.json> \
        --config.init_from=weights/resnet34_imagenet
The baseline trains with SAM as published (`config.optimizer.sam_rho` = 0.05: train steps
alternate ascent and descent, so num_steps counts both).
"""

from configs.jersey import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    variant = common.variant_of(arg)
    config = common.jersey_config("jersey_legibility", variant)
    config.data.crop_size = (224, 224)  # (height, width) of the torso crop (Koshkina & Elder: 224)
    config.data.labels = ""  # a crop-label file (pseudo-labels); empty: the synthetic truth
    config.data.balanced = True  # half legible, half not, in every batch (as published)

    config.model = common.ml_collections.ConfigDict()
    config.model.name = "resnet_classifier"
    config.model.depth = "resnet34"  # resnet18 | resnet34 | resnet50
    config.model.num_outputs = 1
    config.model.width = 64  # 64 for ImageNet weights
    config.model.remat = False  # recompute each backbone block in the backward pass (memory for compute)

    config.augment = common.ml_collections.ConfigDict()
    config.augment.box_scale = 0.1  # torso box size jitter (a pose model's boxes are not exact)
    config.augment.box_shift = 0.05  # torso box centre jitter, share of its size
    config.augment.brightness = 0.3
    config.augment.contrast = 0.3

    # Published: SGD, momentum 0.9, lr 1e-3, SAM (rho 0.05 is SAM's default), batch 4, 10 epochs.
    config.optimizer.name = "sgd"
    config.optimizer.momentum = 0.9
    config.optimizer.weight_decay = 0.0
    config.optimizer.learning_rate = 1e-3
    config.optimizer.sam_rho = 0.05  # SAM's radius (zoo.train.optimizer); 0 in the CPU variants
    config.optimizer.schedule = "constant"
    config.train.batch_size = 32
    config.train.num_steps = 20_000  # 10,000 descent steps: SAM makes every second step an ascent
    config.eval.legibility_threshold = 0.5
    if variant == "synthetic":
        config.data.crop_size = (64, 64)
        config.model.depth = "resnet18"
        config.model.width = 16
        config.optimizer.name = "adam"
        config.optimizer.sam_rho = 0.0
        config.optimizer.learning_rate = 1e-3
        config.optimizer.schedule = "cosine"
        config.optimizer.warmup_steps = 50
        config.train.num_steps = 400
    elif variant == "tiny":
        config.data.crop_size = (32, 32)
        config.model.depth = "resnet18"
        config.model.width = 8
        config.optimizer.sam_rho = 0.0
        common.shrink_to_tiny(config)
    return config
