"""soccernet_reid: SoccerNet-v3 player re-identification thumbnails (TFDS)."""

from soccernet_datasets.soccernet_reid.soccernet_reid_dataset_builder import Builder

__all__ = ["Builder"]
