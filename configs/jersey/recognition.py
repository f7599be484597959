"""Fields shared by the jersey recogniser configs (parseq.py, crnn.py)."""

from configs.jersey import common


def recognition_config(variant: str):
    config = common.jersey_config("jersey_recognition", variant)
    config.data.crop_size = (32, 128)  # (height, width): PARSeq's input (torso crops are stretched)
    config.data.max_label_length = 2  # shirt numbers: at most two digits
    config.data.labels = ""  # a crop-label file (weak labels); empty: the synthetic truth

    config.augment = common.ml_collections.ConfigDict()
    config.augment.box_scale = 0.1  # torso box size jitter
    config.augment.box_shift = 0.05  # torso box centre jitter, share of its size
    config.augment.brightness = 0.3
    config.augment.contrast = 0.3
    config.augment.blur = 0.2  # probability of a Gaussian blur (sigma 0.4-1.2 px)
    # Colour changes that keep the digits' shapes, so that a tracklet's kit cannot stand for its
    # number (a recogniser trained without them memorised the kits of the training tracklets).
    config.augment.saturation = 0.5
    config.augment.hue = 0.5  # any hue (in turns, +-0.5)
    config.augment.channel_shuffle = 0.5  # probability of permuting the RGB channels
    config.augment.invert = 0.3  # probability of the negative
    config.augment.grey = 0.2  # probability of greyscale
    return config
