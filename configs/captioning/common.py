"""The data both stages of dense captioning read (the comment spotter and the captioner)."""

import ml_collections

VARIANTS = ("synthetic", "tiny", "baseline")


def data(variant: str) -> ml_collections.ConfigDict:
    """config.data for the `synthetic`, `tiny` and `baseline` variants (the window is the stage's)."""
    config = ml_collections.ConfigDict()
    config.manual_dir = ""  # official SoccerNet tree (league/season/game/...); empty: synthetic data
    config.data_dir = ""  # where the TFDS dataset is built; empty: <workdir>/tfds
    # baidu_soccer_embeddings (8576-d, 1 fps: the baseline's) | ResNET_TF2_PCA512 | ResNET_TF2 (2 fps).
    # The frame rate follows the features.
    config.features = "ResNET_TF2_PCA512"
    config.train_split = "train"
    config.window_seconds = 0.0  # set by the stage's config
    config.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    # About one caption every 50 s, as the real commentaries (one a minute), and some 50 examples
    # of each of the 26 caption templates in the train split.
    config.synthetic.games_per_split = {"train": 96, "valid": 2, "test": 4, "challenge": 1}
    config.synthetic.half_seconds = 300
    config.synthetic.captions_per_half = 6
    config.synthetic.seed = 0
    if variant == "baseline":
        config.features = "baidu_soccer_embeddings"
    elif variant == "tiny":
        config.synthetic.games_per_split = {"train": 2, "valid": 1, "test": 1, "challenge": 1}
        config.synthetic.half_seconds = 120
        config.synthetic.captions_per_half = 6
    elif variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    return config
