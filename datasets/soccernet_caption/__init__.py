"""soccernet_caption: SoccerNet-Caption per-half features with anonymised commentaries (TFDS)."""

from soccernet_datasets.soccernet_caption.soccernet_caption_dataset_builder import (
    Builder,
    GameFileError,
)

__all__ = ["Builder", "GameFileError"]
