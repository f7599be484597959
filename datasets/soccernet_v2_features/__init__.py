"""soccernet_v2_features: SoccerNet-v2 per-half features with action spotting labels (TFDS)."""

from soccernet_datasets.soccernet_v2_features.soccernet_v2_features_dataset_builder import (
    Builder,
    GameFileError,
)

__all__ = ["Builder", "GameFileError"]
